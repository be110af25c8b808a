-- dgram.batch(fn, ...): a host's frame sends, made outside dgram.run, leave together when
-- fn returns (one system call per socket), in order, with each callback run once, later.
local H = require("helper")
local dgram = H.dgram

local LUA = H.lua

-- Runs `script` (Lua source) under strace, counting the send system calls it makes
-- between the lines "BEGIN" and "END" it writes to stderr; returns that count, the
-- script's stdout and the count by system call ({ sendmmsg = 1 }).
local function strace_sends(script)
  local dir = H.child_dir(script)
  -- (LeakSanitizer cannot run under strace: it needs ptrace itself)
  local cmd = ("timeout %d strace -f -qq -e trace=sendmmsg,sendmsg,sendto,write -o %s/trace " ..
    "env %sASAN_OPTIONS=detect_leaks=0 %s %s/child.lua > %s/out 2>/dev/null"):format(
    20 * H.scale, dir, H.child_env(), LUA, dir, dir)
  local ok = H.execute(cmd)
  local out = H.read_text(dir .. "/out")
  local sends, inside, by_call = 0, false, {}
  for line in io.lines(dir .. "/trace") do
    if line:find('write%(2, "BEGIN') then inside = true end
    if line:find('write%(2, "END') then inside = false end
    local call = inside and line:match("(send%w*)%(")
    if call then
      sends = sends + 1
      by_call[call] = (by_call[call] or 0) + 1
    end
  end
  H.remove_dir(dir)
  return ok, sends, out, by_call
end

local have_strace = os.execute("command -v strace >/dev/null 2>&1")

describe("dgram.batch", function()
  after_each(H.cleanup)

  -- Without sendmmsg (dgram.features.sendmmsg false: not Linux, or PORTABLE=1) each
  -- datagram leaves by its own sendmsg (uv_udp_try_send), with the same results.
  local fast = dgram.features.sendmmsg
  it(fast and "sends 64 datagrams to two receivers from host code in one system call"
    or "sends 64 datagrams to two receivers from host code, one sendmsg each (no sendmmsg)",
    function()
    assert.is_truthy(have_strace, "strace is needed (make test installs it)")
    local ok, sends, out, by_call = strace_sends([[
      local dgram = require("dgram")
      local function bound()
        local s = dgram.createSocket("udp4")
        s:bind(0, "127.0.0.1")
        while not pcall(s.address, s) do dgram.run("once") end
        return s
      end
      local a, b, tx = bound(), bound(), bound()
      local got, calls = { a = {}, b = {} }, 0
      a:on("message", function(m) got.a[#got.a + 1] = m end)
      b:on("message", function(m) got.b[#got.b + 1] = m end)
      local pa, pb = a:address().port, b:address().port
      dgram.run("nowait")
      io.stderr:write("BEGIN\n")
      local r1, r2 = dgram.batch(function(x)
        for i = 1, 32 do
          tx:send("a" .. i, pa, "127.0.0.1", function(err) assert(not err); calls = calls + 1 end)
          tx:send("b" .. i, pb, "127.0.0.1", function(err) assert(not err); calls = calls + 1 end)
        end
        assert(calls == 0, "a callback ran inside batch")
        return x, "done"
      end, 42)
      io.stderr:write("END\n")
      for _ = 1, 200 do
        if calls == 64 and #got.a == 32 and #got.b == 32 then break end
        dgram.run("once")
      end
      print(r1, r2, calls, #got.a, #got.b, got.a[1], got.a[32], got.b[32],
        table.concat(got.a, ","):find("a1,a2,a3,a4") ~= nil)
      a:close(); b:close(); tx:close()
      dgram.run()
    ]])
    assert.is_truthy(ok, "the child failed: " .. out)
    assert.equals("42\tdone\t64\t32\t32\ta1\ta32\tb32\ttrue\n", out)
    assert.equals(fast and 1 or 64, sends, "send system calls made by the batch")
    assert.same(fast and { sendmmsg = 1 } or { sendmsg = 64 }, by_call)
  end)

  it("without batch, the same sends from host code leave one by one", function()
    assert.is_truthy(have_strace, "strace is needed (make test installs it)")
    local ok, sends = strace_sends([[
      local dgram = require("dgram")
      local tx = dgram.createSocket("udp4")
      tx:bind(0, "127.0.0.1")
      dgram.run("nowait")
      io.stderr:write("BEGIN\n")
      for i = 1, 10 do tx:send("x" .. i, 9, "127.0.0.1") end
      io.stderr:write("END\n")
      tx:close()
      dgram.run()
    ]])
    assert.is_truthy(ok)
    assert.equals(10, sends)
  end)

  it("keeps order and runs each callback once, later, also when fn raises", function()
    local rx, port = H.bound("udp4")
    local tx = H.bound("udp4")
    local got, cbs = {}, {}
    rx:on("message", function(m) got[#got + 1] = m end)
    local ok, err = pcall(dgram.batch, function()
      for i = 1, 5 do
        tx:send("m" .. i, port, "127.0.0.1", function(e, n) cbs[#cbs + 1] = { i, e, n } end)
      end
      error({ code = "MINE" })
    end)
    assert.is_false(ok)
    assert.equals("MINE", err.code) -- the same value, raised out of batch
    assert.same({}, cbs)
    assert.is_true(H.run_until(2000, function() return #got == 5 and #cbs == 5 end))
    assert.same({ "m1", "m2", "m3", "m4", "m5" }, got)
    for i = 1, 5 do assert.same({ i, nil, 2 }, cbs[i]) end
    H.quiet(20)
    assert.equals(5, #cbs)
  end)

  it("nests, and inside dgram.run it simply calls fn", function()
    local rx, port = H.bound("udp4")
    local tx = H.bound("udp4")
    local got = {}
    rx:on("message", function(m) got[#got + 1] = m end)
    dgram.batch(function()
      tx:send("outer", port, "127.0.0.1")
      dgram.batch(function() tx:send("inner", port, "127.0.0.1") end)
      tx:send("last", port, "127.0.0.1")
    end)
    local inside
    dgram.setTimeout(1, function()
      inside = dgram.batch(function(a) return a * 2 end, 21)
      tx:send("from a callback", port, "127.0.0.1")
    end)
    assert.is_true(H.run_until(2000, function() return #got == 4 end))
    assert.same({ "outer", "inner", "last", "from a callback" }, got)
    assert.equals(42, inside)
  end)

  it("sends what it holds when fn ends the process with os.exit", function()
    local rx, port = H.bound("udp4")
    local got = {}
    rx:on("message", function(m) got[#got + 1] = m end)
    local script = os.tmpname()
    local f = assert(io.open(script, "w"))
    f:write(([[
      local dgram = require("dgram")
      local tx = dgram.createSocket("udp4")
      tx:bind(0, "127.0.0.1")
      dgram.run("nowait")
      dgram.batch(function()
        for i = 1, 3 do tx:send("bye" .. i, %d, "127.0.0.1") end
        os.exit(0)
      end)
    ]]):format(port))
    f:close()
    local ok = H.execute(("%stimeout %d %s %s"):format(H.child_env(), 20 * H.scale, LUA, script))
    os.remove(script)
    assert.is_true(ok)
    dgram.run("nowait")
    assert.is_true(H.run_until(2000, function() return #got == 3 end))
    assert.same({ "bye1", "bye2", "bye3" }, got)
  end)

  it("refuses a non-function with an error object", function()
    H.raises("ERR_INVALID_ARG_TYPE", dgram.batch)
    H.raises("ERR_INVALID_ARG_TYPE", dgram.batch, "fn")
  end)
end)

-- Sends and connects that wait (for the implicit bind, a lookup or a connect): every
-- callback runs exactly once, also when the bind fails at once (descriptors exhausted),
-- when the socket closes while a lookup never answers, and past the bound on what waits.
-- Names are resolved only by custom `lookup` functions; traffic goes to 127.0.0.1.
local H = require("helper")
local dgram = H.dgram
local run_until, quiet = H.run_until, H.quiet

local LO4 = "127.0.0.1"

-- The bound on waiting sends and on queued 'error' events (docs: "What waits").
local SEND_QUEUE_MAX = 16384
local QUEUED_ERRORS_MAX = 1024

-- A lookup that never answers by itself: each call's cb is kept in `pending`.
local function silent_lookup(pending)
  return function(host, family, cb)
    pending[#pending + 1] = { host = host, family = family, cb = cb }
  end
end

-- The part of a child script that exhausts the descriptors (after the loop is set up)
-- and gives them back at the end; `body` runs in between and prints its findings.
local function emfile_script(body)
  return [[
local dgram = require("dgram")
dgram.setTimeout(0, function() end)
dgram.run() -- the loop's own descriptors exist now
local files = {}
for _ = 1, 100000 do
  local f = io.open("/dev/null")
  if not f then break end
  files[#files + 1] = f
end
local function release()
  for i = #files, 1, -1 do files[i]:close(); files[i] = nil end
end
local function code(err) return err and (err.code or tostring(err)) or "nil" end
]] .. body
end

describe("a send whose implicit bind fails at once (descriptors exhausted)", function()
  it("gives the bind's error to the send callback, once, and emits no 'error'", function()
    local out, status = H.lua_child(emfile_script([[
local s = dgram.createSocket("udp4")
local errors, calls = {}, {}
s:on("error", function(err) errors[#errors + 1] = code(err) end)
s:send("x", 9, "127.0.0.1", function(err, n)
  calls[#calls + 1] = code(err) .. "/" .. tostring(n)
end)
print("inside send: " .. #calls)
dgram.run()
print("callbacks: " .. table.concat(calls, ","))
print("errors: " .. #errors)
release()
-- the socket is still unbound and usable: the next send binds it and goes out
local server = dgram.createSocket("udp4")
local got
server:on("message", function(msg) got = msg; server:close(); s:close() end)
server:bind(0, "127.0.0.1", function()
  s:send("again", server:address().port, "127.0.0.1", function(err)
    print("retry: " .. code(err))
  end)
end)
dgram.run()
print("received: " .. tostring(got))
]]), "ulimit -n 64")
    assert.equals(0, status, out)
    assert.matches("inside send: 0\n", out, 1, true)
    assert.matches("callbacks: EMFILE/nil\n", out, 1, true)
    assert.matches("errors: 0\n", out, 1, true)
    assert.matches("retry: nil\n", out, 1, true)
    assert.matches("received: again\n", out, 1, true)
  end)

  it("resumes sendAsync with nil and the error", function()
    local out, status = H.lua_child(emfile_script([[
local res
dgram.spawn(function()
  local s = dgram.createSocket("udp4")
  res = table.pack(s:sendAsync("x", 9, "127.0.0.1"))
  s:close()
end)
dgram.run()
release()
print("sendAsync: " .. res.n .. " " .. tostring(res[1]) .. " " .. code(res[2]))
]]), "ulimit -n 64")
    assert.equals(0, status, out)
    assert.matches("sendAsync: 2 nil EMFILE\n", out, 1, true)
  end)

  it("emits an 'error' for each send without a callback (each tries the bind again)",
    function()
      local out, status = H.lua_child(emfile_script([[
local s = dgram.createSocket("udp4")
local errors, calls = {}, {}
s:on("error", function(err) errors[#errors + 1] = code(err) .. "/" .. tostring(err.syscall) end)
s:send("a", 9)
s:send("b", 9, function(err) calls[#calls + 1] = "b " .. code(err) end)
s:send("c", 9)
s:send("d", 9, function(err) calls[#calls + 1] = "d " .. code(err) end)
dgram.run()
release()
print("callbacks: " .. table.concat(calls, ","))
print("errors: " .. table.concat(errors, ","))
]]), "ulimit -n 64")
      assert.equals(0, status, out)
      assert.matches("callbacks: b EMFILE,d EMFILE\n", out, 1, true)
      assert.matches("errors: EMFILE/bind,EMFILE/bind\n", out, 1, true)
    end)

  it("a bind that fails later gives each waiting callback the error and emits one 'error' "
    .. "for those without", function()
    local out, status = H.lua_child(emfile_script([[
local s = dgram.createSocket({ type = "udp4", lookup = function(_, family, cb)
  dgram.setTimeout(5, function() cb(nil, "0.0.0.0", family) end)
end })
local errors, calls = {}, {}
s:on("error", function(err) errors[#errors + 1] = code(err) .. "/" .. tostring(err.syscall) end)
s:send("a", 9, "127.0.0.1")
s:send("b", 9, "127.0.0.1", function(err) calls[#calls + 1] = "b " .. code(err) end)
s:send("c", 9, "127.0.0.1")
s:send("d", 9, "127.0.0.1", function(err) calls[#calls + 1] = "d " .. code(err) end)
print("waiting: " .. s:getSendQueueCount())
dgram.run()
release()
print("callbacks: " .. table.concat(calls, ","))
print("errors: " .. table.concat(errors, ","))
print("waiting: " .. s:getSendQueueCount())
]]), "ulimit -n 64")
    assert.equals(0, status, out)
    assert.matches("waiting: 4\n", out, 1, true)
    assert.matches("callbacks: b EMFILE,d EMFILE\n", out, 1, true)
    assert.matches("errors: EMFILE/bind\n", out, 1, true)
    assert.matches("waiting: 0\n", out, 1, true)
  end)

  it("gives a connect's callback the bind's error; the socket stays unconnected", function()
    local out, status = H.lua_child(emfile_script([[
local s = dgram.createSocket("udp4")
local errors, calls = {}, {}
s:on("error", function(err) errors[#errors + 1] = code(err) end)
s:connect(9, "127.0.0.1", function(err) calls[#calls + 1] = code(err) end)
dgram.run()
release()
print("connect: " .. table.concat(calls, ","))
print("errors: " .. #errors)
print("remote: " .. code(select(2, pcall(s.remoteAddress, s))))
s:close()
]]), "ulimit -n 64")
    assert.equals(0, status, out)
    assert.matches("connect: EMFILE\n", out, 1, true)
    assert.matches("errors: 0\n", out, 1, true)
    assert.matches("remote: ERR_SOCKET_DGRAM_NOT_CONNECTED\n", out, 1, true)
  end)
end)

describe("close() while sends wait", function()
  after_each(H.cleanup)

  it("gives a send waiting on a lookup that never answers ERR_SOCKET_DGRAM_NOT_RUNNING, "
    .. "once; a late answer is ignored", function()
    local _, port, got = H.listener("udp4")
    local pending = {}
    local c = H.socket({ type = "udp4", lookup = silent_lookup(pending) })
    c:bind(0, LO4) -- the bind's own lookup is answered below
    run_until(1000, function() return #pending == 1 end)
    pending[1].cb(nil, LO4, 4)
    local listening = false
    c:on("listening", function() listening = true end)
    run_until(2000, function() return listening end)
    assert.is_true(listening)
    local errors, calls, events = {}, {}, {}
    c:on("error", function(err) errors[#errors + 1] = err end)
    c:on("close", function() events[#events + 1] = "close" end)
    c:send("never", port, "nowhere.test", function(...)
      calls[#calls + 1] = table.pack(...)
      events[#events + 1] = "callback"
    end)
    assert.equals(2, #pending)
    assert.equals("nowhere.test", pending[2].host)
    quiet(30)
    assert.same({}, calls)
    c:close()
    run_until(2000, function() return #events >= 2 end)
    assert.same({ "callback", "close" }, events)
    assert.equals(1, #calls)
    assert.equals("ERR_SOCKET_DGRAM_NOT_RUNNING", calls[1][1].code)
    pending[2].cb(nil, LO4, 4) -- too late: the socket is closed
    quiet(50)
    assert.equals(1, #calls)
    assert.same({}, errors)
    assert.same({}, H.texts(got))
  end)

  it("gives sends waiting for a bind whose lookup never answers NOT_RUNNING, in order",
    function()
      local pending = {}
      local c = H.socket({ type = "udp4", lookup = silent_lookup(pending) })
      local calls = {}
      for i = 1, 3 do
        c:send("m" .. i, 9, LO4, function(err, n)
          calls[#calls + 1] = i .. " " .. tostring(err and err.code) .. " " .. tostring(n)
        end)
      end
      c:send("no callback", 9, LO4)
      assert.equals(1, #pending) -- the implicit bind's lookup
      assert.equals(4, c:getSendQueueCount())
      assert.equals(2 + 2 + 2 + #"no callback", c:getSendQueueSize())
      local errors = {}
      c:on("error", function(err) errors[#errors + 1] = err end)
      c:close()
      run_until(2000, function() return #calls >= 3 end)
      pending[1].cb(nil, "0.0.0.0", 4)
      quiet(50)
      assert.same({
        "1 ERR_SOCKET_DGRAM_NOT_RUNNING nil",
        "2 ERR_SOCKET_DGRAM_NOT_RUNNING nil",
        "3 ERR_SOCKET_DGRAM_NOT_RUNNING nil",
      }, calls)
      assert.same({}, errors)
    end)

  it("resumes sendAsync with nil, ERR_SOCKET_DGRAM_NOT_RUNNING", function()
    local pending = {}
    local c = H.socket({ type = "udp4", lookup = silent_lookup(pending) })
    local res
    dgram.spawn(function() res = table.pack(c:sendAsync("x", 9, "nowhere.test")) end)
    run_until(1000, function() return #pending >= 1 end)
    pending[1].cb(nil, "0.0.0.0", 4) -- the bind goes on; the send's lookup never answers
    run_until(1000, function() return #pending >= 2 end)
    assert.equals("nowhere.test", pending[2].host)
    quiet(20)
    assert.is_nil(res)
    c:close()
    run_until(2000, function() return res ~= nil end)
    assert.is_not_nil(res, "sendAsync never resumed")
    assert.equals(2, res.n)
    assert.is_nil(res[1])
    assert.equals("ERR_SOCKET_DGRAM_NOT_RUNNING", res[2].code)
  end)

  it("lets a closed socket whose lookup never answered be collected", function()
    local pending = {}
    local weak = setmetatable({}, { __mode = "v" })
    do
      local c = dgram.createSocket({ type = "udp4", lookup = silent_lookup(pending) })
      weak[1] = c
      c:bind(0, LO4)
      c:close()
    end
    H.run(2000)
    assert.equals(1, #pending)
    for _ = 1, 4 do collectgarbage("collect") end
    assert.is_nil(weak[1], "the socket is still referenced")
    pending[1].cb(nil, LO4, 4) -- after collection: ignored
    quiet(20)
  end)
end)

describe("the bound on what waits", function()
  after_each(H.cleanup)

  it("keeps at most " .. SEND_QUEUE_MAX .. " waiting sends; getSendQueueCount() counts "
    .. "them; past it a send fails with ENOBUFS, to its callback", function()
    local _, port = H.listener("udp4")
    local c = H.socket("udp4")
    local ok, refused, other, inside = 0, 0, {}, true
    local function cb(err, n)
      assert.is_false(inside, "a callback ran inside send")
      if err == nil and n == 1 then
        ok = ok + 1
      elseif err and err.code == "ENOBUFS" then
        refused = refused + 1
        assert.equals("send", err.syscall)
        assert.equals(LO4, err.address)
        assert.equals(port, err.port)
      else
        other[#other + 1] = tostring(err) .. "/" .. tostring(n)
      end
    end
    for _ = 1, SEND_QUEUE_MAX + 10 do c:send("x", port, LO4, cb) end
    inside = false
    assert.equals(SEND_QUEUE_MAX, c:getSendQueueCount())
    run_until(20000, function() return ok + refused + #other >= SEND_QUEUE_MAX + 10 end)
    quiet(20)
    assert.same({}, other)
    assert.equals(10, refused)
    assert.equals(SEND_QUEUE_MAX, ok)
    assert.equals(0, c:getSendQueueCount())
    assert.equals(0, c:getSendQueueSize())
  end)

  it("emits at most " .. QUEUED_ERRORS_MAX .. " queued 'error' events for refused sends "
    .. "without a callback; stats().sendErrors counts every one", function()
    local c = H.socket("udp4")
    local errors = 0
    c:on("error", function(err)
      assert.equals("ENOBUFS", err.code)
      errors = errors + 1
    end)
    for _ = 1, SEND_QUEUE_MAX + 5000 do c:send("x", 9, LO4) end
    assert.equals(5000, c:stats().sendErrors)
    c:close()
    quiet(50)
    assert.equals(0, errors, "'error' after close")
    local d = H.socket("udp4")
    d:on("error", function() errors = errors + 1 end)
    for _ = 1, SEND_QUEUE_MAX + 5000 do d:send("x", 9, LO4) end
    run_until(5000, function() return d:getSendQueueCount() == 0 end)
    quiet(20)
    assert.equals(QUEUED_ERRORS_MAX, errors)
  end)

  it("bounds the 'error' events queued for a connected socket whose peer is gone",
    function()
      local dead = H.free_port()
      local c = H.socket("udp4")
      local connected = false
      c:connect(dead, LO4, function(err)
        assert.is_nil(err)
        connected = true
      end)
      run_until(2000, function() return connected end)
      assert.is_true(connected)
      local errors = 0
      c:on("error", function(err)
        assert.equals("ECONNREFUSED", err.code)
        errors = errors + 1
      end)
      for _ = 1, 20000 do c:send("anyone?") end -- outside the loop: none is read meanwhile
      local failed = c:stats().sendErrors
      assert.is_true(failed > QUEUED_ERRORS_MAX, "only " .. failed .. " sends failed")
      quiet(50)
      assert.is_true(errors >= 1 and errors <= QUEUED_ERRORS_MAX + 1, errors .. " errors")
      -- the socket works on
      local res
      c:send("still?", function(err) res = err or "sent" end)
      run_until(2000, function() return res ~= nil end)
      assert.is_not_nil(res)
    end)
end)

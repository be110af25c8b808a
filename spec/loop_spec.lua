-- The event loop, timers, errors out of callbacks, ref/unref and socket lifetimes:
-- dgram.run's modes, setTimeout/setInterval, backendFd/backendTimeout, what keeps the
-- loop (and a socket the script dropped) alive, and what may be collected.
local H = require("helper")
local dgram = H.dgram

-- Wall-clock seconds on the loop's monotonic clock.
local function now() return dgram.now() / 1000 end

local function nop() end

-- Runs the loop with pcall under an unreferenced deadline: returns pcall's results.
-- `on_deadline` (if any) runs when the deadline passes, to close what keeps the loop up.
local function prun(ms, on_deadline, mode)
  local expired = false
  local deadline = dgram.setTimeout((ms or 2000) * H.scale, function()
    expired = true
    if on_deadline then on_deadline() end
  end)
  deadline:unref()
  local res = table.pack(pcall(dgram.run, mode))
  dgram.clearTimeout(deadline)
  res.expired = expired
  return res
end

-- Runs dgram.run("once") until cond() holds, at most `ms` milliseconds; a referenced
-- 5 ms interval makes every round end soon. Errors out of run propagate.
local function run_until(cond, ms) return H.run_until(ms or 2000, cond) end

-- Sends each string of `msgs` from a fresh tracked client to 127.0.0.1:port.
local function send_all(port, msgs, on_done)
  local client = H.socket("udp4")
  local left = #msgs
  for _, m in ipairs(msgs) do
    client:send(m, port, "127.0.0.1", function(err)
      assert(err == nil, tostring(err))
      left = left - 1
      if left == 0 then
        client:close()
        if on_done then on_done() end
      end
    end)
  end
  return client
end

-- The loop must be idle after each test: nothing referenced left behind.
local function assert_idle()
  local more
  for _ = 1, 20 do
    more = dgram.run("nowait")
    if not more then break end
  end
  assert.is_false(more)
end

describe("dgram.run", function()
  after_each(H.cleanup)

  it("returns false at once when nothing is pending, in every mode", function()
    assert.is_false(dgram.run())
    assert.is_false(dgram.run("default"))
    assert.is_false(dgram.run("once"))
    assert.is_false(dgram.run("nowait"))
  end)

  it("default mode runs until the last referenced timer has fired", function()
    local order = {}
    dgram.setTimeout(10, function() order[#order + 1] = "a" end)
    dgram.setTimeout(30, function()
      order[#order + 1] = "b"
      dgram.setTimeout(5, function() order[#order + 1] = "c" end)
    end)
    assert.is_false(dgram.run("default"))
    assert.same({ "a", "b", "c" }, order)
  end)

  it("nowait does not block on a pending timer and returns true while it is pending",
    function()
      local fired = false
      local t = dgram.setTimeout(1500, function() fired = true end)
      local t0 = now()
      assert.is_true(dgram.run("nowait"))
      assert.is_true(dgram.run("nowait"))
      assert.is_false(fired)
      assert.is_true(now() - t0 < 1, "run('nowait') blocked")
      dgram.clearTimeout(t)
      assert.is_false(dgram.run("nowait"))
      assert.is_false(fired)
    end)

  it("nowait, polled in a bounded frame loop, fires a timer and then returns false", function()
    local fired = 0
    dgram.setTimeout(20, function() fired = fired + 1 end)
    local stop, more, polls = now() + 2 * H.scale, true, 0
    while more and now() < stop and polls < 10000000 do
      more = dgram.run("nowait")
      polls = polls + 1
    end
    assert.is_false(more)
    assert.equals(1, fired)
    assert.is_true(polls > 1, "nowait should not have waited for the 20 ms timer")
  end)

  it("nowait returns true while a referenced socket is bound and false once it is closed",
    function()
      local s = H.bound("udp4")
      assert.is_true(dgram.run("nowait"))
      assert.is_true(dgram.run("nowait"))
      local closed = false
      s:close(function() closed = true end)
      local more = true
      for _ = 1, 20 do
        more = dgram.run("nowait")
        if not more then break end
      end
      assert.is_false(more)
      assert.is_true(closed)
    end)

  it("nowait delivers a datagram when polled in a frame loop", function()
    local server, port = H.bound("udp4")
    local got
    server:on("message", function(msg) got = msg end)
    send_all(port, { "frame" })
    local stop = now() + 2 * H.scale
    for _ = 1, 10000000 do
      if got or now() > stop then break end
      dgram.run("nowait")
    end
    assert.equals("frame", got)
  end)

  it("once blocks for one round: a timer fires, and it returns whether work remains",
    function()
      local a, b = false, false
      dgram.setTimeout(20, function() a = true end)
      local tb = dgram.setTimeout(3000, function() b = true end)
      local more
      for _ = 1, 50 do -- one round normally; a spurious early wake-up is allowed
        more = dgram.run("once")
        if a then break end
      end
      assert.is_true(a)
      assert.is_false(b)
      assert.is_true(more)
      dgram.clearTimeout(tb)
      assert.is_false(dgram.run("once"))
      assert.is_false(b)
    end)

  it("once with a single timer returns false after it fired", function()
    local fired = false
    dgram.setTimeout(10, function() fired = true end)
    local more
    for _ = 1, 50 do
      more = dgram.run("once")
      if fired then break end
    end
    assert.is_true(fired)
    assert.is_false(more)
  end)

  it("rejects an unknown mode with an error object", function()
    local ok, err = pcall(dgram.run, "forever")
    assert.is_false(ok)
    assert.equals("table", type(err))
    assert.equals("ERR_INVALID_ARG_VALUE", err.code)
    ok, err = pcall(dgram.run, 42)
    assert.is_false(ok)
    assert.equals("table", type(err))
    assert.equals("ERR_INVALID_ARG_TYPE", err.code)
    assert_idle()
  end)

  it("raises when called from inside a timer callback, and the outer run goes on", function()
    local results = {}
    local later = false
    dgram.setTimeout(5, function()
      for _, mode in ipairs({ "default", "once", "nowait" }) do
        local ok, err = pcall(dgram.run, mode)
        results[#results + 1] = { ok = ok, err = err }
      end
      dgram.setTimeout(5, function() later = true end)
    end)
    assert.is_false(dgram.run())
    assert.equals(3, #results)
    for _, r in ipairs(results) do
      assert.is_false(r.ok)
      assert.is_truthy(tostring(r.err):find("%S"))
    end
    assert.is_true(later)
  end)

  it("raises when called from inside a message handler", function()
    local server, port = H.bound("udp4")
    local ok, err
    server:on("message", function()
      ok, err = pcall(dgram.run, "nowait")
      server:close()
    end)
    send_all(port, { "x" })
    H.run(2000)
    assert.is_false(ok)
    assert.is_not_nil(err)
  end)

  it("runs callbacks on the coroutine that called it", function()
    local seen
    dgram.setTimeout(1, function() seen = coroutine.running() end)
    local co = coroutine.create(function() return dgram.run() end)
    local ok, more = coroutine.resume(co)
    assert.is_true(ok, tostring(more))
    assert.is_false(more)
    assert.equals(co, seen)
  end)
end)

describe("an error raised inside a callback", function()
  after_each(H.cleanup)

  it("from a timer: a string comes out of dgram.run with the traceback appended", function()
    dgram.setTimeout(1, function() error("timer went boom") end)
    local r = prun(2000)
    assert.is_false(r[1])
    assert.equals("string", type(r[2]))
    assert.is_truthy(r[2]:find("timer went boom", 1, true))
    local tb = r[2]:find("stack traceback", 1, true)
    assert.is_truthy(tb, r[2])
    assert.is_truthy(r[2]:find("loop_spec.lua", tb, true), "the callback's frame: " .. r[2])
    assert_idle()
  end)

  it("from a timer: a table is raised as the very same table", function()
    local e = { code = "MINE" }
    dgram.setTimeout(1, function() error(e) end)
    local r = prun(2000)
    assert.is_false(r[1])
    assert.is_true(rawequal(e, r[2]))
    assert.equals("MINE", r[2].code)
    assert_idle()
  end)

  it("from a timer: a number is raised unchanged", function()
    dgram.setTimeout(1, function() error(42) end)
    local r = prun(2000)
    assert.is_false(r[1])
    assert.equals(42, r[2])
    assert_idle()
  end)

  it("from a timer: a module error object keeps its code", function()
    local s = H.socket("udp4")
    dgram.setTimeout(1, function() s:bind(70000) end)
    local r = prun(2000)
    assert.is_false(r[1])
    assert.equals("table", type(r[2]))
    assert.equals("ERR_SOCKET_BAD_PORT", r[2].code)
  end)

  it("from a message handler: a string with traceback, then run works again", function()
    local server, port = H.bound("udp4")
    server:on("message", function() error("handler boom") end)
    send_all(port, { "x" })
    local r = prun(2000, function() server:close() end)
    assert.is_false(r[1])
    assert.is_false(r.expired)
    assert.is_truthy(tostring(r[2]):find("handler boom", 1, true))
    assert.is_truthy(tostring(r[2]):find("stack traceback", 1, true))
    server:close()
    local r2 = prun(2000)
    assert.is_true(r2[1], tostring(r2[2]))
    assert.is_false(r2[2])
  end)

  it("from a message handler: a table is the very same table", function()
    local server, port = H.bound("udp4")
    local e = setmetatable({ code = "EHANDLER" }, { __tostring = function() return "e" end })
    server:on("message", function() error(e) end)
    send_all(port, { "x" })
    local r = prun(2000, function() server:close() end)
    assert.is_false(r[1])
    assert.is_true(rawequal(e, r[2]))
  end)

  it("from a send callback: same table, and the loop stays usable", function()
    local server, port = H.bound("udp4")
    local e = {}
    local client = H.socket("udp4")
    client:send("x", port, "127.0.0.1", function() error(e) end)
    local got
    server:on("message", function(m)
      got = m
      server:close()
    end)
    local r = prun(2000, function() server:close() end)
    assert.is_false(r[1])
    assert.is_true(rawequal(e, r[2]))
    client:close()
    H.run(2000)
    assert.equals("x", got)
  end)

  it("from a send callback: a string carries a traceback", function()
    local _, port = H.bound("udp4")
    local client = H.socket("udp4")
    client:send("x", port, "127.0.0.1", function() error("send cb boom") end)
    local r = prun(2000, function() H.cleanup() end)
    assert.is_false(r[1])
    assert.is_truthy(tostring(r[2]):find("send cb boom", 1, true))
    assert.is_truthy(tostring(r[2]):find("stack traceback", 1, true))
  end)

  it("from a 'listening' listener and a 'close' listener", function()
    local s = H.socket("udp4")
    local e1, e2 = { "listening" }, { "close" }
    s:on("listening", function() error(e1) end)
    s:on("close", function() error(e2) end)
    s:bind(0, "127.0.0.1")
    local r = prun(2000, function() s:close() end)
    assert.is_false(r[1])
    assert.is_true(rawequal(e1, r[2]))
    s:close()
    r = prun(2000)
    assert.is_false(r[1])
    assert.is_true(rawequal(e2, r[2]))
    assert_idle()
  end)

  it("from the second of several 'message' listeners", function()
    local server, port = H.bound("udp4")
    local first = 0
    server:on("message", function() first = first + 1 end)
    server:on("message", function() error("second listener boom") end)
    send_all(port, { "x" })
    local r = prun(2000, function() server:close() end)
    assert.is_false(r[1])
    assert.is_truthy(tostring(r[2]):find("second listener boom", 1, true))
    assert.is_truthy(tostring(r[2]):find("stack traceback", 1, true))
    assert.equals(1, first)
  end)

  it("stops the loop: datagrams not yet delivered come with the next run", function()
    local server, port = H.bound("udp4")
    local got = {}
    server:on("message", function(m)
      got[#got + 1] = m
      if #got == 1 then error("first one") end
      if #got == 3 then server:close() end
    end)
    send_all(port, { "1", "2", "3" })
    local r = prun(2000, function() server:close() end)
    assert.is_false(r[1])
    assert.is_truthy(tostring(r[2]):find("first one", 1, true))
    assert.same({ "1" }, got)
    local r2 = prun(2000, function() server:close() end)
    assert.is_true(r2[1], tostring(r2[2]))
    assert.is_false(r2.expired)
    assert.same({ "1", "2", "3" }, got)
  end)

  it("stops the loop: a second send callback runs with the next run", function()
    local _, port = H.bound("udp4")
    local client = H.socket("udp4")
    local calls = {}
    client:send("a", port, "127.0.0.1", function()
      calls[#calls + 1] = "a"
      error("cb a")
    end)
    client:send("b", port, "127.0.0.1", function() calls[#calls + 1] = "b" end)
    local r = prun(2000, function() H.cleanup() end)
    assert.is_false(r[1])
    assert.is_truthy(tostring(r[2]):find("cb a", 1, true))
    assert.same({ "a" }, calls)
    assert.is_true(run_until(function() return #calls == 2 end, 2000))
    assert.same({ "a", "b" }, calls)
  end)

  it("stops the loop: a timer due at the same time fires with the next run", function()
    local fired = {}
    dgram.setTimeout(5, function()
      fired[#fired + 1] = 1
      error("timer 1")
    end)
    dgram.setTimeout(5, function() fired[#fired + 1] = 2 end)
    local r = prun(2000)
    assert.is_false(r[1])
    assert.is_truthy(tostring(r[2]):find("timer 1", 1, true))
    assert.same({ 1 }, fired)
    local r2 = prun(2000)
    assert.is_true(r2[1], tostring(r2[2]))
    assert.same({ 1, 2 }, fired)
  end)

  it("is never lost: two failing timers due together come out of two runs", function()
    local e1, e2 = { 1 }, { 2 }
    dgram.setTimeout(5, function() error(e1) end)
    dgram.setTimeout(5, function() error(e2) end)
    local r1 = prun(2000)
    assert.is_false(r1[1])
    assert.is_true(rawequal(e1, r1[2]))
    local r2 = prun(2000)
    assert.is_false(r2[1], "the second timer's error was lost")
    assert.is_true(rawequal(e2, r2[2]))
    assert_idle()
  end)

  it("from an interval: the next run keeps it firing", function()
    local n = 0
    local t
    t = dgram.setInterval(5, function()
      n = n + 1
      if n == 1 then error("interval boom") end
      if n >= 3 then dgram.clearInterval(t) end
    end)
    local r = prun(2000, function() dgram.clearInterval(t) end)
    assert.is_false(r[1])
    assert.equals(1, n)
    local r2 = prun(2000, function() dgram.clearInterval(t) end)
    assert.is_true(r2[1], tostring(r2[2]))
    assert.is_false(r2.expired)
    assert.equals(3, n)
  end)

  it("an 'error' event with no listener comes out of dgram.run", function()
    local _, port = H.bound("udp4")
    local other = H.socket("udp4")
    other:bind(port, "127.0.0.1") -- EADDRINUSE, emitted as 'error'
    local r = prun(2000, function() H.cleanup() end)
    assert.is_false(r[1])
    assert.equals("table", type(r[2]))
    assert.equals("EADDRINUSE", r[2].code)
    -- the loop stays usable
    H.cleanup()
    assert_idle()
  end)

  it("an 'error' event with a listener does not come out of dgram.run", function()
    local _, port = H.bound("udp4")
    local other = H.socket("udp4")
    local got
    other:on("error", function(err)
      got = err
      H.cleanup()
    end)
    other:bind(port, "127.0.0.1")
    local r = prun(2000, function() H.cleanup() end)
    assert.is_true(r[1], tostring(r[2]))
    assert.equals("EADDRINUSE", got.code)
  end)
end)

describe("timers", function()
  after_each(H.cleanup)

  it("setTimeout passes the extra arguments to the callback, nil included", function()
    local got
    dgram.setTimeout(1, function(...) got = table.pack(...) end, "a", 2, nil, false, "e")
    assert.is_false(dgram.run())
    assert.equals(5, got.n)
    assert.equals("a", got[1])
    assert.equals(2, got[2])
    assert.is_nil(got[3])
    assert.is_false(got[4])
    assert.equals("e", got[5])
  end)

  it("setTimeout with no extra arguments calls the callback with none", function()
    local n
    dgram.setTimeout(1, function(...) n = select("#", ...) end)
    dgram.run()
    assert.equals(0, n)
  end)

  it("setTimeout returns a timer object and fires exactly once", function()
    local n = 0
    local t = dgram.setTimeout(5, function() n = n + 1 end)
    assert.is_not_nil(t)
    assert.equals("function", type(t.ref))
    assert.equals("function", type(t.unref))
    local stop = now() + 0.1
    while now() < stop do dgram.run("nowait") end
    assert.equals(1, n)
    dgram.clearTimeout(t) -- clearing a fired timer is harmless
    assert_idle()
  end)

  it("setTimeout(0) and a negative delay still fire (as Node: 1 ms)", function()
    local fired = {}
    dgram.setTimeout(0, function() fired[#fired + 1] = "zero" end)
    dgram.setTimeout(-5, function() fired[#fired + 1] = "neg" end)
    assert.is_false(dgram.run())
    assert.same({ "zero", "neg" }, fired)
  end)

  it("fires two timeouts in delay order, not registration order", function()
    local order = {}
    dgram.setTimeout(60, function() order[#order + 1] = "slow" end)
    dgram.setTimeout(10, function() order[#order + 1] = "fast" end)
    dgram.run()
    assert.same({ "fast", "slow" }, order)
  end)

  it("fires timeouts with the same delay in registration order", function()
    local order = {}
    for i = 1, 5 do dgram.setTimeout(10, function() order[#order + 1] = i end) end
    dgram.run()
    assert.same({ 1, 2, 3, 4, 5 }, order)
  end)

  it("clearTimeout before it fires prevents it", function()
    local fired = false
    local t = dgram.setTimeout(10, function() fired = true end)
    dgram.clearTimeout(t)
    local t0 = now()
    assert.is_false(dgram.run())
    assert.is_false(fired)
    assert.is_true(now() - t0 < 0.5)
  end)

  it("clearTimeout from another callback due at the same time prevents it", function()
    local fired = {}
    local t2
    dgram.setTimeout(10, function()
      fired[#fired + 1] = 1
      dgram.clearTimeout(t2)
    end)
    t2 = dgram.setTimeout(10, function() fired[#fired + 1] = 2 end)
    dgram.run()
    assert.same({ 1 }, fired)
  end)

  it("clearTimeout ignores values that are not timers, as Node", function()
    assert.has_no.errors(function()
      dgram.clearTimeout(nil)
      dgram.clearTimeout({})
      dgram.clearTimeout("x")
      dgram.clearInterval(nil)
      dgram.clearInterval(12)
    end)
  end)

  it("rejects a callback that is not a function with ERR_INVALID_ARG_TYPE", function()
    for _, f in ipairs({ "setTimeout", "setInterval" }) do
      local ok, err = pcall(dgram[f], 10, "not a function")
      assert.is_false(ok)
      assert.equals("table", type(err))
      assert.equals("ERR_INVALID_ARG_TYPE", err.code)
      ok, err = pcall(dgram[f], 10)
      assert.is_false(ok)
      assert.equals("ERR_INVALID_ARG_TYPE", err.code)
    end
    assert_idle()
  end)

  it("setInterval fires repeatedly, with its arguments, until clearInterval", function()
    local calls = {}
    local t
    t = dgram.setInterval(5, function(a, b)
      calls[#calls + 1] = { a, b }
      if #calls == 4 then dgram.clearInterval(t) end
      if #calls > 100 then dgram.clearInterval(t) end -- never loop forever
    end, "x", 7)
    assert.is_false(dgram.run())
    assert.equals(4, #calls)
    for _, c in ipairs(calls) do assert.same({ "x", 7 }, c) end
  end)

  it("clearInterval from outside stops an interval", function()
    local n = 0
    local t = dgram.setInterval(5, function() n = n + 1 end)
    dgram.setTimeout(60, function() dgram.clearInterval(t) end)
    assert.is_false(dgram.run())
    assert.is_true(n >= 2, "fired " .. n .. " times")
    local seen = n
    dgram.setTimeout(30, nop)
    dgram.run()
    assert.equals(seen, n)
  end)

  it("clearTimeout and clearInterval are interchangeable, as in Node", function()
    local n = 0
    local t
    t = dgram.setInterval(5, function()
      n = n + 1
      if n == 2 then dgram.clearTimeout(t) end
    end)
    local r = prun(1000, function() dgram.clearInterval(t) end)
    assert.is_true(r[1], tostring(r[2]))
    assert.is_false(r.expired)
    assert.equals(2, n)
    local fired = false
    local t2 = dgram.setTimeout(5, function() fired = true end)
    dgram.clearInterval(t2)
    dgram.run()
    assert.is_false(fired)
  end)

  it("unref lets run return without firing the timer; unref returns the timer", function()
    local fired = false
    local t = dgram.setTimeout(1000, function() fired = true end)
    assert.equals(t, t:unref())
    local t0 = now()
    assert.is_false(dgram.run())
    assert.is_true(now() - t0 < 0.5, "run waited for an unreferenced timer")
    assert.is_false(fired)
    assert.is_false(dgram.run("nowait"))
    dgram.clearTimeout(t)
  end)

  it("an unreferenced timer still fires while something else keeps the loop up", function()
    local order = {}
    dgram.setTimeout(10, function() order[#order + 1] = "unref" end):unref()
    dgram.setTimeout(60, function() order[#order + 1] = "ref" end)
    dgram.run()
    assert.same({ "unref", "ref" }, order)
  end)

  it("ref after unref makes run wait for it again; ref returns the timer", function()
    local fired = false
    local t = dgram.setTimeout(20, function() fired = true end)
    t:unref()
    assert.equals(t, t:ref())
    assert.is_false(dgram.run())
    assert.is_true(fired)
  end)

  it("an unreferenced interval does not keep the loop alive", function()
    local n = 0
    local t = dgram.setInterval(5, function() n = n + 1 end)
    t:unref()
    dgram.setTimeout(40, nop)
    assert.is_false(dgram.run())
    assert.is_true(n >= 1)
    dgram.clearInterval(t)
  end)

  it("fires a timer whose object the script dropped", function()
    local fired = false
    dgram.setTimeout(20, function() fired = true end)
    collectgarbage()
    collectgarbage()
    assert.is_false(dgram.run())
    assert.is_true(fired)
  end)

  it("a timer set inside a timer callback keeps run going", function()
    local depth = 0
    local function again()
      depth = depth + 1
      if depth < 5 then dgram.setTimeout(1, again) end
    end
    dgram.setTimeout(1, again)
    assert.is_false(dgram.run())
    assert.equals(5, depth)
  end)
end)

describe("dgram.backendFd and dgram.backendTimeout", function()
  after_each(H.cleanup)

  it("backendFd is a non-negative integer, the same on every call", function()
    local fd = dgram.backendFd()
    assert.equals("integer", math.type(fd))
    assert.is_true(fd >= 0)
    assert.equals(fd, dgram.backendFd())
  end)

  it("backendFd is an epoll descriptor of this process (Linux)", function()
    local stat = io.open("/proc/self/stat")
    if not stat then return end -- no /proc: nothing to check here
    local pid = stat:read("n")
    stat:close()
    local p = io.popen(("readlink /proc/%d/fd/%d"):format(pid, dgram.backendFd()))
    local target = p:read("l")
    p:close()
    assert.equals("anon_inode:[eventpoll]", target)
  end)

  it("backendTimeout is an integer; -1 with nothing active (a host must never spin)", function()
    assert_idle()
    local t = dgram.backendTimeout()
    assert.equals("integer", math.type(t))
    assert.equals(-1, t)
  end)

  it("is -1 with only a bound, idle, referenced socket", function()
    H.bound("udp4")
    for _ = 1, 5 do dgram.run("nowait") end -- deliver 'listening'
    assert.equals(-1, dgram.backendTimeout())
  end)

  it("is between 0 and 1000 with a 1000 ms timer pending", function()
    local t = dgram.setTimeout(1000, nop)
    local ms = dgram.backendTimeout()
    assert.equals("integer", math.type(ms))
    assert.is_true(ms > 0 and ms <= 1000, "got " .. ms)
    H.bound("udp4")
    for _ = 1, 5 do dgram.run("nowait") end
    ms = dgram.backendTimeout()
    assert.is_true(ms > 0 and ms <= 1000, "got " .. ms)
    dgram.clearTimeout(t)
    assert.equals(-1, dgram.backendTimeout())
  end)

  it("is 0 while a send callback is due", function()
    local _, port = H.bound("udp4")
    for _ = 1, 5 do dgram.run("nowait") end
    local t = dgram.setTimeout(1000, nop)
    local called = false
    local client = H.socket("udp4")
    client:send("x", port, "127.0.0.1", function() called = true end)
    assert.equals(0, dgram.backendTimeout())
    for _ = 1, 100 do
      if called then break end
      dgram.run("nowait")
    end
    assert.is_true(called)
    dgram.clearTimeout(t)
  end)
end)

describe("socket:ref() and socket:unref()", function()
  after_each(H.cleanup)

  it("return the socket", function()
    local s = H.socket("udp4")
    assert.equals(s, s:unref())
    assert.equals(s, s:ref())
    s:close()
    assert.equals(s, s:unref())
    assert.equals(s, s:ref())
  end)

  it("a bound, unreferenced socket does not keep run going", function()
    local s = H.bound("udp4")
    s:unref()
    local r = prun(1000, function() s:close() end)
    assert.is_true(r[1], tostring(r[2]))
    assert.is_false(r[2])
    assert.is_false(r.expired)
    assert.is_false(dgram.run("nowait"))
  end)

  it("unref before bind still holds once bound", function()
    local s = H.socket("udp4")
    s:unref()
    s:bind(0, "127.0.0.1")
    local r = prun(1000, function() s:close() end)
    assert.is_true(r[1], tostring(r[2]))
    assert.is_false(r.expired)
  end)

  it("ref after unref makes the socket keep run going again", function()
    local s = H.bound("udp4")
    s:unref()
    s:ref()
    local closed = false
    s:on("close", function() closed = true end)
    dgram.setTimeout(30, function() s:close() end):unref()
    local r = prun(2000, function() s:close() end)
    assert.is_true(r[1], tostring(r[2]))
    assert.is_false(r.expired)
    assert.is_true(closed, "run returned before the socket closed")
  end)

  it("a bound referenced socket keeps run going until it is closed", function()
    local s = H.bound("udp4")
    local closed, fired = false, false
    s:on("close", function() closed = true end)
    dgram.setTimeout(50, function()
      fired = true
      s:close()
    end)
    local r = prun(2000, function() s:close() end)
    assert.is_true(r[1], tostring(r[2]))
    assert.is_false(r.expired)
    assert.is_true(fired)
    assert.is_true(closed)
  end)

  it("an unreferenced socket still receives while the loop runs for other work", function()
    local server, port = H.bound("udp4")
    server:unref()
    local got
    server:on("message", function(m) got = m end)
    local client = send_all(port, { "to an unref'd socket" })
    client:unref()
    assert.is_true(run_until(function() return got ~= nil end, 2000))
    assert.equals("to an unref'd socket", got)
  end)

  it("a pending send on an unreferenced socket still gets its callback", function()
    local server, port = H.bound("udp4")
    server:unref()
    local client = H.socket("udp4")
    client:unref()
    local result
    client:send("x", port, "127.0.0.1", function(err, n) result = { err = err, n = n } end)
    local r = prun(2000, function() H.cleanup() end)
    assert.is_true(r[1], tostring(r[2]))
    assert.is_false(r.expired)
    assert.is_not_nil(result, "run returned before the send callback")
    assert.is_nil(result.err)
    assert.equals(1, result.n)
  end)
end)

describe("socket lifetimes", function()
  after_each(H.cleanup)

  -- Closes every still-live socket of the weak table `weak`.
  local function close_all(weak)
    for _, s in pairs(weak) do pcall(s.close, s) end
  end

  it("a bound socket the script dropped still receives and emits", function()
    local got = {}
    local weak = setmetatable({}, { __mode = "v" })
    local port
    local function make()
      local s = dgram.createSocket("udp4")
      s:on("message", function(msg, rinfo) got[#got + 1] = { msg = msg, port = rinfo.port } end)
      s:on("listening", function() got.listening = true end)
      s:bind(0, "127.0.0.1")
      port = s:address().port
      weak.server = s
    end
    make()
    for _ = 1, 5 do dgram.run("nowait") end
    collectgarbage()
    collectgarbage()
    assert.is_not_nil(weak.server, "a bound socket was collected")
    assert.is_true(got.listening)
    local client = H.socket("udp4")
    client:send("still here", port, "127.0.0.1")
    assert.is_true(run_until(function()
      collectgarbage()
      return #got > 0
    end, 2000))
    assert.equals("still here", got[1].msg)
    assert.equals(client:address().port, got[1].port)
    close_all(weak)
    H.cleanup()
    collectgarbage()
    collectgarbage()
    assert.is_nil(weak.server, "the closed socket was not collected")
  end)

  it("dgram.createSocket('udp4'):send(...) with no reference kept still sends", function()
    local server, port = H.bound("udp4")
    local weak = setmetatable({}, { __mode = "v" })
    local got
    server:on("message", function(m)
      got = m
      server:close()
      close_all(weak) -- the sender stays bound after sending; close it so run ends
    end)
    do
      local c = dgram.createSocket("udp4")
      weak.client = c
      c:send("fire and forget", port, "127.0.0.1")
    end
    collectgarbage()
    collectgarbage()
    local r = prun(2000, function()
      server:close()
      close_all(weak)
    end)
    assert.is_true(r[1], tostring(r[2]))
    assert.is_false(r.expired)
    assert.equals("fire and forget", got)
    assert_idle()
  end)

  it("the Node idiom: send, then close in the send callback, no reference kept", function()
    local server, port = H.bound("udp4")
    local got, sent
    server:on("message", function(m)
      got = m
      server:close()
    end)
    local weak = setmetatable({}, { __mode = "v" })
    local function fire()
      local client = dgram.createSocket("udp4")
      weak.client = client
      client:send("bye", port, "127.0.0.1", function(err, n)
        sent = { err = err, n = n }
        client:close()
      end)
    end
    fire()
    collectgarbage()
    collectgarbage()
    local r = prun(2000, function()
      server:close()
      close_all(weak)
    end)
    assert.is_true(r[1], tostring(r[2]))
    assert.is_false(r.expired)
    assert.equals("bye", got)
    assert.is_nil(sent.err)
    assert.equals(3, sent.n)
    collectgarbage()
    collectgarbage()
    assert.is_nil(weak.client, "the closed client was not collected")
  end)

  it("a closed socket with no reference is collected after run", function()
    local weak = setmetatable({}, { __mode = "v" })
    local closed = false
    do
      local s = dgram.createSocket("udp4")
      s:bind(0, "127.0.0.1")
      s:on("close", function() closed = true end)
      s:close()
      weak[1] = s
    end
    collectgarbage()
    collectgarbage()
    assert.is_false(dgram.run())
    assert.is_true(closed, "'close' was not emitted")
    collectgarbage()
    collectgarbage()
    assert.is_nil(weak[1])
  end)

  it("a closed socket dropped before run still emits 'close'", function()
    local closed = 0
    do
      local s = dgram.createSocket("udp4")
      s:on("close", function() closed = closed + 1 end)
      s:bind(0, "127.0.0.1")
      s:close()
    end
    collectgarbage()
    collectgarbage()
    dgram.run()
    assert.equals(1, closed)
  end)

  it("an unbound, never-used socket is collected without trouble", function()
    local weak = setmetatable({}, { __mode = "v" })
    for i = 1, 50 do
      local s = dgram.createSocket(i % 2 == 0 and "udp4" or "udp6")
      if i % 3 == 0 then s:on("message", nop) end
      if i % 5 == 0 then s:unref() end
      weak[i] = s
    end
    weak.blocked = dgram.createSocket({
      type = "udp4", receiveBlockList = { "10.0.0.0/8" }, sendBlockList = { "192.0.2.1" },
    })
    collectgarbage()
    collectgarbage()
    assert.is_nil(next(weak))
    assert.is_false(dgram.run("nowait"))
    assert.is_false(dgram.run())
  end)

  it("a socket that was never bound does not keep run going", function()
    local s = H.socket("udp4")
    s:on("message", nop)
    local r = prun(1000, function() s:close() end)
    assert.is_true(r[1], tostring(r[2]))
    assert.is_false(r[2])
    assert.is_false(r.expired)
  end)

  it("many dropped, bound-then-closed sockets are all collected", function()
    local weak = setmetatable({}, { __mode = "v" })
    for i = 1, 30 do
      local s = dgram.createSocket("udp4")
      s:bind(0, "127.0.0.1")
      s:close()
      weak[i] = s
    end
    dgram.run()
    collectgarbage()
    collectgarbage()
    assert.is_nil(next(weak))
  end)
end)

describe("dgram.setBusyPoll / dgram.getBusyPoll", function()
  local saved
  before_each(function() saved = dgram.getBusyPoll() end)
  after_each(function()
    dgram.setBusyPoll(saved)
    H.cleanup()
  end)

  it("polls 50 microseconds after a turn that sent, by default; 0 turns it off", function()
    assert.equals(50, saved)
    assert.equals("integer", math.type(dgram.getBusyPoll()))
    dgram.setBusyPoll(0)
    assert.equals(0, dgram.getBusyPoll())
    dgram.setBusyPoll(1000000)
    assert.equals(1000000, dgram.getBusyPoll())
    assert.equals(dgram.core.setBusyPoll, dgram.setBusyPoll)
  end)

  it("rejects what is not an integer number of microseconds in 0..1000000", function()
    dgram.setBusyPoll(70)
    for _, bad in ipairs({ "50", 1.5, true, {} }) do
      H.raises("ERR_INVALID_ARG_TYPE", dgram.setBusyPoll, bad)
    end
    H.raises("ERR_INVALID_ARG_TYPE", dgram.setBusyPoll)
    H.raises("ERR_OUT_OF_RANGE", dgram.setBusyPoll, -1)
    H.raises("ERR_OUT_OF_RANGE", dgram.setBusyPoll, 1000001)
    assert.equals(70, dgram.getBusyPoll())
  end)

  for _, us in ipairs({ 0, 50, 1000000 }) do
    it(("request/response exchanges complete with busy polling at %d us"):format(us), function()
      dgram.setBusyPoll(us)
      local server, port = H.bound("udp4")
      server:on("message", function(msg, rinfo)
        server:send("re:" .. msg, rinfo.port, rinfo.address)
      end)
      local client = H.bound("udp4")
      local got, n = {}, 20
      client:on("message", function(msg)
        got[#got + 1] = msg
        if #got < n then client:send("q" .. (#got + 1), port, "127.0.0.1") end
      end)
      client:send("q1", port, "127.0.0.1")
      run_until(function() return #got == n end, 5000)
      local want = {}
      for i = 1, n do want[i] = "re:q" .. i end
      assert.same(want, got)
    end)
  end

  it("polls after every answered send: each poll finds the answer", function()
    dgram.setBusyPoll(1000000) -- so long that no answer can miss it
    local server, port = H.bound("udp4")
    server:on("message", function(msg, rinfo) server:send(msg, rinfo.port, rinfo.address) end)
    local client = H.bound("udp4")
    local got = 0
    client:on("message", function()
      got = got + 1
      if got < 20 then client:send("q", port, "127.0.0.1") end
    end)
    client:send("q", port, "127.0.0.1")
    local polls0, hits0, skipped0 = dgram.core._pollStats()
    run_until(function() return got == 20 end, 5000)
    local polls, hits, skipped = dgram.core._pollStats()
    assert.equals(20, got)
    assert.is_true(polls - polls0 >= 20, "one poll per request at least")
    assert.equals(polls - polls0, hits - hits0)
    assert.equals(skipped0, skipped)
  end)

  it("backs off when nothing answers: a sender to a silent peer skips most polls", function()
    dgram.setBusyPoll(200)
    local gone, port = H.bound("udp4") -- a port nobody reads: not a socket on this loop,
    gone:close()                       -- whose datagrams would wake the poll
    local client = H.bound("udp4")
    local ticks = 0
    local ticker
    ticker = dgram.setInterval(1, function()
      ticks = ticks + 1
      client:send("x", port, "127.0.0.1")
      if ticks == 60 then dgram.clearInterval(ticker) end
    end)
    local polls0, hits0, skipped0 = dgram.core._pollStats()
    run_until(function() return ticks == 60 end, 5000)
    local polls, hits, skipped = dgram.core._pollStats()
    assert.equals(60, ticks)
    assert.equals(hits0, hits) -- nothing ever came
    assert.is_true(polls - polls0 <= 12, ("polls: %d"):format(polls - polls0))
    assert.is_true(skipped - skipped0 >= 40, ("skipped: %d"):format(skipped - skipped0))
    client:close()
  end)

  it("a timer due while the loop polls still fires, and nowait still returns", function()
    dgram.setBusyPoll(1000000)
    local sink, port = H.bound("udp4") -- never answers
    local client = H.bound("udp4")
    local fired = false
    client:send("x", port, "127.0.0.1")
    dgram.setTimeout(5, function() fired = true end)
    run_until(function() return fired end, 5000)
    assert.is_true(fired)
    client:send("y", port, "127.0.0.1")
    assert.is_true(dgram.run("nowait")) -- the sockets are still bound
    sink:close()
    client:close()
    assert_idle()
  end)
end)

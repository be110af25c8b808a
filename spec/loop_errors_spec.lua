-- Errors raised inside callbacks (timers, handlers, send callbacks, listeners): how
-- they come out of dgram.run and that nothing is lost.
local H = require("helper")
local dgram, prun, run_until, send_all = H.dgram, H.prun, H.wait, H.send_all

-- The loop must be idle after each test: nothing referenced left behind.
local function assert_idle()
  local more
  for _ = 1, 20 do
    more = dgram.run("nowait")
    if not more then break end
  end
  assert.is_false(more)
end

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
    assert.is_truthy(r[2]:find("loop_errors_spec.lua", tb, true), "the callback's frame: " .. r[2])
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

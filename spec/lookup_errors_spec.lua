-- An error raised inside a `lookup` function is a program error, not a failed
-- resolution: it comes out of the call that ran lookup at once (bind, or send/connect
-- on a bound socket) or out of dgram.run() (sends that waited for the bind), as the same
-- value; it is never the operation's err, and the socket stays usable.
local H = require("helper")
local dgram = H.dgram
local run_until, quiet = H.run_until, H.quiet

local LO4 = "127.0.0.1"

-- A lookup that raises `boom` for "raise.test" and answers anything else with 127.0.0.1.
local function raising_lookup(boom, calls)
  return function(host, family, cb)
    calls[#calls + 1] = host
    if host == "raise.test" then error(boom) end
    cb(nil, LO4, family)
  end
end

-- pcall(dgram.run), stopped by an error after `ms` if nothing else stops it.
local function pcall_run(ms)
  local deadline = dgram.setTimeout(ms * H.scale, function() error("the loop did not stop") end)
  local ok, err = pcall(dgram.run)
  dgram.clearTimeout(deadline)
  return ok, err
end

local function listen_until(c)
  local listening = false
  c:on("listening", function() listening = true end)
  run_until(2000, function() return listening end)
  assert.is_true(listening)
end

describe("an error raised inside lookup", function()
  after_each(H.cleanup)

  it("comes out of send() on a bound socket, as the same value; no callback runs",
    function()
      local _, port, got = H.listener("udp4")
      local boom, calls = { code = "BOOM" }, {}
      local c = H.socket({ type = "udp4", lookup = raising_lookup(boom, calls) })
      c:bind(0, LO4)
      listen_until(c)
      local cbs, errors = 0, {}
      c:on("error", function(err) errors[#errors + 1] = err end)
      local ok, err = pcall(c.send, c, "x", port, "raise.test", function() cbs = cbs + 1 end)
      assert.is_false(ok)
      assert.equals(boom, err)
      assert.equals(0, c:getSendQueueCount())
      -- the socket stays usable
      local res
      c:send("after", port, "fine.test", function(e, n) res = { e, n } end)
      run_until(2000, function() return res ~= nil and #got > 0 end)
      quiet(20)
      assert.same({ nil, 5 }, res)
      assert.same({ "after" }, H.texts(got))
      assert.equals(0, cbs)
      assert.same({}, errors)
    end)

  it("comes out of dgram.run() for a send that waited for the bind; the later sends go on",
    function()
      local _, port, got = H.listener("udp4")
      local boom, calls = { code = "BOOM" }, {}
      local c = H.socket({ type = "udp4", lookup = raising_lookup(boom, calls) })
      local cbs, errors = {}, {}
      c:on("error", function(err) errors[#errors + 1] = err end)
      c:send("1", port, LO4, function(e) cbs[#cbs + 1] = "1 " .. tostring(e) end)
      c:send("2", port, "raise.test", function(e) cbs[#cbs + 1] = "2 " .. tostring(e) end)
      c:send("3", port, "fine.test", function(e) cbs[#cbs + 1] = "3 " .. tostring(e) end)
      local ok, err = pcall_run(3000)
      assert.is_false(ok)
      assert.equals(boom, err)
      run_until(2000, function() return #got >= 2 and #cbs >= 2 end)
      quiet(20)
      assert.same({ "1", "3" }, H.texts(got))
      assert.same({ "1 nil", "3 nil" }, cbs)
      assert.same({}, errors)
      assert.equals(0, c:getSendQueueCount())
    end)

  it("a string error keeps its message and comes out of dgram.run(), not to the callback",
    function()
      local c = H.socket({
        type = "udp4",
        lookup = function(host, family, cb)
          if host == "raise.test" then error("lookup exploded") end
          cb(nil, LO4, family)
        end,
      })
      local got = {}
      c:on("error", function(e) got[#got + 1] = "error " .. tostring(e) end)
      c:send("x", 9, "raise.test", function(e) got[#got + 1] = "callback " .. tostring(e) end)
      local ok, err = pcall_run(3000)
      assert.is_false(ok)
      assert.equals("string", type(err))
      assert.truthy(err:find("lookup exploded", 1, true), err)
      quiet(20)
      assert.same({}, got)
    end)

  it("comes out of bind(); the socket stays unbound and can bind again", function()
    local boom, calls = { code = "BOOM" }, {}
    local c = H.socket({ type = "udp4", lookup = raising_lookup(boom, calls) })
    local events = {}
    c:on("error", function(err) events[#events + 1] = "error " .. tostring(err.code) end)
    local ok, err = pcall(c.bind, c, 0, "raise.test")
    assert.is_false(ok)
    assert.equals(boom, err)
    quiet(20)
    assert.same({}, events)
    c:bind(0, "fine.test", function() events[#events + 1] = "listening" end)
    run_until(2000, function() return #events > 0 end)
    assert.same({ "listening" }, events)
    assert.equals(LO4, c:address().address)
  end)

  it("comes out of the send() whose implicit bind ran it; the socket can send again",
    function()
      local _, port, got = H.listener("udp4")
      local boom = { code = "BOOM" }
      local raise = true
      local c = H.socket({
        type = "udp4",
        lookup = function(_, family, cb)
          if raise then error(boom) end
          cb(nil, "0.0.0.0", family)
        end,
      })
      local cbs = 0
      local ok, err = pcall(c.send, c, "x", port, LO4, function() cbs = cbs + 1 end)
      assert.is_false(ok)
      assert.equals(boom, err)
      assert.equals(0, c:getSendQueueCount())
      raise = false
      local res
      c:send("y", port, LO4, function(e, n) res = { e, n } end)
      run_until(2000, function() return res ~= nil and #got > 0 end)
      quiet(20)
      assert.same({ nil, 1 }, res)
      assert.same({ "y" }, H.texts(got))
      assert.equals(0, cbs)
    end)

  it("comes out of connect() on a bound socket; the socket stays unconnected and usable",
    function()
      local _, port, got = H.listener("udp4")
      local boom, calls = { code = "BOOM" }, {}
      local c = H.socket({ type = "udp4", lookup = raising_lookup(boom, calls) })
      c:bind(0, LO4)
      listen_until(c)
      local cbs = 0
      local ok, err = pcall(c.connect, c, port, "raise.test", function() cbs = cbs + 1 end)
      assert.is_false(ok)
      assert.equals(boom, err)
      H.raises("ERR_SOCKET_DGRAM_NOT_CONNECTED", c.remoteAddress, c)
      local connected = false
      c:connect(port, "fine.test", function(e)
        assert.is_nil(e)
        connected = true
      end)
      run_until(2000, function() return connected end)
      c:send("connected")
      run_until(2000, function() return #got > 0 end)
      quiet(20)
      assert.same({ "connected" }, H.texts(got))
      assert.equals(0, cbs)
    end)

  it("raised after the lookup answered, the answer is ignored", function()
    local _, port, got = H.listener("udp4")
    local boom = { code = "BOOM" }
    local c = H.socket({
      type = "udp4",
      lookup = function(host, family, cb)
        cb(nil, LO4, family)
        if host == "raise.test" then error(boom) end
      end,
    })
    c:bind(0, LO4)
    listen_until(c)
    local cbs = 0
    local ok, err = pcall(c.send, c, "x", port, "raise.test", function() cbs = cbs + 1 end)
    assert.is_false(ok)
    assert.equals(boom, err)
    quiet(50)
    assert.equals(0, cbs)
    assert.same({}, H.texts(got))
  end)
end)

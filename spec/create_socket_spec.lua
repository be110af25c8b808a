-- dgram.createSocket: types, options and the message callback.
local H = require("helper")
local bind_and_listen, raises, run_until, dgram = H.bind_and_listen, H.raises, H.run_until, H.dgram

local LO4 = "127.0.0.1"

describe("dgram.createSocket", function()
  after_each(H.cleanup)

  it('creates a udp4 socket from "udp4"', function()
    local a = bind_and_listen(H.socket("udp4"), 0, "127.0.0.1")
    assert.equals("IPv4", a.family)
    assert.equals("127.0.0.1", a.address)
  end)

  it('creates a udp6 socket from "udp6"', function()
    local a = bind_and_listen(H.socket("udp6"), 0, "::1")
    assert.equals("IPv6", a.family)
    assert.equals("::1", a.address)
  end)

  it("accepts an options table with type udp4", function()
    local a = bind_and_listen(H.socket({ type = "udp4" }), 0, "127.0.0.1")
    assert.equals("IPv4", a.family)
  end)

  it("accepts an options table with type udp6", function()
    local a = bind_and_listen(H.socket({ type = "udp6" }), 0, "::1")
    assert.equals("IPv6", a.family)
  end)

  it("returns a socket that has the socket methods", function()
    local s = H.socket("udp4")
    for _, name in ipairs({ "bind", "send", "close", "address", "on", "once", "off", "emit",
      "ref", "unref", "setBroadcast", "setTTL" }) do
      assert.equals("function", type(s[name]), name)
    end
  end)

  it("adds the callback as a 'message' listener", function()
    local got = {}
    local function onmsg(msg, rinfo) got[#got + 1] = { msg, rinfo } end
    local s = H.socket("udp4", onmsg)
    assert.equals(1, s:listenerCount("message"))
    assert.equals(onmsg, s:listeners("message")[1])
    s:bind(0, "127.0.0.1")
    s:on("message", function() s:close() end)
    local client = H.socket("udp4")
    s:on("listening", function()
      client:send("hello", s:address().port, "127.0.0.1", function() client:close() end)
    end)
    H.run(2000)
    assert.equals(1, #got)
    assert.equals("hello", got[1][1])
    assert.equals("127.0.0.1", got[1][2].address)
  end)

  it("adds the callback as a 'message' listener with the options form too", function()
    local function onmsg() end
    local s = H.socket({ type = "udp6" }, onmsg)
    assert.equals(1, s:listenerCount("message"))
    assert.equals(onmsg, s:listeners("message")[1])
  end)

  it("adds no 'message' listener when there is no callback", function()
    local s = H.socket("udp4")
    assert.equals(0, s:listenerCount("message"))
  end)

  it("lets two reuseAddr sockets bind the same port", function()
    local a = H.socket({ type = "udp4", reuseAddr = true })
    local b = H.socket({ type = "udp4", reuseAddr = true })
    local events = {}
    a:on("error", function(err) events[#events + 1] = "a error " .. err.code end)
    b:on("error", function(err) events[#events + 1] = "b error " .. err.code end)
    a:bind(0, "127.0.0.1", function()
      events[#events + 1] = "a listening"
      b:bind(a:address().port, "127.0.0.1", function()
        events[#events + 1] = "b listening"
        assert.equals(a:address().port, b:address().port)
        a:close()
        b:close()
      end)
    end)
    H.run(2000)
    assert.same({ "a listening", "b listening" }, events)
  end)

  it("accepts positive recvBufferSize and sendBufferSize and applies them on bind", function()
    local s = H.socket({ type = "udp4", recvBufferSize = 65536, sendBufferSize = 65536 })
    local recv, send
    s:bind(0, "127.0.0.1", function()
      recv, send = s:getRecvBufferSize(), s:getSendBufferSize()
      s:close()
    end)
    H.run(2000)
    assert.equals("integer", math.type(recv))
    assert.equals("integer", math.type(send))
    assert.is_true(recv >= 65536, "recv buffer " .. tostring(recv))
    assert.is_true(send >= 65536, "send buffer " .. tostring(send))
  end)

  it("accepts a lookup function", function()
    local s = H.socket({ type = "udp4", lookup = function(_, _, cb) cb(nil, "127.0.0.1", 4) end })
    assert.is_not_nil(s)
  end)
end)

describe("dgram.createSocket (Node's test-dgram-* cases)", function()
  after_each(H.cleanup)

  -- createSocket -----------------------------------------------------------------------
  it("test-dgram-createSocket-type: bad types raise ERR_SOCKET_BAD_TYPE; buffer-size "
    .. "options are applied", function()
      for _, bad in ipairs({ "test", { "udp4" }, 1, {}, true, false }) do
        local err = raises("ERR_SOCKET_BAD_TYPE", dgram.createSocket, bad)
        assert.equals("Bad socket type specified. Valid types are: udp4, udp6", err.message)
      end
      raises("ERR_SOCKET_BAD_TYPE", dgram.createSocket)
      for _, good in ipairs({ "udp4", "udp6", { type = "udp4" }, { type = "udp6" } }) do
        local s = H.socket(good)
        s:close()
      end
      local s = H.socket({ type = "udp4", recvBufferSize = 10000, sendBufferSize = 15000 })
      local rcv, snd
      s:bind(0, LO4, function() rcv, snd = s:getRecvBufferSize(), s:getSendBufferSize() end)
      assert.is_true(run_until(2000, function() return rcv ~= nil end))
      assert.is_true(rcv == 10000 or rcv == 20000, "SO_RCVBUF was " .. tostring(rcv))
      assert.is_true(snd == 15000 or snd == 30000, "SO_SNDBUF was " .. tostring(snd))
    end)
end)

-- connect/disconnect/remoteAddress: events and callbacks, default and resolved
-- addresses, sends on a connected socket, state and argument errors, ECONNREFUSED.
local H = require("helper")
local raises, run_until, quiet, dgram = H.raises, H.run_until, H.quiet, H.dgram
local listener, texts, free_port = H.listener, H.texts, H.free_port
local connected_client = H.connected_client

local LO4, LO6 = "127.0.0.1", "::1"

describe("connect", function()
  after_each(H.cleanup)

  it("emits 'connect' asynchronously, after 'listening', and calls the callback", function()
    local _, port = listener()
    local c = H.socket("udp4")
    local order = {}
    c:on("listening", function() order[#order + 1] = "listening" end)
    c:on("connect", function(...) order[#order + 1] = "connect/" .. select("#", ...) end)
    c:connect(port, LO4, function(...)
      order[#order + 1] = "callback " .. tostring((...))
    end)
    order[#order + 1] = "returned"
    run_until(2000, function() return #order >= 4 end)
    quiet(30)
    assert.same({ "returned", "listening", "connect/0", "callback nil" }, order)
  end)

  it("accepts connect(port, callback) and connects an already bound socket", function()
    local _, port = listener()
    local c = H.bound("udp4")
    local calls, connects = 0, 0
    c:on("connect", function() connects = connects + 1 end)
    c:connect(port, function() calls = calls + 1 end)
    assert.equals(0, calls)
    run_until(2000, function() return calls > 0 end)
    quiet(30)
    assert.equals(1, calls)
    assert.equals(1, connects)
    assert.equals(port, c:remoteAddress().port)
  end)

  it("remoteAddress() returns { address, family, port } (udp4)", function()
    local _, port = listener("udp4")
    local c = connected_client("udp4", port, LO4)
    local ra = c:remoteAddress()
    assert.same({ address = LO4, family = "IPv4", port = port }, ra)
    assert.equals("integer", math.type(ra.port))
  end)

  it("remoteAddress() returns { address, family, port } (udp6)", function()
    local _, port = listener("udp6")
    local c = connected_client("udp6", port, LO6)
    assert.same({ address = LO6, family = "IPv6", port = port }, c:remoteAddress())
  end)

  it("connect's address defaults to 127.0.0.1 on udp4", function()
    local server, port, got = listener("udp4")
    local c = connected_client("udp4", port)
    assert.same({ address = LO4, family = "IPv4", port = port }, c:remoteAddress())
    c:send("default")
    run_until(2000, function() return #got > 0 end)
    assert.same({ "default" }, texts(got))
    assert.equals(server:address().port, port)
  end)

  it("connect's address defaults to ::1 on udp6", function()
    local _, port, got = listener("udp6")
    local c = connected_client("udp6", port)
    assert.same({ address = LO6, family = "IPv6", port = port }, c:remoteAddress())
    c:send("default6")
    run_until(2000, function() return #got > 0 end)
    assert.same({ "default6" }, texts(got))
  end)

  it("connects to 'localhost' through the built-in resolver", function()
    local _, port = listener("udp4")
    local c = connected_client("udp4", port, "localhost")
    assert.same({ address = LO4, family = "IPv4", port = port }, c:remoteAddress())
  end)

  it("remoteAddress() raises ERR_SOCKET_DGRAM_NOT_CONNECTED until 'connect' (as Node)",
    function()
      local _, port = listener()
      local c = H.bound("udp4")
      local done = false
      c:connect(port, LO4, function() done = true end)
      raises("ERR_SOCKET_DGRAM_NOT_CONNECTED", c.remoteAddress, c)
      run_until(2000, function() return done end)
      assert.equals(port, c:remoteAddress().port)
    end)

  it("send(msg) without port or address reaches the peer", function()
    local _, port, got = listener()
    local c = connected_client("udp4", port, LO4)
    c:send("to the peer")
    run_until(2000, function() return #got > 0 end)
    quiet(30)
    assert.same({ "to the peer" }, texts(got))
    assert.equals(LO4, got[1].rinfo.address)
    assert.equals(c:address().port, got[1].rinfo.port)
  end)

  it("send(msg, cb) calls back later with (nil, bytes)", function()
    local _, port, got = listener()
    local c = connected_client("udp4", port, LO4)
    local res
    c:send("seven!!", function(...) res = table.pack(...) end)
    assert.is_nil(res, "the send callback ran inside send")
    run_until(2000, function() return res ~= nil and #got > 0 end)
    assert.is_nil(res[1])
    assert.equals(7, res[2])
    assert.equals("integer", math.type(res[2]))
    assert.same({ "seven!!" }, texts(got))
  end)

  it("sends an array of strings and a slice on a connected socket", function()
    local _, port, got = listener()
    local c = connected_client("udp4", port, LO4)
    local n
    c:send({ "con", "nec", "ted" })
    c:send("0123456789", 2, 3, function(_, bytes) n = bytes end)
    run_until(2000, function() return #got >= 2 and n end)
    assert.same({ "connected", "234" }, texts(got))
    assert.equals(3, n)
  end)

  it("send with a port or address raises ERR_SOCKET_DGRAM_IS_CONNECTED; nothing is sent",
    function()
      local _, port, got = listener()
      local c = connected_client("udp4", port, LO4)
      local cb = function() error("this callback must not run") end
      raises("ERR_SOCKET_DGRAM_IS_CONNECTED", c.send, c, "x", port)
      raises("ERR_SOCKET_DGRAM_IS_CONNECTED", c.send, c, "x", port, LO4)
      raises("ERR_SOCKET_DGRAM_IS_CONNECTED", c.send, c, "x", port, LO4, cb)
      raises("ERR_SOCKET_DGRAM_IS_CONNECTED", c.send, c, "x", 0, 1, port)
      raises("ERR_SOCKET_DGRAM_IS_CONNECTED", c.send, c, "x", 0, 1, port, LO4, cb)
      raises("ERR_SOCKET_DGRAM_IS_CONNECTED", c.send, c, { "x" }, port, LO4)
      quiet(50)
      assert.same({}, texts(got))
      c:send("still fine")
      run_until(2000, function() return #got > 0 end)
      assert.same({ "still fine" }, texts(got))
    end)

  it("a second connect raises ERR_SOCKET_DGRAM_IS_CONNECTED, while and after connecting",
    function()
      local _, port = listener()
      local _, other = listener()
      local c = H.bound("udp4")
      local done = false
      c:connect(port, LO4, function() done = true end)
      raises("ERR_SOCKET_DGRAM_IS_CONNECTED", c.connect, c, other, LO4)
      run_until(2000, function() return done end)
      raises("ERR_SOCKET_DGRAM_IS_CONNECTED", c.connect, c, other, LO4)
      raises("ERR_SOCKET_DGRAM_IS_CONNECTED", c.connect, c, port)
      assert.equals(port, c:remoteAddress().port)
    end)

  it("disconnect() then remoteAddress() raises ERR_SOCKET_DGRAM_NOT_CONNECTED", function()
    local _, port = listener()
    local c = connected_client("udp4", port, LO4)
    c:disconnect()
    raises("ERR_SOCKET_DGRAM_NOT_CONNECTED", c.remoteAddress, c)
    raises("ERR_SOCKET_DGRAM_NOT_CONNECTED", c.disconnect, c)
  end)

  it("after disconnect(), send needs a port again and reaches any address", function()
    local _, port, got = listener()
    local _, port2, got2 = listener()
    local c = connected_client("udp4", port, LO4)
    c:disconnect()
    raises("ERR_SOCKET_BAD_PORT", c.send, c, "no port")
    c:send("elsewhere", port2, LO4)
    run_until(2000, function() return #got2 > 0 end)
    assert.same({ "elsewhere" }, texts(got2))
    -- and it may connect again, to another peer
    local done = false
    c:connect(port, function() done = true end)
    run_until(2000, function() return done end)
    assert.equals(port, c:remoteAddress().port)
    c:send("again")
    run_until(2000, function() return #got > 0 end)
    assert.same({ "again" }, texts(got))
  end)

  it("disconnect() on a socket that is not connected raises ERR_SOCKET_DGRAM_NOT_CONNECTED",
    function()
      local unbound = H.socket("udp4")
      raises("ERR_SOCKET_DGRAM_NOT_CONNECTED", unbound.disconnect, unbound)
      raises("ERR_SOCKET_DGRAM_NOT_CONNECTED", unbound.remoteAddress, unbound)
      local bound = H.bound("udp6")
      raises("ERR_SOCKET_DGRAM_NOT_CONNECTED", bound.disconnect, bound)
      raises("ERR_SOCKET_DGRAM_NOT_CONNECTED", bound.remoteAddress, bound)
    end)

  for _, bad in ipairs({ 0, 65536, -1, 1.5, "x", "", " ", true, {} }) do
    it(("connect(%s) (%s) raises ERR_SOCKET_BAD_PORT"):format(tostring(bad), type(bad)),
      function()
        local c = H.socket("udp4")
        raises("ERR_SOCKET_BAD_PORT", c.connect, c, bad, LO4)
        raises("ERR_SOCKET_BAD_PORT", c.connect, c, bad)
        raises("ERR_SOCKET_DGRAM_NOT_CONNECTED", c.remoteAddress, c)
      end)
  end

  it("connect() without a port raises ERR_SOCKET_BAD_PORT", function()
    local c = H.socket("udp4")
    raises("ERR_SOCKET_BAD_PORT", c.connect, c)
    raises("ERR_SOCKET_BAD_PORT", c.connect, c, nil, LO4, function() end)
  end)

  it("a bad port leaves the socket usable: a good connect follows", function()
    local _, port = listener()
    local c = H.socket("udp4")
    raises("ERR_SOCKET_BAD_PORT", c.connect, c, 65536, LO4)
    local done = false
    c:connect(port, LO4, function(err)
      assert.is_nil(err)
      done = true
    end)
    run_until(2000, function() return done end)
    assert.equals(port, c:remoteAddress().port)
  end)

  it("accepts a numeric string port (as Node's validatePort)", function()
    local _, port = listener()
    local c = connected_client("udp4", tostring(port), LO4)
    assert.equals(port, c:remoteAddress().port)
  end)

  it("a non-string address raises ERR_INVALID_ARG_TYPE", function()
    local c = H.socket("udp4")
    raises("ERR_INVALID_ARG_TYPE", c.connect, c, 1234, 127001)
    raises("ERR_INVALID_ARG_TYPE", c.connect, c, 1234, true)
    raises("ERR_INVALID_ARG_TYPE", c.connect, c, 1234, {})
    raises("ERR_SOCKET_DGRAM_NOT_CONNECTED", c.remoteAddress, c)
  end)

  it("a connected socket receives from its peer only", function()
    local server, port = listener()
    local stranger = H.bound("udp4")
    local c = connected_client("udp4", port, LO4)
    local got = {}
    c:on("message", function(msg, rinfo) got[#got + 1] = { msg = msg, rinfo = rinfo } end)
    local cport = c:address().port
    stranger:send("from a stranger", cport, LO4)
    server:send("from the peer", cport, LO4)
    run_until(2000, function() return #got > 0 end)
    quiet(100)
    assert.same({ "from the peer" }, texts(got))
    assert.equals(port, got[1].rinfo.port)
  end)

  it("ECONNREFUSED from a closed port surfaces, and the socket keeps working", function()
    local dead = free_port()
    local c = H.socket("udp4")
    local errors, send_errors, sends = {}, {}, 0
    c:on("error", function(err) errors[#errors + 1] = err end)
    local connected = false
    c:connect(dead, LO4, function() connected = true end)
    run_until(2000, function() return connected end)
    assert.is_true(connected)
    local function refused()
      for _, e in ipairs(errors) do if e.code == "ECONNREFUSED" then return true end end
      for _, e in ipairs(send_errors) do if e.code == "ECONNREFUSED" then return true end end
      return false
    end
    local ticker = dgram.setInterval(20, function()
      if sends < 20 and not refused() then
        sends = sends + 1
        c:send("anyone there?", function(err)
          if err then send_errors[#send_errors + 1] = err end
        end)
      end
    end)
    run_until(3000, refused)
    dgram.clearInterval(ticker)
    assert.is_true(refused(), "no ECONNREFUSED after " .. sends .. " sends")
    for _, e in ipairs(errors) do
      assert.equals("ECONNREFUSED", e.code)
      assert.equals("recvmsg", e.syscall)
    end
    for _, e in ipairs(send_errors) do assert.equals("ECONNREFUSED", e.code) end
    -- still connected, and still working
    assert.equals(dead, c:remoteAddress().port)
    c:disconnect()
    raises("ERR_SOCKET_DGRAM_NOT_CONNECTED", c.remoteAddress, c)
    local echo, eport = H.bound("udp4")
    echo:on("message", function(msg, rinfo) echo:send("re: " .. msg, rinfo.port, rinfo.address) end)
    local replies = {}
    c:on("message", function(msg) replies[#replies + 1] = msg end)
    c:send("hello", eport, LO4)
    run_until(2000, function() return #replies > 0 end)
    assert.same({ "re: hello" }, replies)
    local closed = false
    c:close(function() closed = true end)
    run_until(2000, function() return closed end)
    assert.is_true(closed)
  end)

  it("closing before 'connect' completes: no 'connect' and no callback follow (as Node)",
    function()
      local _, port = listener()
      local c = H.bound("udp4")
      local events = {}
      c:on("connect", function() events[#events + 1] = "connect" end)
      c:on("close", function() events[#events + 1] = "close" end)
      c:connect(port, LO4, function(err) events[#events + 1] = "callback " .. tostring(err) end)
      c:close()
      quiet(100)
      assert.same({ "close" }, events)
    end)

  it("closing while connect waits for the implicit bind: no 'connect', no callback "
    .. "(as Node)", function()
    local _, port = listener()
    local c = H.socket("udp4")
    local events = {}
    c:on("connect", function() events[#events + 1] = "connect" end)
    c:on("error", function(err) events[#events + 1] = "error " .. tostring(err.code) end)
    c:on("close", function() events[#events + 1] = "close" end)
    c:connect(port, LO4, function(err)
      events[#events + 1] = "callback " .. tostring(err and err.code)
    end)
    c:close()
    quiet(100)
    assert.same({ "close" }, events)
  end)

  it("a udp6 socket connecting to an IPv4 address fails with EINVAL, unconnected", function()
    local _, port = listener("udp4")
    local c = H.socket("udp6")
    local res
    c:connect(port, LO4, function(err) res = err or "ok" end)
    run_until(2000, function() return res ~= nil end)
    assert.equals("table", type(res))
    assert.equals("EINVAL", res.code)
    assert.equals("connect", res.syscall)
    raises("ERR_SOCKET_DGRAM_NOT_CONNECTED", c.remoteAddress, c)
  end)

  it("connect, disconnect and remoteAddress on a closed socket raise NOT_RUNNING", function()
    local c = H.socket("udp4")
    c:close()
    raises("ERR_SOCKET_DGRAM_NOT_RUNNING", c.connect, c, 1234, LO4)
    raises("ERR_SOCKET_DGRAM_NOT_RUNNING", c.disconnect, c)
    raises("ERR_SOCKET_DGRAM_NOT_RUNNING", c.remoteAddress, c)
  end)
end)

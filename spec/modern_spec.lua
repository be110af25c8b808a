-- Modern Node parity: connected sockets, buffer sizes and the send queue, the later
-- createSocket options (lookup, reusePort, ipv6Only, receiveBlockList, sendBlockList),
-- an array of strings as one datagram, and IPv6 scopes.
-- All traffic goes to 127.0.0.1 / ::1 / localhost (the link-local round trip runs in a
-- private network namespace of its own); every wait is bounded.
local H = require("helper")
local raises, run_until, quiet = H.raises, H.run_until, H.quiet
local dgram = H.dgram

local LO4, LO6 = "127.0.0.1", "::1"

-- A socket bound to loopback that records what it receives as { msg =, rinfo = }.
local function listener(kind, opts)
  local s, port = H.bound(kind or "udp4", opts)
  local got = {}
  s:on("message", function(msg, rinfo) got[#got + 1] = { msg = msg, rinfo = rinfo } end)
  return s, port, got
end

local function texts(got)
  local t = {}
  for i, m in ipairs(got) do t[i] = m.msg end
  return t
end

-- A port that was free a moment ago (bound on loopback, then closed).
local function free_port(kind)
  local s, port = H.bound(kind or "udp4")
  s:close()
  return port
end

-- Binds `s` and runs the loop until 'listening' (returns nil) or 'error' (returns it).
local function bind_wait(s, port, address)
  local listening, failure = false, nil
  local function onerror(err) failure = err end
  s:on("error", onerror)
  s:bind(port, address, function() listening = true end)
  run_until(2000, function() return listening or failure ~= nil end)
  s:off("error", onerror)
  assert.is_true(listening or failure ~= nil, "neither 'listening' nor 'error'")
  return failure
end

-- Connects a fresh socket to `port` (`address` may be nil) and runs the loop until the
-- connect callback; returns the socket.
local function connected_client(kind, port, address)
  local c = H.socket(kind or "udp4")
  local done, failure = false, nil
  c:connect(port, address, function(err)
    done, failure = true, err
  end)
  run_until(2000, function() return done end)
  assert.is_true(done, "the connect callback did not run")
  assert.is_nil(failure)
  return c
end

-- A `lookup` option for tests: "example.test" is loopback (127.0.0.1 or ::1 by family),
-- any other name is handed back as it is (IP literals stay literals). Each call is
-- recorded in `calls`; with `delay`, the answer comes from a timer instead of at once.
local function fake_lookup(calls, delay)
  return function(host, family, cb)
    calls[#calls + 1] = { host = host, family = family, cb = type(cb) }
    local ip = host
    if host == "example.test" then ip = family == 6 and LO6 or LO4 end
    if delay then
      dgram.setTimeout(delay, function() cb(nil, ip, family) end)
    else
      cb(nil, ip, family)
    end
  end
end

local function find_call(calls, host)
  for _, c in ipairs(calls) do
    if c.host == host then return c end
  end
  return nil
end

-- ===================================================================================
describe("modern: connect", function()
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

-- ===================================================================================
describe("modern: buffer sizes and the send queue", function()
  after_each(H.cleanup)

  it("the buffer-size calls raise ERR_SOCKET_BUFFER_SIZE on an unbound socket", function()
    for _, kind in ipairs({ "udp4", "udp6" }) do
      local s = H.socket(kind)
      raises("ERR_SOCKET_BUFFER_SIZE", s.getRecvBufferSize, s)
      raises("ERR_SOCKET_BUFFER_SIZE", s.getSendBufferSize, s)
      raises("ERR_SOCKET_BUFFER_SIZE", s.setRecvBufferSize, s, 8192)
      raises("ERR_SOCKET_BUFFER_SIZE", s.setSendBufferSize, s, 8192)
    end
  end)

  it("setRecvBufferSize(n) then getRecvBufferSize() is 2*n (Linux doubles it)", function()
    local s = H.bound("udp4")
    s:setRecvBufferSize(8192)
    local size = s:getRecvBufferSize()
    assert.equals(16384, size)
    assert.equals("integer", math.type(size))
    s:setRecvBufferSize(12288)
    assert.equals(24576, s:getRecvBufferSize())
  end)

  it("setSendBufferSize(n) then getSendBufferSize() is 2*n (Linux doubles it)", function()
    local s = H.bound("udp6")
    s:setSendBufferSize(8192)
    local size = s:getSendBufferSize()
    assert.equals(16384, size)
    assert.equals("integer", math.type(size))
  end)

  it("the getters report positive integers on a bound socket", function()
    local s = H.bound("udp4")
    local r, w = s:getRecvBufferSize(), s:getSendBufferSize()
    assert.equals("integer", math.type(r))
    assert.equals("integer", math.type(w))
    assert.is_true(r > 0 and w > 0)
  end)

  for _, bad in ipairs({ -1, "x", 1.5, true, {} }) do
    it(("set*BufferSize(%s) (%s) raises ERR_SOCKET_BAD_BUFFER_SIZE"):format(
      tostring(bad), type(bad)), function()
      local bound = H.bound("udp4")
      raises("ERR_SOCKET_BAD_BUFFER_SIZE", bound.setRecvBufferSize, bound, bad)
      raises("ERR_SOCKET_BAD_BUFFER_SIZE", bound.setSendBufferSize, bound, bad)
      -- the argument is checked before the socket's state, as in Node
      local unbound = H.socket("udp4")
      raises("ERR_SOCKET_BAD_BUFFER_SIZE", unbound.setRecvBufferSize, unbound, bad)
      raises("ERR_SOCKET_BAD_BUFFER_SIZE", unbound.setSendBufferSize, unbound, bad)
    end)
  end

  it("set*BufferSize() with no size raises ERR_SOCKET_BAD_BUFFER_SIZE", function()
    local s = H.bound("udp4")
    raises("ERR_SOCKET_BAD_BUFFER_SIZE", s.setRecvBufferSize, s)
    raises("ERR_SOCKET_BAD_BUFFER_SIZE", s.setSendBufferSize, s)
  end)

  it("createSocket{recvBufferSize=16384} is applied at bind", function()
    local s = H.socket({ type = "udp4", recvBufferSize = 16384 })
    raises("ERR_SOCKET_BUFFER_SIZE", s.getRecvBufferSize, s)
    s:bind(0, LO4)
    local size
    s:on("listening", function() size = s:getRecvBufferSize() end)
    run_until(2000, function() return size ~= nil end)
    assert.equals(32768, size)
  end)

  it("createSocket{sendBufferSize=16384} is applied at bind (udp6)", function()
    local s = H.socket({ type = "udp6", sendBufferSize = 16384 })
    s:bind(0, LO6)
    local size
    s:on("listening", function() size = s:getSendBufferSize() end)
    run_until(2000, function() return size ~= nil end)
    assert.equals(32768, size)
  end)

  it("the size options apply to an implicit bind too", function()
    local _, port, got = listener()
    local s = H.socket({ type = "udp4", recvBufferSize = 16384, sendBufferSize = 16384 })
    local sizes
    s:on("listening", function() sizes = { s:getRecvBufferSize(), s:getSendBufferSize() } end)
    s:send("implicit", port, LO4)
    run_until(2000, function() return sizes ~= nil and #got > 0 end)
    assert.same({ 32768, 32768 }, sizes)
  end)

  it("size options that are not numbers raise ERR_INVALID_ARG_TYPE; negative ones "
    .. "ERR_OUT_OF_RANGE", function()
    for _, name in ipairs({ "recvBufferSize", "sendBufferSize" }) do
      raises("ERR_INVALID_ARG_TYPE", dgram.createSocket, { type = "udp4", [name] = "x" })
      raises("ERR_INVALID_ARG_TYPE", dgram.createSocket, { type = "udp4", [name] = true })
      raises("ERR_OUT_OF_RANGE", dgram.createSocket, { type = "udp4", [name] = -1 })
    end
  end)

  it("getSendQueueSize() and getSendQueueCount() are integers, 0 when idle", function()
    local unbound = H.socket("udp4")
    for _, s in ipairs({ unbound, (H.bound("udp4")), (H.bound("udp6")) }) do
      local size, count = s:getSendQueueSize(), s:getSendQueueCount()
      assert.equals("integer", math.type(size))
      assert.equals("integer", math.type(count))
      assert.equals(0, size)
      assert.equals(0, count)
    end
  end)

  it("the send queue is empty again once the send callbacks have run", function()
    local _, port, got = listener()
    local c = H.bound("udp4")
    local done = 0
    for i = 1, 10 do
      c:send(("q"):rep(i), port, LO4, function(err)
        assert.is_nil(err)
        done = done + 1
      end)
    end
    run_until(2000, function() return done == 10 and #got == 10 end)
    assert.equals(10, done)
    assert.equals(0, c:getSendQueueSize())
    assert.equals(0, c:getSendQueueCount())
  end)

  it("the buffer-size and queue calls raise ERR_SOCKET_DGRAM_NOT_RUNNING when closed",
    function()
      local s = H.bound("udp4")
      s:close()
      raises("ERR_SOCKET_DGRAM_NOT_RUNNING", s.getRecvBufferSize, s)
      raises("ERR_SOCKET_DGRAM_NOT_RUNNING", s.getSendBufferSize, s)
      raises("ERR_SOCKET_DGRAM_NOT_RUNNING", s.setRecvBufferSize, s, 8192)
      raises("ERR_SOCKET_DGRAM_NOT_RUNNING", s.setSendBufferSize, s, 8192)
      raises("ERR_SOCKET_DGRAM_NOT_RUNNING", s.getSendQueueSize, s)
      raises("ERR_SOCKET_DGRAM_NOT_RUNNING", s.getSendQueueCount, s)
    end)
end)

-- ===================================================================================
describe("modern: the lookup option", function()
  after_each(H.cleanup)

  it("bind resolves through lookup(host, 4, cb) and binds the address it gives", function()
    local calls = {}
    local s = H.socket({ type = "udp4", lookup = fake_lookup(calls) })
    local bound
    s:bind(0, "example.test", function() bound = s:address() end)
    run_until(2000, function() return bound ~= nil end)
    assert.equals(LO4, bound.address)
    assert.same({ { host = "example.test", family = 4, cb = "function" } }, calls)
  end)

  it("send resolves through lookup(host, 4, cb) and sends to the address it gives",
    function()
      local _, port, got = listener("udp4")
      local calls = {}
      local c = H.socket({ type = "udp4", lookup = fake_lookup(calls) })
      local res
      c:send("via lookup", port, "example.test", function(err, n) res = { err, n } end)
      run_until(2000, function() return res ~= nil and #got > 0 end)
      assert.same({ nil, 10 }, res)
      assert.same({ "via lookup" }, texts(got))
      assert.same({ host = "example.test", family = 4, cb = "function" },
        find_call(calls, "example.test"))
      for _, call in ipairs(calls) do
        assert.equals(4, call.family)
        assert.equals("function", call.cb)
      end
    end)

  it("connect resolves through lookup(host, 4, cb)", function()
    local _, port, got = listener("udp4")
    local calls = {}
    local c = H.socket({ type = "udp4", lookup = fake_lookup(calls) })
    local done = false
    c:connect(port, "example.test", function(err)
      assert.is_nil(err)
      done = true
    end)
    run_until(2000, function() return done end)
    assert.same({ address = LO4, family = "IPv4", port = port }, c:remoteAddress())
    assert.same({ host = "example.test", family = 4, cb = "function" },
      find_call(calls, "example.test"))
    c:send("connected via lookup")
    run_until(2000, function() return #got > 0 end)
    assert.same({ "connected via lookup" }, texts(got))
  end)

  it("a udp6 socket's lookup gets family 6", function()
    local _, port, got = listener("udp6")
    local calls = {}
    local c = H.socket({ type = "udp6", lookup = fake_lookup(calls) })
    c:bind(0, "example.test")
    c:send("six", port, "example.test")
    run_until(2000, function() return #got > 0 end)
    assert.same({ "six" }, texts(got))
    assert.equals(LO6, got[1].rinfo.address)
    assert.is_true(#calls >= 2)
    for _, call in ipairs(calls) do
      assert.equals(6, call.family)
      assert.equals("example.test", call.host)
    end
  end)

  it("a custom lookup sees IP literals too, as Node's does", function()
    local _, port, got = listener("udp4")
    local calls = {}
    local c = H.socket({ type = "udp4", lookup = fake_lookup(calls) })
    c:bind(0, LO4)
    c:send("literal", port, LO4)
    run_until(2000, function() return #got > 0 end)
    assert.same({ { host = LO4, family = 4, cb = "function" },
      { host = LO4, family = 4, cb = "function" } }, calls)
  end)

  it("an answer given later (from a timer) works for bind, connect and send", function()
    local _, port, got = listener("udp4")
    local calls = {}
    local c = H.socket({ type = "udp4", lookup = fake_lookup(calls, 20) })
    local steps = {}
    c:bind(0, "example.test", function()
      steps[#steps + 1] = "listening " .. c:address().address
      c:connect(port, "example.test", function(err)
        steps[#steps + 1] = "connect " .. tostring(err)
        c:send("later", function(e) steps[#steps + 1] = "sent " .. tostring(e) end)
      end)
    end)
    run_until(3000, function() return #steps >= 3 and #got > 0 end)
    assert.same({ "listening 127.0.0.1", "connect nil", "sent nil" }, steps)
    assert.same({ "later" }, texts(got))
  end)

  it("an answer given at once still calls the send callback later", function()
    local _, port, got = listener("udp4")
    local c = H.socket({ type = "udp4", lookup = fake_lookup({}) })
    assert.is_nil(bind_wait(c, 0, LO4))
    local res
    c:send("sync", port, "example.test", function(err, n) res = { err, n } end)
    assert.is_nil(res, "the send callback ran inside send")
    run_until(2000, function() return res ~= nil and #got > 0 end)
    assert.same({ nil, 4 }, res)
  end)

  it("an error from lookup goes to the send callback, as it is", function()
    local _, port, got = listener("udp4")
    local nf = dgram.core.error("ENOTFOUND", "getaddrinfo ENOTFOUND nowhere.test")
    local c = H.socket({
      type = "udp4",
      lookup = function(host, family, cb)
        if host == "nowhere.test" then cb(nf) else cb(nil, host, family) end
      end,
    })
    local errors = {}
    c:on("error", function(err) errors[#errors + 1] = err end)
    local res
    c:send("lost", port, "nowhere.test", function(...) res = table.pack(...) end)
    assert.is_nil(res)
    run_until(2000, function() return res ~= nil end)
    quiet(50)
    assert.equals(nf, res[1])
    assert.equals("ENOTFOUND", res[1].code)
    assert.same({}, errors)
    assert.same({}, got)
  end)

  it("an error from lookup without a send callback is emitted as 'error'", function()
    local nf = dgram.core.error("ENOTFOUND", "getaddrinfo ENOTFOUND nowhere.test")
    local c = H.socket({
      type = "udp4",
      lookup = function(host, family, cb)
        if host == "nowhere.test" then
          dgram.setTimeout(5, function() cb(nf) end)
        else
          cb(nil, host, family)
        end
      end,
    })
    local errors = {}
    c:on("error", function(err) errors[#errors + 1] = err end)
    c:send("lost", 9, "nowhere.test")
    run_until(2000, function() return #errors > 0 end)
    quiet(30)
    assert.equals(1, #errors)
    assert.equals(nf, errors[1])
  end)

  it("an error from lookup fails connect (to its callback); the socket stays unconnected",
    function()
      local _, port = listener("udp4")
      local fail = true
      local nf = dgram.core.error("ENOTFOUND", "getaddrinfo ENOTFOUND nowhere.test")
      local c = H.socket({
        type = "udp4",
        lookup = function(host, family, cb)
          if host == "nowhere.test" and fail then cb(nf) else cb(nil, LO4, family) end
        end,
      })
      local events = {}
      c:on("connect", function() events[#events + 1] = "connect" end)
      c:on("error", function(err) events[#events + 1] = "error " .. tostring(err.code) end)
      local res
      c:connect(port, "nowhere.test", function(...) res = table.pack(...) end)
      run_until(2000, function() return res ~= nil end)
      quiet(30)
      assert.equals(nf, res[1])
      assert.same({}, events)
      raises("ERR_SOCKET_DGRAM_NOT_CONNECTED", c.remoteAddress, c)
      fail = false
      local done = false
      c:connect(port, "nowhere.test", function(err)
        assert.is_nil(err)
        done = true
      end)
      run_until(2000, function() return done end)
      assert.equals(port, c:remoteAddress().port)
    end)

  it("an error from lookup fails connect as 'error' when there is no callback", function()
    local nf = dgram.core.error("ENOTFOUND", "getaddrinfo ENOTFOUND nowhere.test")
    local c = H.socket({
      type = "udp4",
      lookup = function(host, family, cb)
        if host == "nowhere.test" then cb(nf) else cb(nil, host, family) end
      end,
    })
    local errors = {}
    c:on("error", function(err) errors[#errors + 1] = err end)
    c:connect(9, "nowhere.test")
    run_until(2000, function() return #errors > 0 end)
    assert.equals(nf, errors[1])
    raises("ERR_SOCKET_DGRAM_NOT_CONNECTED", c.remoteAddress, c)
  end)

  it("a second call of lookup's callback is ignored (sync)", function()
    local _, port, got = listener("udp4")
    local c = H.socket({
      type = "udp4",
      lookup = function(host, family, cb)
        local ip = host == "example.test" and LO4 or host
        cb(nil, ip, family)
        cb(nil, ip, family)
      end,
    })
    local calls, listening = 0, 0
    c:on("listening", function() listening = listening + 1 end)
    c:send("once", port, "example.test", function() calls = calls + 1 end)
    run_until(2000, function() return calls > 0 and #got > 0 end)
    quiet(100)
    assert.equals(1, calls)
    assert.equals(1, listening)
    assert.same({ "once" }, texts(got))
  end)

  it("a second call of lookup's callback is ignored (error first, later answer)", function()
    local _, port, got = listener("udp4")
    local nf = dgram.core.error("ENOTFOUND", "getaddrinfo ENOTFOUND example.test")
    local c = H.socket({
      type = "udp4",
      lookup = function(host, family, cb)
        if host ~= "example.test" then return cb(nil, host, family) end
        cb(nf)
        dgram.setTimeout(10, function() cb(nil, LO4, family) end)
      end,
    })
    local results = {}
    c:send("never", port, "example.test", function(err) results[#results + 1] = err or "ok" end)
    run_until(2000, function() return #results > 0 end)
    quiet(100)
    assert.same({ nf }, results)
    assert.same({}, got)
  end)

  it("an address lookup gives that is not an IP fails the send with a system error",
    function()
      local c = H.socket({
        type = "udp4",
        lookup = function(host, family, cb)
          cb(nil, host == "bogus.test" and "not-an-ip" or host, family)
        end,
      })
      local res
      c:send("x", 9, "bogus.test", function(err) res = err or "ok" end)
      run_until(2000, function() return res ~= nil end)
      assert.equals("table", type(res))
      assert.equals("EINVAL", res.code)
      -- the socket keeps working
      local _, port, got = listener("udp4")
      c:send("fine", port, LO4)
      run_until(2000, function() return #got > 0 end)
      assert.same({ "fine" }, texts(got))
    end)

  for _, bad in ipairs({ "lookup", 42, true, {} }) do
    it(("lookup = %s (%s) raises ERR_INVALID_ARG_TYPE"):format(tostring(bad), type(bad)),
      function()
        raises("ERR_INVALID_ARG_TYPE", dgram.createSocket, { type = "udp4", lookup = bad })
        raises("ERR_INVALID_ARG_TYPE", dgram.createSocket, { type = "udp6", lookup = bad })
      end)
  end
end)

-- ===================================================================================
describe("modern: reusePort", function()
  after_each(H.cleanup)

  it("two reusePort sockets bind the same port; each datagram reaches exactly one",
    function()
      local a = H.socket({ type = "udp4", reusePort = true })
      local b = H.socket({ type = "udp4", reusePort = true })
      local errors, seen, total = {}, {}, 0
      for name, s in pairs({ a = a, b = b }) do
        s:on("error", function(err) errors[#errors + 1] = name .. " " .. tostring(err.code) end)
        s:on("message", function(msg)
          seen[msg] = (seen[msg] or 0) + 1
          total = total + 1
        end)
      end
      assert.is_nil(bind_wait(a, 0, LO4))
      local port = a:address().port
      assert.is_nil(bind_wait(b, port, LO4))
      assert.same({}, errors)
      assert.equals(port, b:address().port)
      -- several senders (several source ports), so that the kernel may spread them
      local expected = {}
      for i = 1, 8 do
        local c = H.socket("udp4")
        for j = 1, 3 do
          local msg = ("c%d-%d"):format(i, j)
          expected[msg] = 1
          c:send(msg, port, LO4)
        end
      end
      run_until(3000, function() return total >= 24 end)
      quiet(100)
      assert.same({}, errors)
      assert.same(expected, seen)
      assert.equals(24, total)
    end)

  it("reusePort works for udp6 too", function()
    local a = H.socket({ type = "udp6", reusePort = true })
    local b = H.socket({ type = "udp6", reusePort = true })
    assert.is_nil(bind_wait(a, 0, LO6))
    assert.is_nil(bind_wait(b, a:address().port, LO6))
    assert.equals(a:address().port, b:address().port)
  end)

  it("without reusePort the second bind gets EADDRINUSE ('error'), and may be retried",
    function()
      local a = H.bound("udp4")
      local port = a:address().port
      local b = H.socket("udp4")
      local errors, listening = {}, 0
      b:on("error", function(err) errors[#errors + 1] = err end)
      b:on("listening", function() listening = listening + 1 end)
      b:bind(port, LO4)
      run_until(2000, function() return #errors > 0 end)
      assert.equals(1, #errors)
      assert.equals("EADDRINUSE", errors[1].code)
      assert.equals("bind", errors[1].syscall)
      assert.equals(0, listening)
      b:bind(0, LO4)
      run_until(2000, function() return listening > 0 end)
      assert.equals(1, listening)
    end)

  it("a reusePort socket does not share with one that did not ask for it", function()
    local a = H.bound("udp4")
    local b = H.socket({ type = "udp4", reusePort = true })
    local errors = {}
    b:on("error", function(err) errors[#errors + 1] = err.code end)
    b:bind(a:address().port, LO4)
    run_until(2000, function() return #errors > 0 end)
    assert.same({ "EADDRINUSE" }, errors)
  end)
end)

-- ===================================================================================
describe("modern: ipv6Only", function()
  after_each(H.cleanup)

  local function bindv6only()
    local f = io.open("/proc/sys/net/ipv6/bindv6only")
    if not f then return nil end
    local v = f:read("l")
    f:close()
    return v
  end

  -- A udp6 socket bound to "::" (all interfaces) recording what it gets.
  local function any6(opts)
    local o = { type = "udp6" }
    for k, v in pairs(opts or {}) do o[k] = v end
    local s = H.socket(o)
    local got = {}
    s:on("message", function(msg, rinfo) got[#got + 1] = { msg = msg, rinfo = rinfo } end)
    assert.is_nil(bind_wait(s, 0, "::"))
    return s, s:address().port, got
  end

  it("an ipv6Only socket on :: does not receive datagrams sent to 127.0.0.1", function()
    local _, port, got = any6({ ipv6Only = true })
    local c4 = H.socket("udp4")
    local sent = false
    c4:send("v4", port, LO4, function() sent = true end)
    run_until(2000, function() return sent end)
    quiet(150)
    assert.same({}, got)
    -- while IPv6 datagrams do arrive
    local c6 = H.socket("udp6")
    c6:send("v6", port, LO6)
    run_until(2000, function() return #got > 0 end)
    assert.same({ "v6" }, texts(got))
  end)

  it("an ipv6Only socket on :: leaves the IPv4 port free", function()
    local _, port = any6({ ipv6Only = true })
    local s4 = H.socket("udp4")
    local events = {}
    s4:on("error", function(err) events[#events + 1] = "error " .. err.code end)
    s4:on("listening", function() events[#events + 1] = "listening" end)
    s4:bind(port, LO4)
    run_until(2000, function() return #events > 0 end)
    assert.same({ "listening" }, events)
  end)

  it("without ipv6Only a socket on :: is dual-stack: ::ffff:127.0.0.1 arrives", function()
    if bindv6only() == "1" then
      pending("net.ipv6.bindv6only is 1 here: sockets are IPv6-only by default")
      return
    end
    local _, port, got = any6()
    local c4 = H.bound("udp4")
    c4:send("mapped", port, LO4)
    run_until(2000, function() return #got > 0 end)
    assert.same({ "mapped" }, texts(got))
    assert.equals("::ffff:127.0.0.1", got[1].rinfo.address)
    assert.equals("IPv6", got[1].rinfo.family)
    assert.equals(c4:address().port, got[1].rinfo.port)
  end)
end)

-- ===================================================================================
describe("modern: an array of strings as one datagram", function()
  after_each(H.cleanup)

  it('send({"ab", "cd", "ef"}) arrives as one datagram "abcdef"', function()
    local _, port, got = listener()
    local c = H.socket("udp4")
    local res
    c:send({ "ab", "cd", "ef" }, port, LO4, function(err, n) res = { err, n } end)
    run_until(2000, function() return res ~= nil and #got > 0 end)
    quiet(50)
    assert.same({ "abcdef" }, texts(got))
    assert.equals(6, got[1].rinfo.size)
    assert.same({ nil, 6 }, res)
  end)

  it("works on udp6, with binary parts and empty strings", function()
    local _, port, got = listener("udp6")
    local c = H.socket("udp6")
    c:send({ "\0\1", "", "\255", H.all_bytes }, port, LO6)
    run_until(2000, function() return #got > 0 end)
    assert.same({ "\0\1\255" .. H.all_bytes }, texts(got))
  end)

  it("an empty array sends an empty datagram (as Node)", function()
    local _, port, got = listener()
    local c = H.socket("udp4")
    c:send({}, port, LO4)
    run_until(2000, function() return #got > 0 end)
    assert.same({ "" }, texts(got))
  end)

  it("the array is read when send is called", function()
    local _, port, got = listener()
    local c = H.socket("udp4") -- unbound: the send waits for the implicit bind
    local parts = { "be", "fore" }
    c:send(parts, port, LO4)
    parts[1], parts[2] = "af", "ter"
    run_until(2000, function() return #got > 0 end)
    assert.same({ "before" }, texts(got))
  end)

  for _, bad in ipairs({ { "ab", 42 }, { "ab", true }, { {}, "cd" }, { "ab", print } }) do
    it(("an array holding a %s raises ERR_INVALID_ARG_TYPE; nothing is sent"):format(
      type(bad[1]) == "string" and type(bad[2]) or type(bad[1])), function()
      local _, port, got = listener()
      local c = H.socket("udp4")
      raises("ERR_INVALID_ARG_TYPE", c.send, c, bad, port, LO4)
      raises("ERR_INVALID_ARG_TYPE", c.send, c, bad, port, LO4, function() end)
      quiet(50)
      assert.same({}, got)
      c:send({ "ok" }, port, LO4)
      run_until(2000, function() return #got > 0 end)
      assert.same({ "ok" }, texts(got))
    end)
  end

  it("an array with offset and length raises ERR_INVALID_ARG_TYPE (as Node)", function()
    local c = H.socket("udp4")
    raises("ERR_INVALID_ARG_TYPE", c.send, c, { "ab", "cd" }, 0, 2, 9, LO4)
  end)
end)

-- ===================================================================================
describe("modern: block lists", function()
  after_each(H.cleanup)

  -- Sends three datagrams from a udp4 socket to each port and waits until `control` has
  -- them all, then a little longer.
  local function three_to(ports, control)
    local c = H.socket("udp4")
    for _, port in ipairs(ports) do
      for i = 1, 3 do c:send("d" .. i, port, LO4) end
    end
    run_until(2000, function() return #control >= 3 end)
    quiet(100)
  end

  for _, rule in ipairs({ "127.0.0.1", "127.0.0.0/8", "0.0.0.0/0" }) do
    it(("receiveBlockList {%q} drops datagrams from 127.0.0.1"):format(rule), function()
      local blocked, bport, bgot = listener("udp4", { receiveBlockList = { rule } })
      local _, cport, cgot = listener("udp4")
      local errors = {}
      blocked:on("error", function(err) errors[#errors + 1] = err end)
      three_to({ bport, cport }, cgot)
      assert.same({ "d1", "d2", "d3" }, texts(cgot))
      assert.same({}, bgot)
      assert.same({}, errors)
    end)
  end

  it('receiveBlockList {"10.0.0.0/8"} still gets datagrams from 127.0.0.1', function()
    local _, port, got = listener("udp4", { receiveBlockList = { "10.0.0.0/8" } })
    three_to({ port }, got)
    assert.same({ "d1", "d2", "d3" }, texts(got))
  end)

  it("an IPv4 rule drops ::ffff:127.0.0.1 on a dual-stack udp6 socket", function()
    local s = H.socket({ type = "udp6", receiveBlockList = { "127.0.0.1" } })
    local got = {}
    s:on("message", function(msg) got[#got + 1] = msg end)
    assert.is_nil(bind_wait(s, 0, "::"))
    local _, cport, cgot = listener("udp4")
    three_to({ s:address().port, cport }, cgot)
    assert.same({}, got)
  end)

  it('receiveBlockList {"::1/128"} drops datagrams from ::1 on udp6', function()
    local _, bport, bgot = listener("udp6", { receiveBlockList = { "::1/128" } })
    local _, cport, cgot = listener("udp6", { receiveBlockList = { "fd00::/8" } })
    local c = H.socket("udp6")
    for i = 1, 3 do
      c:send("e" .. i, bport, LO6)
      c:send("e" .. i, cport, LO6)
    end
    run_until(2000, function() return #cgot >= 3 end)
    quiet(100)
    assert.same({ "e1", "e2", "e3" }, texts(cgot))
    assert.same({}, bgot)
  end)

  it('sendBlockList {"127.0.0.1"}: the send callback gets ERR_IP_BLOCKED, later',
    function()
      local _, port, got = listener()
      local c = H.socket({ type = "udp4", sendBlockList = { "127.0.0.1" } })
      local errors, res = {}, nil
      c:on("error", function(err) errors[#errors + 1] = err end)
      c:send("blocked", port, LO4, function(...) res = table.pack(...) end)
      assert.is_nil(res, "the send callback ran inside send")
      run_until(2000, function() return res ~= nil end)
      quiet(100)
      assert.equals("table", type(res[1]))
      assert.equals("ERR_IP_BLOCKED", res[1].code)
      assert.matches("127%.0%.0%.1", res[1].message)
      assert.same({}, errors)
      assert.same({}, got)
    end)

  it('sendBlockList {"127.0.0.1"}: without a callback it is an \'error\'', function()
    local _, port, got = listener()
    local c = H.socket({ type = "udp4", sendBlockList = { "127.0.0.0/8" } })
    local errors = {}
    c:on("error", function(err) errors[#errors + 1] = err end)
    c:send("blocked", port, LO4)
    run_until(2000, function() return #errors > 0 end)
    quiet(50)
    assert.equals(1, #errors)
    assert.equals("ERR_IP_BLOCKED", errors[1].code)
    assert.same({}, got)
    -- the socket is still open and closes cleanly
    local closed = false
    c:close(function() closed = true end)
    run_until(2000, function() return closed end)
    assert.is_true(closed)
  end)

  it("sendBlockList applies to the address a lookup gives", function()
    local _, port, got = listener()
    local c = H.socket({ type = "udp4", sendBlockList = { "127.0.0.1" },
      lookup = fake_lookup({}) })
    local res
    c:send("blocked", port, "example.test", function(err) res = err or "ok" end)
    run_until(2000, function() return res ~= nil end)
    assert.equals("table", type(res))
    assert.equals("ERR_IP_BLOCKED", res.code)
    assert.same({}, got)
  end)

  it('sendBlockList {"10.0.0.0/8"} lets a send to 127.0.0.1 through', function()
    local _, port, got = listener()
    local c = H.socket({ type = "udp4", sendBlockList = { "10.0.0.0/8", "192.0.2.1" } })
    local res
    c:send("through", port, LO4, function(err, n) res = { err, n } end)
    run_until(2000, function() return res ~= nil and #got > 0 end)
    assert.same({ nil, 7 }, res)
    assert.same({ "through" }, texts(got))
  end)

  it('sendBlockList {"::1/128"} blocks sends to ::1 on udp6', function()
    local _, port, got = listener("udp6")
    local c = H.socket({ type = "udp6", sendBlockList = { "::1/128" } })
    local res
    c:send("blocked", port, LO6, function(err) res = err or "ok" end)
    run_until(2000, function() return res ~= nil end)
    quiet(50)
    assert.equals("table", type(res))
    assert.equals("ERR_IP_BLOCKED", res.code)
    assert.same({}, got)
  end)

  it("connect to a blocked address fails with ERR_IP_BLOCKED (as Node)", function()
    local _, port, got = listener()
    local c = H.socket({ type = "udp4", sendBlockList = { "127.0.0.1" } })
    local events = {}
    c:on("connect", function() events[#events + 1] = "connect" end)
    c:on("error", function(err) events[#events + 1] = "error " .. tostring(err.code) end)
    local res
    c:connect(port, LO4, function(err) res = err or "ok" end)
    run_until(2000, function() return res ~= nil end)
    quiet(30)
    assert.equals("table", type(res), "connect succeeded")
    assert.equals("ERR_IP_BLOCKED", res.code)
    assert.same({}, events)
    raises("ERR_SOCKET_DGRAM_NOT_CONNECTED", c.remoteAddress, c)
    assert.same({}, got)
  end)

  it("well-formed entries are accepted", function()
    for _, list in ipairs({ { "127.0.0.1" }, { "10.0.0.0/8", "0.0.0.0/0" }, { "::1" },
      { "::1/128", "fe80::/10", "::/0" }, { "::ffff:127.0.0.1" }, {} }) do
      for _, kind in ipairs({ "udp4", "udp6" }) do
        local s = H.socket({ type = kind, receiveBlockList = list, sendBlockList = list })
        assert.is_not_nil(s)
      end
    end
  end)

  for _, bad in ipairs({ "300.1.1.1", "1.2.3.4/40", 42, "", "1.2.3.4/", "1.2.3.4/x",
    "1.2.3.4/-1", "::1/129", "example.test", "1.2.3", true, {} }) do
    it(("a malformed entry %s (%s) raises ERR_INVALID_ARG_VALUE"):format(
      tostring(bad), type(bad)), function()
      raises("ERR_INVALID_ARG_VALUE", dgram.createSocket,
        { type = "udp4", receiveBlockList = { bad } })
      raises("ERR_INVALID_ARG_VALUE", dgram.createSocket,
        { type = "udp6", sendBlockList = { "127.0.0.1", bad } })
    end)
  end

  it("a block list that is not a table raises ERR_INVALID_ARG_TYPE", function()
    raises("ERR_INVALID_ARG_TYPE", dgram.createSocket,
      { type = "udp4", receiveBlockList = "127.0.0.1" })
    raises("ERR_INVALID_ARG_TYPE", dgram.createSocket, { type = "udp4", sendBlockList = 42 })
  end)
end)

-- ===================================================================================
describe("modern: IPv6 addresses and scopes", function()
  after_each(H.cleanup)

  it('"::1" binds and a datagram round-trips with rinfo.address "::1"', function()
    local _, port, got = listener("udp6")
    local c = H.bound("udp6")
    c:send("six", port, LO6)
    run_until(2000, function() return #got > 0 end)
    assert.same({ "six" }, texts(got))
    assert.same({ address = LO6, family = "IPv6", port = c:address().port, size = 3 },
      got[1].rinfo)
  end)

  it('a send to "fe80::1%lo" gives a system error (or goes nowhere), never a crash',
    function()
      local c = H.bound("udp6")
      local errors, res = {}, nil
      c:on("error", function(err) errors[#errors + 1] = err end)
      c:send("x", 9, "fe80::1%lo", function(...) res = table.pack(...) end)
      run_until(2000, function() return res ~= nil end)
      assert.is_not_nil(res)
      if res[1] ~= nil then
        assert.equals("table", type(res[1]))
        assert.matches("^E[A-Z_]+$", res[1].code)
        assert.equals("send", res[1].syscall)
        assert.equals("integer", math.type(res[1].errno))
      else
        assert.equals(1, res[2])
      end
      assert.same({}, errors)
      -- the socket keeps working
      local _, port, got = listener("udp6")
      c:send("after", port, LO6)
      run_until(2000, function() return #got > 0 end)
      assert.same({ "after" }, texts(got))
    end)
  -- Link-local round trips (fe80::1%lo) need an address on lo, which only a private
  -- network namespace may get: spec/linklocal_nsspec.lua has them.
end)

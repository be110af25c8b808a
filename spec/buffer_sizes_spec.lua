-- Socket buffer sizes (set/get, createSocket options, argument and state errors) and
-- the send queue counters.
local H = require("helper")
local raises, run_until, dgram, listener = H.raises, H.run_until, H.dgram, H.listener
local receiver, connected_client = H.listener, H.connected_client4

local LO4, LO6 = "127.0.0.1", "::1"

describe("buffer sizes and the send queue", function()
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

describe("buffer sizes and the send queue (Node's test-dgram-* cases)", function()
  after_each(H.cleanup)

  it("test-dgram-send-queue-info: an unbound socket's send queue is empty; counts are "
    .. "integers", function()
      local u = H.socket("udp4")
      assert.equals(0, u:getSendQueueSize())
      assert.equals(0, u:getSendQueueCount())
      local _, port = receiver("udp4")
      local c = connected_client(port)
      c:send("hello")
      c:send("hello")
      local size, count = c:getSendQueueSize(), c:getSendQueueCount()
      assert.equals("integer", math.type(size))
      assert.equals("integer", math.type(count))
      assert.is_true(size == 0 or size == 5 or size == 10)
      assert.is_true(count >= 0 and count <= 2)
    end)

  it("test-dgram-socket-buffer-size: unbound raises ERR_SOCKET_BUFFER_SIZE; bad sizes "
    .. "ERR_SOCKET_BAD_BUFFER_SIZE; Linux doubles", function()
      local u = H.socket("udp4")
      raises("ERR_SOCKET_BUFFER_SIZE", u.setSendBufferSize, u, 8192)
      raises("ERR_SOCKET_BUFFER_SIZE", u.getSendBufferSize, u)
      raises("ERR_SOCKET_BUFFER_SIZE", u.setRecvBufferSize, u, 8192)
      raises("ERR_SOCKET_BUFFER_SIZE", u.getRecvBufferSize, u)
      local s = H.bound("udp4")
      for _, bad in ipairs({ -1, math.huge, "Doh!" }) do
        local e = raises("ERR_SOCKET_BAD_BUFFER_SIZE", s.setRecvBufferSize, s, bad)
        assert.equals("Buffer size must be a positive integer", e.message)
        raises("ERR_SOCKET_BAD_BUFFER_SIZE", s.setSendBufferSize, s, bad)
      end
      s:setRecvBufferSize(10000)
      s:setSendBufferSize(10000)
      assert.equals(20000, s:getRecvBufferSize())
      assert.equals(20000, s:getSendBufferSize())
    end)

  it("test-dgram-socket-buffer-size: 2^31 passes the argument check and is refused by "
    .. "libuv: ERR_SOCKET_BUFFER_SIZE (EINVAL)", function()
      local s = H.bound("udp4")
      local e = raises("ERR_SOCKET_BUFFER_SIZE", s.setRecvBufferSize, s, 2147483648)
      assert.equals("Could not get or set buffer size: uv_recv_buffer_size returned EINVAL "
        .. "(invalid argument)", e.message)
      assert.equals("uv_recv_buffer_size", e.syscall)
      e = raises("ERR_SOCKET_BUFFER_SIZE", s.setSendBufferSize, s, 2147483648)
      assert.equals("uv_send_buffer_size", e.syscall)
    end)
end)

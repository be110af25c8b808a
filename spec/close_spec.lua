-- socket:close and 'close', and every method on a closed socket.
local H = require("helper")
local raises, dgram, quiet = H.raises, H.dgram, H.quiet
local free_port = H.free_port

local LO4 = "127.0.0.1"

describe("socket:close", function()
  after_each(H.cleanup)

  it("emits 'close' after close returns, once", function()
    local s = H.socket("udp4")
    local count = 0
    s:on("close", function(...)
      count = count + 1
      assert.equals(0, select("#", ...))
    end)
    s:bind(0, "127.0.0.1")
    s:close()
    assert.equals(0, count)
    H.run(2000)
    assert.equals(1, count)
  end)

  it("emits 'close' for a socket that was never bound", function()
    local s = H.socket("udp6")
    local count = 0
    s:on("close", function() count = count + 1 end)
    s:close()
    assert.equals(0, count)
    H.run(2000)
    assert.equals(1, count)
  end)

  it("returns the socket", function()
    local s = H.socket("udp4")
    assert.equals(s, s:close())
  end)

  it("close(cb) calls cb once, after close returns", function()
    local s = H.socket("udp4")
    local calls = 0
    s:bind(0, "127.0.0.1", function()
      s:close(function() calls = calls + 1 end)
      assert.equals(0, calls)
    end)
    H.run(2000)
    assert.equals(1, calls)
  end)

  it("close(cb) adds cb as a one-time 'close' listener", function()
    local s = H.socket("udp4")
    local order = {}
    s:on("close", function() order[#order + 1] = "on" end)
    s:close(function() order[#order + 1] = "cb" end)
    assert.equals(2, s:listenerCount("close"))
    H.run(2000)
    assert.same({ "on", "cb" }, order)
    assert.equals(1, s:listenerCount("close"))
  end)

  it("close(nil) is close()", function()
    local s = H.socket("udp4")
    local count = 0
    s:on("close", function() count = count + 1 end)
    s:close(nil)
    H.run(2000)
    assert.equals(1, count)
  end)

  it("a second close raises ERR_SOCKET_DGRAM_NOT_RUNNING at once", function()
    local s = H.socket("udp4")
    s:close()
    raises("ERR_SOCKET_DGRAM_NOT_RUNNING", s.close, s)
  end)

  it("a close after 'close' was emitted raises ERR_SOCKET_DGRAM_NOT_RUNNING", function()
    local s = H.socket("udp4")
    local count = 0
    s:on("close", function() count = count + 1 end)
    s:bind(0, "127.0.0.1")
    s:close()
    H.run(2000)
    raises("ERR_SOCKET_DGRAM_NOT_RUNNING", s.close, s)
    raises("ERR_SOCKET_DGRAM_NOT_RUNNING", s.close, s, function() end)
    H.run(1000)
    assert.equals(1, count)
  end)

  it("close(non-function) raises ERR_INVALID_ARG_TYPE and the socket stays open", function()
    local s = H.socket("udp4")
    local events = {}
    s:on("close", function() events[#events + 1] = "close" end)
    for _, bad in ipairs({ "cb", 42, {}, true }) do
      raises("ERR_INVALID_ARG_TYPE", s.close, s, bad)
    end
    assert.equals(1, s:listenerCount("close"))
    s:bind(0, "127.0.0.1", function()
      events[#events + 1] = "listening"
      s:close()
    end)
    H.run(2000)
    assert.same({ "listening", "close" }, events)
  end)

  it("close(non-function) on a bound socket leaves it receiving", function()
    local server, port = H.bound("udp4")
    raises("ERR_INVALID_ARG_TYPE", server.close, server, "bad")
    local client = H.socket("udp4")
    local got
    server:on("message", function(msg)
      got = msg
      server:close()
      client:close()
    end)
    client:send("still open", port, "127.0.0.1")
    H.run(2000)
    assert.equals("still open", got)
  end)

  it("inside a 'message' handler stops all further 'message' events", function()
    local server, port = H.bound("udp4")
    local client = H.bound("udp4")
    local events = {}
    server:on("message", function(msg)
      events[#events + 1] = "message " .. msg
      server:close()
    end)
    server:on("close", function()
      events[#events + 1] = "close"
      client:close()
    end)
    for _, m in ipairs({ "a", "b", "c", "d" }) do client:send(m, port, "127.0.0.1") end
    H.run(2000)
    assert.same({ "message a", "close" }, events)
  end)

  it("before the loop runs delivers none of the datagrams already sent to it", function()
    local server, port = H.bound("udp4")
    local client = H.bound("udp4")
    local events = {}
    server:on("message", function(msg) events[#events + 1] = "message " .. msg end)
    server:on("close", function() events[#events + 1] = "close" end)
    for _, m in ipairs({ "a", "b", "c" }) do client:send(m, port, "127.0.0.1") end
    server:close()
    client:close()
    H.run(2000)
    assert.same({ "close" }, events)
  end)

  it("inside the 'close' listener of another socket works", function()
    local a, b = H.socket("udp4"), H.socket("udp4")
    local events = {}
    a:on("close", function()
      events[#events + 1] = "a"
      b:close()
    end)
    b:on("close", function() events[#events + 1] = "b" end)
    a:bind(0, "127.0.0.1", function() a:close() end)
    H.run(2000)
    assert.same({ "a", "b" }, events)
  end)

  it("lets the loop finish: a closed socket keeps nothing going", function()
    local s = H.socket("udp4")
    s:bind(0, "127.0.0.1")
    s:close()
    H.run(1000)
  end)
end)

describe("a closed socket", function()
  after_each(H.cleanup)

  -- Valid arguments for every method, so that only the closed state can fail them.
  local calls = {
    { "bind", 0, "127.0.0.1" },
    { "bind" },
    { "bind", { port = 0 } },
    { "send", "x", 9, "127.0.0.1" },
    { "send", "x", 9, "127.0.0.1", function() end },
    { "send", "xyz", 0, 1, 9, "127.0.0.1" },
    { "send", { "a", "b" }, 9, "127.0.0.1" },
    { "address" },
    { "connect", 9, "127.0.0.1" },
    { "disconnect" },
    { "remoteAddress" },
    { "setBroadcast", true },
    { "setTTL", 64 },
    { "setMulticastTTL", 1 },
    { "setMulticastLoopback", true },
    { "setMulticastInterface", "127.0.0.1" },
    { "addMembership", "239.1.2.3" },
    { "dropMembership", "239.1.2.3" },
    { "addSourceSpecificMembership", "127.0.0.1", "232.1.2.3" },
    { "dropSourceSpecificMembership", "127.0.0.1", "232.1.2.3" },
    { "getRecvBufferSize" },
    { "setRecvBufferSize", 65536 },
    { "getSendBufferSize" },
    { "setSendBufferSize", 65536 },
    { "getSendQueueSize" },
    { "getSendQueueCount" },
  }

  local function describe_call(c)
    local parts = {}
    for i = 2, #c do
      local v = c[i]
      parts[#parts + 1] = type(v) == "string" and ("%q"):format(v) or type(v) == "number"
        and tostring(v) or type(v)
    end
    return c[1] .. "(" .. table.concat(parts, ", ") .. ")"
  end

  for _, c in ipairs(calls) do
    local name = describe_call(c) .. " raises ERR_SOCKET_DGRAM_NOT_RUNNING"
    it(name .. " (closed before binding)", function()
      local s = H.socket("udp4")
      s:close()
      assert.equals("function", type(s[c[1]]), "socket:" .. c[1] .. " is missing")
      raises("ERR_SOCKET_DGRAM_NOT_RUNNING", s[c[1]], s, table.unpack(c, 2))
      H.run(1000)
    end)
    it(name .. " (closed after 'close')", function()
      local s = H.socket("udp4")
      s:bind(0, "127.0.0.1", function() s:close() end)
      H.run(2000)
      assert.equals("function", type(s[c[1]]), "socket:" .. c[1] .. " is missing")
      raises("ERR_SOCKET_DGRAM_NOT_RUNNING", s[c[1]], s, table.unpack(c, 2))
    end)
  end

  it("send on a closed socket still checks its arguments first", function()
    local s = H.socket("udp4")
    s:close()
    raises("ERR_SOCKET_BAD_PORT", s.send, s, "x", 0, "127.0.0.1")
    raises("ERR_SOCKET_BAD_PORT", s.send, s, "x", 65536, "127.0.0.1")
  end)

  it("a send raising on a closed socket neither calls its callback nor emits", function()
    local s = H.socket("udp4")
    local cbs, errors = 0, 0
    s:on("error", function() errors = errors + 1 end)
    s:close()
    pcall(s.send, s, "x", 9, "127.0.0.1", function() cbs = cbs + 1 end)
    H.run(1000)
    assert.equals(0, cbs)
    assert.equals(0, errors)
  end)

  it("recv() raises ERR_SOCKET_DGRAM_NOT_RUNNING inside a coroutine", function()
    local s = H.socket("udp4")
    s:close()
    local result
    dgram.spawn(function() result = table.pack(pcall(s.recv, s, 50)) end)
    H.run(2000)
    assert.is_false(result[1], "recv returned instead of raising: " .. tostring(result[2])
      .. ", " .. tostring(result[3]))
    assert.equals("ERR_SOCKET_DGRAM_NOT_RUNNING", result[2].code)
  end)

  it("sendAsync() raises ERR_SOCKET_DGRAM_NOT_RUNNING inside a coroutine", function()
    local s = H.socket("udp4")
    s:close()
    local result
    dgram.spawn(function() result = table.pack(pcall(s.sendAsync, s, "x", 9, "127.0.0.1")) end)
    H.run(2000)
    assert.is_false(result[1])
    assert.equals("ERR_SOCKET_DGRAM_NOT_RUNNING", result[2].code)
  end)

  it("ref() and unref() return the socket and do nothing", function()
    local s = H.socket("udp4")
    s:bind(0, "127.0.0.1")
    s:close()
    assert.equals(s, s:ref())
    assert.equals(s, s:unref())
    assert.equals(s, s:ref())
    H.run(1000) -- a ref() after close must not keep the loop going
    assert.equals(s, s:unref())
    assert.equals(s, s:ref())
    H.run(1000)
  end)

  it("keeps its EventEmitter methods", function()
    local s = H.socket("udp4")
    s:close()
    H.run(1000)
    local got
    assert.equals(s, s:on("custom", function(v) got = v end))
    assert.equals(1, s:listenerCount("custom"))
    s:emit("custom", 7)
    assert.equals(7, got)
    assert.equals(s, s:off("custom", s:listeners("custom")[1]))
    assert.equals(0, s:listenerCount("custom"))
    s:removeAllListeners()
  end)
end)

describe("socket:close (Node's test-dgram-* cases)", function()
  after_each(H.cleanup)

  -- close ------------------------------------------------------------------------------
  it("test-dgram-close: close() right after a send returns the socket and emits 'close' "
    .. "once; no 'error'", function()
      local port = free_port()
      local s = H.socket("udp4")
      local errors, closes, cbs = 0, 0, 0
      s:on("error", function() errors = errors + 1 end)
      s:send(string.rep("*", 1024), 0, 1024, port, LO4)
      assert.equals(s, s:close(function() cbs = cbs + 1 end))
      s:on("close", function() closes = closes + 1 end)
      H.run(2000)
      quiet(20)
      assert.equals(1, cbs)
      assert.equals(1, closes)
      assert.equals(0, errors)
    end)

  it("test-dgram-close-during-bind: a socket closed while its bind lookup is pending "
    .. "never binds", function()
      local s
      local listening, closed, errors = false, false, 0
      s = H.socket({ type = "udp4", lookup = function(host, family, cb)
        s:close(function()
          closed = true
          cb(nil, host, family)
        end)
      end })
      s:on("error", function() errors = errors + 1 end)
      s:bind(function() listening = true end)
      H.run(2000)
      quiet(20)
      assert.is_true(closed)
      assert.is_false(listening)
      assert.equals(0, errors)
      raises("ERR_SOCKET_DGRAM_NOT_RUNNING", s.address, s)
    end)

  it("test-dgram-close-in-listening: close() in 'listening' with a send queued does not "
    .. "crash; the queued send's callback runs once (API.md)", function()
      local port = free_port()
      local s = H.socket("udp4")
      s:on("listening", function() s:close() end)
      local results = {}
      s:send(string.rep("*", 1024), 0, 1024, port, "localhost", function(err, n)
        results[#results + 1] = { err = err, n = n }
      end)
      H.run(2000)
      quiet(20)
      assert.equals(1, #results)
    end)

  it("test-dgram-close-is-not-callback: close('bad argument') raises (API.md) and the "
    .. "socket stays open; close() then emits 'close'", function()
      local s = H.socket("udp4")
      s:send(string.rep("*", 1024), 0, 1024, free_port(), "localhost", function() end)
      raises("ERR_INVALID_ARG_TYPE", s.close, s, "bad argument")
      local closes = 0
      s:on("close", function() closes = closes + 1 end)
      s:close()
      H.run(2000)
      assert.equals(1, closes)
    end)
end)

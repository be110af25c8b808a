-- Socket lifecycle: createSocket, bind in all its forms, 'listening', address(),
-- close and 'close', methods on a closed socket, ref/unref, <close> and collection.
local H = require("helper")
local raises = H.raises
local dgram = H.dgram

-- A port that was free a moment ago (bound on 127.0.0.1, then closed).
local function free_port(kind)
  local s, port = H.bound(kind or "udp4")
  s:close()
  return port
end

-- Binds `s` with the given arguments; runs the loop until 'listening' (then closes
-- it) and returns what address() said inside 'listening', and how often it fired.
local function bind_and_listen(s, ...)
  local seen, count = nil, 0
  s:on("listening", function()
    count = count + 1
    seen = s:address()
    s:close()
  end)
  s:bind(...)
  H.run(2000)
  return seen, count
end

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

describe("socket:bind", function()
  after_each(H.cleanup)

  it("bind() binds every IPv4 address on a random port", function()
    local a, count = bind_and_listen(H.socket("udp4"))
    assert.equals(1, count)
    assert.equals("0.0.0.0", a.address)
    assert.equals("IPv4", a.family)
    assert.equals("integer", math.type(a.port))
    assert.is_true(a.port > 0 and a.port <= 65535)
  end)

  it("bind() on udp6 binds every IPv6 address", function()
    local a = bind_and_listen(H.socket("udp6"))
    assert.equals("::", a.address)
    assert.equals("IPv6", a.family)
    assert.is_true(a.port > 0)
  end)

  it("bind() receives datagrams sent to 127.0.0.1", function()
    local server = H.socket("udp4")
    local client = H.socket("udp4")
    local got
    server:on("message", function(msg)
      got = msg
      server:close()
      client:close()
    end)
    server:on("listening", function()
      client:send("to any", server:address().port, "127.0.0.1")
    end)
    server:bind()
    H.run(2000)
    assert.equals("to any", got)
  end)

  it("bind(port) binds that port", function()
    local port = free_port()
    local a = bind_and_listen(H.socket("udp4"), port)
    assert.equals(port, a.port)
    assert.equals("0.0.0.0", a.address)
  end)

  it("bind(port, address) binds that port and address", function()
    local port = free_port()
    local a = bind_and_listen(H.socket("udp4"), port, "127.0.0.1")
    assert.equals(port, a.port)
    assert.equals("127.0.0.1", a.address)
  end)

  it("bind(port, address) on udp6 with ::1", function()
    local port = free_port("udp6")
    local a = bind_and_listen(H.socket("udp6"), port, "::1")
    assert.equals(port, a.port)
    assert.equals("::1", a.address)
    assert.equals("IPv6", a.family)
  end)

  it("bind(port, address, cb) calls cb once, with no arguments, once bound", function()
    local s = H.socket("udp4")
    local calls, nargs, addr = 0, nil, nil
    s:bind(0, "127.0.0.1", function(...)
      calls = calls + 1
      nargs = select("#", ...)
      addr = s:address()
      s:close()
    end)
    assert.equals(0, calls)
    H.run(2000)
    assert.equals(1, calls)
    assert.equals(0, nargs)
    assert.equals("127.0.0.1", addr.address)
  end)

  it("bind(port, cb) binds that port on every address", function()
    local port = free_port()
    local s = H.socket("udp4")
    local addr
    s:bind(port, function()
      addr = s:address()
      s:close()
    end)
    H.run(2000)
    assert.equals(port, addr.port)
    assert.equals("0.0.0.0", addr.address)
  end)

  it("bind(cb) binds a random port", function()
    local s = H.socket("udp4")
    local addr
    s:bind(function()
      addr = s:address()
      s:close()
    end)
    H.run(2000)
    assert.is_true(addr.port > 0)
    assert.equals("0.0.0.0", addr.address)
  end)

  it("bind(nil, address, cb) binds a random port on that address", function()
    local s = H.socket("udp4")
    local addr
    s:bind(nil, "127.0.0.1", function()
      addr = s:address()
      s:close()
    end)
    H.run(2000)
    assert.is_true(addr.port > 0)
    assert.equals("127.0.0.1", addr.address)
  end)

  it("bind({port=, address=, exclusive=}, cb) uses the options", function()
    local port = free_port()
    local s = H.socket("udp4")
    local addr
    s:bind({ port = port, address = "127.0.0.1", exclusive = true }, function()
      addr = s:address()
      s:close()
    end)
    H.run(2000)
    assert.equals(port, addr.port)
    assert.equals("127.0.0.1", addr.address)
  end)

  it("bind({address=}) binds a random port on that address", function()
    local a = bind_and_listen(H.socket("udp4"), { address = "127.0.0.1" })
    assert.is_true(a.port > 0)
    assert.equals("127.0.0.1", a.address)
  end)

  it("bind({}) binds a random port on every address", function()
    local a = bind_and_listen(H.socket("udp4"), {})
    assert.is_true(a.port > 0)
    assert.equals("0.0.0.0", a.address)
  end)

  it("bind({port=, address=}) on udp6", function()
    local a = bind_and_listen(H.socket("udp6"), { port = 0, address = "::1" })
    assert.is_true(a.port > 0)
    assert.equals("::1", a.address)
  end)

  it('resolves the address "localhost"', function()
    local s = H.socket("udp4")
    local addr
    s:bind(0, "localhost", function()
      addr = s:address()
      s:close()
    end)
    H.run(2000)
    assert.equals("127.0.0.1", addr.address)
    assert.equals("IPv4", addr.family)
    assert.is_true(addr.port > 0)
  end)

  it("port 0 picks a different random port for each socket", function()
    local a, b = H.socket("udp4"), H.socket("udp4")
    local pa, pb
    a:bind(0, "127.0.0.1", function() pa = a:address().port end)
    b:bind(0, "127.0.0.1", function()
      pb = b:address().port
      a:close()
      b:close()
    end)
    H.run(2000)
    assert.is_true(pa > 0 and pb > 0)
    assert.are_not.equal(pa, pb)
  end)

  it("accepts a numeric string port", function()
    local port = free_port()
    local a = bind_and_listen(H.socket("udp4"), tostring(port), "127.0.0.1")
    assert.equals(port, a.port)
    assert.equals("integer", math.type(a.port))
  end)

  it("accepts a float with an integer value as port", function()
    local port = free_port()
    local a = bind_and_listen(H.socket("udp4"), port + 0.0, "127.0.0.1")
    assert.equals(port, a.port)
    assert.equals("integer", math.type(a.port))
  end)

  it("accepts a numeric string port in the options form", function()
    local port = free_port()
    local a = bind_and_listen(H.socket("udp4"), { port = tostring(port), address = "127.0.0.1" })
    assert.equals(port, a.port)
  end)

  it("returns the socket", function()
    local s = H.socket("udp4")
    assert.equals(s, s:bind(0, "127.0.0.1"))
    local t = H.socket("udp4")
    assert.equals(t, t:bind(function() end))
  end)

  it("binds with a custom lookup that answers asynchronously", function()
    local asked
    local s = H.socket({
      type = "udp4",
      lookup = function(host, family, cb)
        asked = { host, family }
        dgram.setTimeout(1, function() cb(nil, "127.0.0.1", 4) end)
      end,
    })
    local addr
    s:bind(0, "my-host", function()
      addr = s:address()
      s:close()
    end)
    H.run(2000)
    assert.same({ "my-host", 4 }, asked)
    assert.equals("127.0.0.1", addr.address)
  end)
end)

describe("the 'listening' event", function()
  after_each(H.cleanup)

  it("is emitted after bind returns, never inside it", function()
    local s = H.socket("udp4")
    local count = 0
    s:on("listening", function() count = count + 1 end)
    s:bind(0, "127.0.0.1")
    assert.equals(0, count)
    s:once("listening", function() s:close() end)
    H.run(2000)
    assert.equals(1, count)
  end)

  it("is emitted after bind returns for bind(cb) too", function()
    local s = H.socket("udp6")
    local count = 0
    s:bind(0, "::1", function()
      count = count + 1
      s:close()
    end)
    assert.equals(0, count)
    H.run(2000)
    assert.equals(1, count)
  end)

  it("is emitted once, even when the socket then sends and receives", function()
    local s = H.socket("udp4")
    local listening, messages = 0, 0
    s:on("listening", function()
      listening = listening + 1
      s:send("self", s:address().port, "127.0.0.1")
    end)
    s:on("message", function(msg)
      messages = messages + 1
      assert.equals(messages == 1 and "self" or "again", msg)
      if messages == 1 then
        s:send("again", s:address().port, "127.0.0.1")
      else
        s:close()
      end
    end)
    s:bind(0, "127.0.0.1")
    H.run(2000)
    assert.equals(1, listening)
    assert.equals(2, messages)
  end)

  it("comes before 'close' when close is called inside it", function()
    local s = H.socket("udp4")
    local events = {}
    s:on("listening", function()
      events[#events + 1] = "listening"
      s:close()
    end)
    s:on("close", function() events[#events + 1] = "close" end)
    s:bind(0, "127.0.0.1")
    H.run(2000)
    assert.same({ "listening", "close" }, events)
  end)

  it("bind's callback is a one-time listener", function()
    local s = H.socket("udp4")
    s:bind(0, "127.0.0.1", function() end)
    assert.equals(1, s:listenerCount("listening"))
    s:on("close", function() end)
    dgram.setTimeout(20, function() s:close() end)
    H.run(2000)
    assert.equals(0, s:listenerCount("listening"))
  end)

  -- An IP literal binds at once ('listening' waits for the next turn); "localhost" waits
  -- for the resolver. Closed in between, only 'close' follows.
  for _, host in ipairs({ "127.0.0.1", "localhost" }) do
    it(("is not emitted when the socket is closed before binding to %s completes"):format(host),
      function()
        local s = H.socket("udp4")
        local events = {}
        s:on("listening", function() events[#events + 1] = "listening" end)
        s:on("error", function(err) events[#events + 1] = "error " .. tostring(err.code) end)
        s:on("close", function() events[#events + 1] = "close" end)
        s:bind(0, host)
        s:close()
        H.run(2000)
        assert.same({ "close" }, events)
      end)
  end
end)

describe("a second bind", function()
  after_each(H.cleanup)

  it("raises ERR_SOCKET_ALREADY_BOUND while the first is completing", function()
    local s = H.socket("udp4")
    s:bind(0, "127.0.0.1")
    raises("ERR_SOCKET_ALREADY_BOUND", s.bind, s, 0, "127.0.0.1")
    raises("ERR_SOCKET_ALREADY_BOUND", s.bind, s)
  end)

  it('raises ERR_SOCKET_ALREADY_BOUND while "localhost" is resolved', function()
    local s = H.socket("udp4")
    s:bind(0, "localhost", function() s:close() end)
    raises("ERR_SOCKET_ALREADY_BOUND", s.bind, s, 0, "127.0.0.1")
    H.run(2000)
  end)

  it("raises ERR_SOCKET_ALREADY_BOUND once bound, and the socket keeps its port", function()
    local s = H.socket("udp4")
    local before, after, err
    s:bind(0, "127.0.0.1", function()
      before = s:address().port
      local ok
      ok, err = pcall(s.bind, s, 0, "127.0.0.1")
      assert.is_false(ok)
      after = s:address().port
      s:close()
    end)
    H.run(2000)
    assert.equals("ERR_SOCKET_ALREADY_BOUND", err.code)
    assert.equals(before, after)
  end)

  it("raises ERR_SOCKET_ALREADY_BOUND after an implicit bind by send", function()
    local server, port = H.bound("udp4")
    local client = H.socket("udp4")
    local err
    client:send("x", port, "127.0.0.1", function()
      local ok
      ok, err = pcall(client.bind, client, 0)
      assert.is_false(ok)
      client:close()
      server:close()
    end)
    H.run(2000)
    assert.equals("ERR_SOCKET_ALREADY_BOUND", err.code)
  end)

  it("does not add its callback as a listener", function()
    local s = H.socket("udp4")
    local calls = 0
    s:bind(0, "127.0.0.1", function() s:close() end)
    pcall(s.bind, s, 0, "127.0.0.1", function() calls = calls + 1 end)
    H.run(2000)
    assert.equals(0, calls)
  end)
end)

describe("socket:address", function()
  after_each(H.cleanup)

  it("reports address, family and an integer port on udp4", function()
    local s = H.socket("udp4")
    local a
    s:bind(0, "127.0.0.1", function()
      a = s:address()
      s:close()
    end)
    H.run(2000)
    assert.equals("table", type(a))
    assert.equals("127.0.0.1", a.address)
    assert.equals("IPv4", a.family)
    assert.equals("integer", math.type(a.port))
  end)

  it("reports address, family and an integer port on udp6", function()
    local s = H.socket("udp6")
    local a
    s:bind(0, "::1", function()
      a = s:address()
      s:close()
    end)
    H.run(2000)
    assert.equals("::1", a.address)
    assert.equals("IPv6", a.family)
    assert.equals("integer", math.type(a.port))
  end)

  it("matches the port a sender sees in rinfo", function()
    local server, port = H.bound("udp4")
    local client = H.bound("udp4")
    local rinfo
    server:on("message", function(_, r)
      rinfo = r
      server:close()
      client:close()
    end)
    client:send("who", port, "127.0.0.1")
    local cport = client:address().port
    H.run(2000)
    assert.equals(cport, rinfo.port)
  end)

  it("raises EBADF (syscall getsockname) on an unbound socket", function()
    local s = H.socket("udp4")
    local err = raises("EBADF", s.address, s)
    assert.equals("getsockname", err.syscall)
  end)
end)

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

describe("ref and unref", function()
  after_each(H.cleanup)

  it("return the socket", function()
    local s = H.socket("udp4")
    assert.equals(s, s:unref())
    assert.equals(s, s:ref())
  end)

  it("an unref'd bound socket lets dgram.run() return", function()
    local s = H.bound("udp4")
    assert.equals(s, s:unref())
    local t0 = os.clock()
    H.run(1000) -- fails if the loop keeps running for the socket
    assert.is_true(os.clock() - t0 < 0.5)
    -- still open and bound
    assert.is_true(s:address().port > 0)
  end)

  it("an unref'd socket unref'd before bind lets dgram.run() return", function()
    local s = H.socket("udp4")
    s:unref()
    s:bind(0, "127.0.0.1")
    H.run(1000)
    assert.is_true(s:address().port > 0)
  end)

  it("an unref'd socket still receives while something else runs the loop", function()
    local server, port = H.bound("udp4")
    server:unref()
    local client = H.socket("udp4")
    local got
    server:on("message", function(msg)
      got = msg
      server:close()
    end)
    client:send("while unref'd", port, "127.0.0.1", function() end)
    local t = dgram.setTimeout(50, function() client:close() end)
    H.run(2000)
    dgram.clearTimeout(t)
    assert.equals("while unref'd", got)
  end)

  it("ref() after unref() keeps dgram.run() going again", function()
    local s = H.bound("udp4")
    s:unref()
    s:ref()
    local fired = false
    local t = dgram.setTimeout(50, function()
      fired = true
      s:close()
    end)
    t:unref() -- only the socket can keep the loop alive until the timer fires
    H.run(2000)
    assert.is_true(fired)
  end)

  it("an unref'd socket's 'close' is still emitted when closed", function()
    local s = H.bound("udp4")
    s:unref()
    local count = 0
    s:on("close", function() count = count + 1 end)
    s:close()
    H.run(1000)
    assert.equals(1, count)
  end)
end)

describe("Lua lifetime", function()
  after_each(H.cleanup)

  it("local s <close> closes the socket when the scope ends", function()
    local outer
    local count = 0
    do
      local s <close> = H.socket("udp4")
      outer = s
      s:on("close", function() count = count + 1 end)
      s:bind(0, "127.0.0.1")
    end
    raises("ERR_SOCKET_DGRAM_NOT_RUNNING", outer.address, outer)
    raises("ERR_SOCKET_DGRAM_NOT_RUNNING", outer.close, outer)
    H.run(1000)
    assert.equals(1, count)
  end)

  it("local s <close> closes the socket when the scope is left by an error", function()
    local outer
    local ok, err = pcall(function()
      local s <close> = H.socket("udp4")
      outer = s
      s:bind(0, "127.0.0.1")
      error("boom", 0)
    end)
    assert.is_false(ok)
    assert.equals("boom", err)
    raises("ERR_SOCKET_DGRAM_NOT_RUNNING", outer.close, outer)
    H.run(1000)
  end)

  it("local s <close> on a socket already closed does nothing", function()
    local count = 0
    local ok, err = pcall(function()
      local s <close> = H.socket("udp4")
      s:on("close", function() count = count + 1 end)
      s:close()
    end)
    assert.is_true(ok, tostring(err))
    H.run(1000)
    assert.equals(1, count)
  end)

  it("a closed socket can be collected", function()
    local weak = setmetatable({}, { __mode = "v" })
    do
      local s = dgram.createSocket("udp4")
      s:bind(0, "127.0.0.1")
      s:close()
      weak[1] = s
    end
    H.run(1000)
    collectgarbage()
    collectgarbage()
    assert.is_nil(weak[1])
  end)

  it("a never-bound socket nobody references can be collected", function()
    local weak = setmetatable({}, { __mode = "v" })
    do
      weak[1] = dgram.createSocket("udp6")
    end
    collectgarbage()
    collectgarbage()
    assert.is_nil(weak[1])
    H.run(1000)
  end)

  it("a bound socket nobody references keeps receiving", function()
    local weak = setmetatable({}, { __mode = "v" })
    local got
    local port
    do
      local s = dgram.createSocket("udp4")
      weak[1] = s
      s:on("message", function(msg, _)
        got = msg
        weak[1]:close()
      end)
      s:bind(0, "127.0.0.1", function() port = weak[1]:address().port end)
    end
    -- safety net: the server is not tracked by H, so close it if the test goes wrong
    local guard = dgram.setTimeout(1500 * H.scale, function()
      if weak[1] then pcall(weak[1].close, weak[1]) end
    end)
    guard:unref()
    local client = H.socket("udp4")
    dgram.setTimeout(10, function()
      collectgarbage()
      collectgarbage()
      client:send("alive", port, "127.0.0.1", function() client:close() end)
    end)
    H.run(2000)
    dgram.clearTimeout(guard)
    assert.equals("alive", got)
  end)
end)

-- socket:bind in all its forms, the 'listening' event and socket:address().
local H = require("helper")
local raises, dgram, free_port, bind_and_listen = H.raises, H.dgram, H.free_port, H.bind_and_listen

local LO4, LO6 = "127.0.0.1", "::1"

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

describe("socket:address (Node's test-dgram-* cases)", function()
  after_each(H.cleanup)

  -- address / bind ---------------------------------------------------------------------
  it("test-dgram-address: address() of a bound udp4/udp6 socket; EBADF when unbound",
    function()
      local s4, p4 = H.bound("udp4")
      local a4 = s4:address()
      assert.same({ address = LO4, family = "IPv4", port = p4 }, a4)
      assert.equals("integer", math.type(a4.port))
      assert.is_true(a4.port > 0)
      local s6, p6 = H.bound("udp6")
      assert.same({ address = LO6, family = "IPv6", port = p6 }, s6:address())
      local u = H.socket("udp4")
      local err = raises("EBADF", u.address, u)
      assert.equals("getsockname", err.syscall)
      assert.equals("getsockname EBADF", err.message)
    end)
end)

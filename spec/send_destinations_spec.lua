-- Where sends go and what the receiver sees: default addresses, "localhost", rinfo,
-- answering the sender.
local H = require("helper")
local dgram, exchange, assert_cb_ok, run_until = H.dgram, H.exchange, H.assert_cb_ok, H.run_until

local LO4, LO6 = "127.0.0.1", "::1"

describe("send: destinations and rinfo", function()
  after_each(H.cleanup)

  it("rinfo has address, family, port and size of the right types", function()
    local t = exchange("udp4", 1, 1, function(_, port, x) x.send("rinfo!", port, LO4) end)
    local r = t.infos[1]
    assert.equals(LO4, r.address)
    assert.equals("IPv4", r.family)
    assert.equals(t.cport, r.port)
    assert.equals("integer", math.type(r.port))
    assert.equals(6, r.size)
    assert.equals("integer", math.type(r.size))
  end)

  it("udp4 address defaults to 127.0.0.1", function()
    local t = exchange("udp4", 1, 1, function(_, port, x) x.send("default4", port) end)
    assert.same({ "default4" }, t.msgs)
    assert.equals(LO4, t.infos[1].address)
  end)

  it("udp6 address defaults to ::1", function()
    local t = exchange("udp6", 1, 1, function(_, port, x) x.send("default6", port) end)
    assert.same({ "default6" }, t.msgs)
    assert.equals(LO6, t.infos[1].address)
    assert.equals("IPv6", t.infos[1].family)
  end)

  it("udp6 short form send(msg, port) goes to ::1", function()
    local t = exchange("udp6", 1, 0, function(c, port) c:send("six", port) end)
    assert.same({ "six" }, t.msgs)
  end)

  it("IPv6 over ::1: rinfo says IPv6, ::1 and the sender's port", function()
    local t = exchange("udp6", 1, 1, function(_, port, x) x.send("over six", port, LO6) end)
    assert.same({ "over six" }, t.msgs)
    local r = t.infos[1]
    assert.equals("IPv6", r.family)
    assert.equals(LO6, r.address)
    assert.equals(t.cport, r.port)
    assert.equals("integer", math.type(r.port))
    assert.equals(8, r.size)
    assert_cb_ok(t.cbs[1], 8)
  end)

  it("IPv6 long form", function()
    local t = exchange("udp6", 1, 1, function(_, port, x)
      x.send("hello world", 6, 5, port, LO6)
    end)
    assert.same({ "world" }, t.msgs)
  end)

  it("'localhost' as destination is resolved and delivered", function()
    local t = exchange("udp4", 1, 1, function(_, port, x) x.send("via name", port, "localhost") end)
    assert.same({ "via name" }, t.msgs)
    assert.equals(LO4, t.infos[1].address)
    assert_cb_ok(t.cbs[1], 8)
  end)

  it("'localhost' without a callback is delivered", function()
    local t = exchange("udp4", 1, 0, function(c, port) c:send("no cb name", port, "localhost") end)
    assert.same({ "no cb name" }, t.msgs)
    assert.same({}, t.errors)
  end)

  it("'localhost' in the long form", function()
    local t = exchange("udp4", 1, 1, function(_, port, x)
      x.send("hello world", 0, 5, port, "localhost")
    end)
    assert.same({ "hello" }, t.msgs)
    assert_cb_ok(t.cbs[1], 5)
  end)

  it("several sends to 'localhost' all arrive, each callback once", function()
    -- each send resolves on its own (as in Node), so the order is not promised
    local t = exchange("udp4", 5, 5, function(_, port, x)
      for i = 1, 5 do x.send("n" .. i, port, "localhost") end
    end)
    table.sort(t.msgs)
    assert.same({ "n1", "n2", "n3", "n4", "n5" }, t.msgs)
    for i = 1, 5 do assert_cb_ok(t.cbs[i], 2) end
  end)

  it("a send to a port nobody listens on succeeds (unconnected sockets ignore ICMP)", function()
    local probe, free = H.bound("udp4")
    probe:close()
    local client = H.socket("udp4")
    local calls, errors = {}, {}
    client:on("error", function(e) errors[#errors + 1] = e end)
    client:send("void", free, LO4, function(err, n)
      calls[#calls + 1] = { err, n }
      client:send("void again", free, LO4, function(err2, n2)
        calls[#calls + 1] = { err2, n2 }
        dgram.setTimeout(30, function() client:close() end)
      end)
    end)
    H.run(2000)
    assert.same({ { nil, 4 }, { nil, 10 } }, calls)
    assert.same({}, errors)
  end)

  it("a server can answer the sender at rinfo.address/rinfo.port", function()
    local server, port = H.bound("udp4")
    local client = H.socket("udp4")
    local reply
    server:on("message", function(msg, rinfo)
      server:send(msg:upper(), rinfo.port, rinfo.address)
    end)
    client:on("message", function(msg, rinfo)
      reply = { msg, rinfo.port }
      server:close()
      client:close()
    end)
    client:send("ping", port, LO4)
    H.run(2000)
    assert.same({ "PING", port }, reply)
  end)

  it("datagrams from two senders carry each sender's port", function()
    local server, port = H.bound("udp4")
    local a, b = H.socket("udp4"), H.socket("udp4")
    local from, pa, pb = {}, nil, nil
    server:on("message", function(msg, rinfo)
      from[msg] = rinfo.port
      if from.a and from.b then
        pa, pb = a:address().port, b:address().port
        server:close()
        a:close()
        b:close()
      end
    end)
    a:send("a", port)
    b:send("b", port)
    H.run(2000)
    assert.equals(pa, from.a)
    assert.equals(pb, from.b)
    assert.are_not.equal(pa, pb)
  end)
end)

describe("send: destinations and rinfo (Node's test-dgram-* cases)", function()
  after_each(H.cleanup)

  it("test-dgram-send-default-host: without an address, udp4 sends to 127.0.0.1",
    function()
      local c = H.socket("udp4")
      local got, size = {}, 0
      c:on("message", function(msg, rinfo)
        got[#got + 1] = msg
        size = size + rinfo.size
        assert.equals(LO4, rinfo.address)
      end)
      local x, y, z = string.rep("x", 256), string.rep("y", 256), string.rep("z", 256)
      c:bind(0, function()
        local port = c:address().port
        c:send(x, 0, #x, port)
        c:send(y, port)
        c:send({ z }, port)
        c:send("hello", 0, 5, port)
      end)
      run_until(2000, function() return #got >= 4 end)
      table.sort(got)
      assert.same({ "hello", x, y, z }, got)
      assert.equals(256 * 3 + 5, size)
    end)

  it("test-dgram-udp6-send-default-host: without an address, udp6 sends to ::1", function()
    local c = H.socket("udp6")
    local got = {}
    c:on("message", function(msg, rinfo)
      got[#got + 1] = msg
      assert.equals(LO6, rinfo.address)
      assert.equals("IPv6", rinfo.family)
    end)
    local x, y, z = string.rep("x", 256), string.rep("y", 256), string.rep("z", 256)
    c:bind(0, function()
      local port = c:address().port
      c:send(x, 0, #x, port)
      c:send(y, port)
      c:send({ z }, port)
      c:send("hello", 0, 5, port)
    end)
    run_until(2000, function() return #got >= 4 end)
    table.sort(got)
    assert.same({ "hello", x, y, z }, got)
  end)

  it("test-dgram-udp4: echo through a server; rinfo says 127.0.0.1 and the server port",
    function()
      local server, sport = H.bound("udp4")
      server:on("message", function(msg, rinfo)
        assert.equals(LO4, rinfo.address)
        server:send(msg, 0, #msg, rinfo.port, rinfo.address)
      end)
      local client = H.socket("udp4")
      local reply, info
      local text = "A message to send"
      client:on("message", function(msg, rinfo)
        reply, info = msg, rinfo
        client:close()
        server:close()
      end)
      client:send(text, 0, #text, sport, "localhost", function(err)
        assert.is_nil(err)
      end)
      H.run(2000)
      assert.equals(text, reply)
      assert.equals(LO4, info.address)
      assert.equals(sport, info.port)
      assert.equals("IPv4", info.family)
      assert.equals(#text, info.size)
    end)

  it("test-dgram-pingpong: 100 round trips, servers bound to 'localhost' and to the "
    .. "default address", function()
      local function pingpong(host)
        local N, count, callbacks = 100, 0, 0
        local server = H.socket("udp4")
        server:on("message", function(msg, rinfo)
          if msg == "PING" then
            server:send("PONG", 0, 4, rinfo.port, rinfo.address, function(err)
              assert.is_nil(err)
              callbacks = callbacks + 1
            end)
          end
        end)
        local client = H.socket("udp4")
        local closed = false
        client:on("message", function(msg)
          assert.equals("PONG", msg)
          count = count + 1
          if count < N then
            client:send("PING", 0, 4, server:address().port, "localhost")
          else
            client:send("PING", 0, 4, server:address().port, "localhost", function()
              client:close()
            end)
          end
        end)
        client:on("close", function() closed = true; server:close() end)
        server:bind(0, host, function()
          client:send("PING", 0, 4, server:address().port, "localhost")
        end)
        H.run(5000)
        assert.is_true(closed)
        assert.equals(N, count)
        assert.is_true(callbacks >= N - 1)
      end
      pingpong("localhost")
      pingpong(nil)
    end)
end)

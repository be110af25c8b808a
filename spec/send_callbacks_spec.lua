-- Send callbacks and events: arguments, never inside send, order, the implicit bind
-- and its 'listening', bursts.
local H = require("helper")
local dgram, exchange, assert_cb_ok, run_until = H.dgram, H.exchange, H.assert_cb_ok, H.run_until
local receiver, local_lookup = H.listener, H.local_lookup

local LO4, LO6 = "127.0.0.1", "::1"

describe("send: callbacks and events", function()
  after_each(H.cleanup)

  it("the callback gets (nil, bytes), bytes an integer", function()
    local args
    local server, port = H.bound("udp4")
    server:on("message", function() server:close() end)
    local client = H.socket("udp4")
    client:send("12345678", port, LO4, function(...)
      args = table.pack(...)
      client:close()
    end)
    H.run(2000)
    assert.is_nil(args[1])
    assert.equals(8, args[2])
    assert.equals("integer", math.type(args[2]))
  end)

  it("the callback never runs inside send (bound socket, literal address)", function()
    local server, port = H.bound("udp4")
    server:on("message", function() server:close() end)
    local client = H.socket("udp4")
    client:bind(0, LO4)
    local returned, inside = false, nil
    client:send("x", port, LO4, function()
      inside = not returned
      client:close()
    end)
    returned = true
    H.run(2000)
    assert.is_false(inside)
  end)

  it("the callback never runs inside send (unbound socket)", function()
    local t = exchange("udp4", 1, 1, function(_, port, x) x.send("x", port) end)
    assert.is_false(t.cbs[1].sync)
  end)

  it("the callback never runs inside send (already bound by an earlier send)", function()
    local t = exchange("udp4", 3, 3, function(_, port, x)
      x.send("1", port)
      x.send("2", port)
      x.send("3", port)
    end)
    for i = 1, 3 do assert.is_false(t.cbs[i].sync) end
  end)

  it("the callback never runs inside send when called from a message handler", function()
    local server, port = H.bound("udp4")
    local client = H.socket("udp4")
    local inside
    server:on("message", function(msg, rinfo)
      local returned = false
      server:send("re:" .. msg, rinfo.port, rinfo.address, function()
        inside = not returned
      end)
      returned = true
    end)
    client:on("message", function()
      dgram.setTimeout(20, function()
        server:close()
        client:close()
      end)
    end)
    client:send("q", port)
    H.run(2000)
    assert.is_false(inside)
  end)

  it("the callback of a failed send never runs inside send", function()
    local t = exchange("udp4", 0, 1, function(_, port, x) x.send(string.rep("x", 65508), port) end)
    assert.is_false(t.cbs[1].sync)
    assert.equals("EMSGSIZE", t.cbs[1][1].code)
  end)

  it("callbacks run once each, in the order of the sends", function()
    local order = {}
    local t = exchange("udp4", 10, 10, function(c, port, x)
      for i = 1, 10 do
        local cb, returned = x.cb()
        c:send("m" .. i, port, LO4, function(...)
          order[#order + 1] = i
          cb(...)
        end)
        returned()
      end
    end)
    assert.same({ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }, order)
    assert.equals(10, #t.cbs)
  end)

  it("send on an unbound socket binds it and emits 'listening' before the callback", function()
    local server, port = H.bound("udp4")
    local client = H.socket("udp4")
    local events = {}
    server:on("message", function(msg)
      events[#events + 1] = "message:" .. msg
    end)
    client:on("listening", function() events[#events + 1] = "listening" end)
    client:send("first", port, LO4, function(err)
      events[#events + 1] = "cb:" .. tostring(err)
      dgram.setTimeout(20, function()
        server:close()
        client:close()
      end)
    end)
    H.run(2000)
    local li, ci
    for i, e in ipairs(events) do
      if e == "listening" then li = li or i end
      if e == "cb:nil" then ci = i end
    end
    assert.is_not_nil(li, "no 'listening': " .. table.concat(events, ","))
    assert.is_not_nil(ci, "no successful callback: " .. table.concat(events, ","))
    assert.is_true(li < ci, "order: " .. table.concat(events, ","))
  end)

  it("'listening' comes once for several sends when unbound, before all callbacks", function()
    local events = {}
    local t = exchange("udp4", 3, 3, function(c, port, x)
      c:on("listening", function() events[#events + 1] = "listening" end)
      for i = 1, 3 do
        local cb, returned = x.cb()
        c:send("s" .. i, port, function(...)
          events[#events + 1] = "cb" .. i
          cb(...)
        end)
        returned()
      end
    end)
    assert.same({ "listening", "cb1", "cb2", "cb3" }, events)
    assert.same({ "s1", "s2", "s3" }, t.msgs)
  end)

  it("send on an unbound socket without a callback emits 'listening'", function()
    local listening = 0
    local t = exchange("udp4", 1, 0, function(c, port)
      c:on("listening", function() listening = listening + 1 end)
      c:send("x", port)
    end)
    assert.equals(1, listening)
    assert.same({ "x" }, t.msgs)
  end)

  it("an implicitly bound sender emits 'listening' before its datagram is received", function()
    -- Node sends only once the implicit bind has emitted 'listening'.
    local server, port = H.bound("udp4")
    local client = H.socket("udp4")
    local events = {}
    client:on("listening", function() events[#events + 1] = "listening" end)
    server:on("message", function(msg)
      events[#events + 1] = "message:" .. msg
      dgram.setTimeout(20, function()
        server:close()
        client:close()
      end)
    end)
    client:send("x", port)
    H.run(2000)
    assert.same({ "listening", "message:x" }, events)
  end)

  it("send on an unbound udp6 socket binds it and delivers over ::1", function()
    local events = {}
    local t = exchange("udp6", 1, 1, function(c, port, x)
      c:on("listening", function()
        events[#events + 1] = "listening"
        events.family = c:address().family
      end)
      local cb, returned = x.cb()
      c:send("v6", port, function(...)
        events[#events + 1] = "cb"
        cb(...)
      end)
      returned()
    end)
    assert.same({ "listening", "cb" }, { events[1], events[2] })
    assert.equals("IPv6", events.family)
    assert.same({ "v6" }, t.msgs)
  end)

  it("the implicit bind gives the socket a port that is rinfo.port at the receiver", function()
    local t = exchange("udp4", 1, 1, function(_, port, x) x.send("where from", port) end)
    assert.equals("integer", math.type(t.infos[1].port))
    assert.is_true(t.infos[1].port > 0)
  end)

  it("a send on a socket whose 'localhost' bind is pending waits for it", function()
    local server, port = H.bound("udp4")
    local client = H.socket("udp4")
    local events = {}
    server:on("message", function(msg, rinfo)
      events[#events + 1] = "message:" .. msg
      events.from = rinfo.port
      server:close()
      client:close()
    end)
    client:on("listening", function()
      events[#events + 1] = "listening"
      events.port = client:address().port
    end)
    client:bind(0, "localhost")
    client:send(("wait"):rep(2), port, LO4)
    collectgarbage()
    H.run(2000)
    assert.same({ "listening", "message:waitwait" }, { events[1], events[2] })
    assert.equals(events.port, events.from)
  end)

  it("1000 datagrams all arrive, in order", function()
    local server, port = H.bound("udp4")
    local client = H.socket("udp4")
    local count, in_order, batch, total = 0, true, 50, 1000
    local sent = 0
    local function send_batch()
      for _ = 1, batch do
        sent = sent + 1
        client:send(tostring(sent), port, LO4)
      end
    end
    server:on("message", function(msg)
      count = count + 1
      if msg ~= tostring(count) then in_order = false end
      if count == total then
        server:close()
        client:close()
      elseif count == sent then
        send_batch()
      end
    end)
    send_batch()
    H.run(5000)
    assert.equals(total, count)
    assert.is_true(in_order)
  end)

  it("a burst of 100 datagrams with callbacks: all arrive in order, all callbacks once", function()
    local cbs, cb_order = 0, true
    local t = exchange("udp4", 100, 100, function(c, port, x)
      for i = 1, 100 do
        local cb, returned = x.cb()
        c:send(("%03d"):format(i), port, LO4, function(...)
          cbs = cbs + 1
          if cbs ~= i then cb_order = false end
          cb(...)
        end)
        returned()
      end
    end)
    assert.equals(100, #t.msgs)
    for i = 1, 100 do assert.equals(("%03d"):format(i), t.msgs[i]) end
    assert.equals(100, cbs)
    assert.is_true(cb_order)
    for i = 1, 100 do assert_cb_ok(t.cbs[i], 3) end
  end)

  it("udp6 and udp4 sockets exchange in both directions in one loop", function()
    local s4, p4 = H.bound("udp4")
    local s6, p6 = H.bound("udp6")
    local got = {}
    local function maybe_close()
      if got.four and got.six then
        s4:close()
        s6:close()
      end
    end
    s4:on("message", function(m, r) got.four = { m, r.family } maybe_close() end)
    s6:on("message", function(m, r) got.six = { m, r.family } maybe_close() end)
    s4:send("to four", p4, LO4)
    s6:send("to six", p6, LO6)
    H.run(2000)
    assert.same({ "to four", "IPv4" }, got.four)
    assert.same({ "to six", "IPv6" }, got.six)
  end)
end)

describe("send: callbacks (Node's test-dgram-* cases)", function()
  after_each(H.cleanup)

  it("test-dgram-send-callback-buffer: send(msg, port, address, cb) reports the size",
    function()
      local _, port = receiver("udp4")
      local c = H.socket("udp4")
      local res
      c:send(string.rep("x", 256), port, LO4, function(err, n) res = { err = err, n = n } end)
      run_until(2000, function() return res ~= nil end)
      assert.is_nil(res.err)
      assert.equals(256, res.n)
    end)

  it("test-dgram-send-callback-buffer-empty-address: send(msg, port, cb)", function()
    local c, port = H.bound("udp4")
    local res
    c:send(string.rep("x", 256), port, function(err, n) res = { err = err, n = n } end)
    run_until(2000, function() return res ~= nil end)
    assert.is_nil(res.err)
    assert.equals(256, res.n)
  end)

  it("test-dgram-send-callback-buffer-length: send(msg, offset, length, port, address, cb)",
    function()
      local _, port, got = receiver("udp4")
      local c = H.socket("udp4")
      local res
      local msg = string.rep("a", 20) .. string.rep("x", 236)
      c:send(msg, 20, 236, port, LO4, function(err, n) res = { err = err, n = n } end)
      run_until(2000, function() return res ~= nil and #got >= 1 end)
      assert.is_nil(res.err)
      assert.equals(236, res.n)
      assert.equals(string.rep("x", 236), got[1] and got[1].msg)
    end)

  it("test-dgram-send-callback-buffer-length-empty-address: send(msg, offset, length, "
    .. "port, cb)", function()
      local _, port, got = receiver("udp4")
      local c = H.socket("udp4")
      local res
      local msg = string.rep("a", 20) .. string.rep("x", 236)
      c:send(msg, 20, 236, port, function(err, n) res = { err = err, n = n } end)
      run_until(2000, function() return res ~= nil and #got >= 1 end)
      assert.is_nil(res.err)
      assert.equals(236, res.n)
      assert.equals(string.rep("x", 236), got[1] and got[1].msg)
    end)

  it("test-dgram-send-callback-multi-buffer: send({b1, b2}, port, address, cb)", function()
    local _, port, got = receiver("udp4")
    local c = H.socket("udp4")
    local res
    local b1, b2 = string.rep("x", 256), string.rep("y", 256)
    c:send({ b1, b2 }, port, LO4, function(err, n) res = { err = err, n = n } end)
    run_until(2000, function() return res ~= nil and #got >= 1 end)
    assert.is_nil(res.err)
    assert.equals(512, res.n)
    assert.equals(b1 .. b2, got[1] and got[1].msg)
  end)

  it("test-dgram-send-callback-multi-buffer-empty-address: send({b1, b2}, port, cb)",
    function()
      local c, port = H.bound("udp4")
      local got = {}
      c:on("message", function(msg) got[#got + 1] = msg end)
      local res
      local b1, b2 = string.rep("x", 256), string.rep("y", 256)
      c:send({ b1, b2 }, port, function(err, n) res = { err = err, n = n } end)
      run_until(2000, function() return res ~= nil and #got >= 1 end)
      assert.is_nil(res.err)
      assert.equals(512, res.n)
      assert.equals(b1 .. b2, got[1])
    end)

  it("test-dgram-send-callback-recursive: sends from the send callback, which never runs "
    .. "inside send", function()
      local c, port = H.bound("udp4")
      local limit, sent, received, sync_calls = 10, 0, 0, 0
      local inside = false
      local function onsend()
        if inside then sync_calls = sync_calls + 1 end
        if sent < limit then
          sent = sent + 1
          inside = true
          c:send("abc", 0, 3, port, LO4, onsend)
          inside = false
        end
      end
      c:on("message", function()
        received = received + 1
        if received == limit then c:close() end
      end)
      onsend()
      H.run(3000)
      assert.equals(limit, received)
      assert.equals(0, sync_calls)
    end)

  it("test-dgram-send-cb-quelches-error: a send callback gets a DNS failure instead of "
    .. "'error'; without one it is emitted", function()
      local s = H.socket({ type = "udp4", lookup = local_lookup() })
      local cb_err, emitted = nil, {}
      s:on("error", function(e) emitted[#emitted + 1] = e end)
      s:send("gary busey", 0, 10, 100, "dne.example.com", function(err) cb_err = err end)
      run_until(2000, function() return cb_err ~= nil end)
      assert.is_truthy(cb_err)
      assert.equals(0, #emitted)
      s:send("gary busey", 0, 10, 100, "dne.invalid")
      run_until(2000, function() return #emitted >= 1 end)
      assert.equals(1, #emitted)
    end)

  it("test-dgram-send-error: the lookup's own error object reaches 'error' / the callback",
    function()
      local mock = { code = "EMOCK", message = "mock DNS error" }
      local function failing(host, family, cb)
        if host == "fail.test" then cb(mock) else cb(nil, host, family) end
      end
      local s1 = H.socket({ type = "udp4", lookup = failing })
      local s2 = H.socket({ type = "udp4", lookup = failing })
      local got1, got2
      local msgs = 0
      s1:on("message", function() msgs = msgs + 1 end)
      s2:on("message", function() msgs = msgs + 1 end)
      s1:on("error", function(e) got1 = e end)
      s1:bind(0, LO4, function() s1:send("foo", s1:address().port, "fail.test") end)
      s2:bind(0, LO4, function()
        s2:send("foo", s2:address().port, "fail.test", function(e) got2 = e end)
      end)
      run_until(2000, function() return got1 ~= nil and got2 ~= nil end)
      assert.is_true(rawequal(mock, got1), "'error' got another object: " .. tostring(got1))
      assert.is_true(rawequal(mock, got2), "callback got another object: " .. tostring(got2))
      assert.equals(0, msgs)
    end)
end)

-- What arrives on the wire: arrays, empty and binary datagrams, the size limits
-- (EMSGSIZE), strings collected or changed after send.
local H = require("helper")
local dgram, exchange, assert_cb_ok, run_until = H.dgram, H.exchange, H.assert_cb_ok, H.run_until

local LO4, LO6 = "127.0.0.1", "::1"

describe("send: payloads", function()
  after_each(H.cleanup)

  it("an array of strings is one datagram, concatenated on the wire", function()
    local t = exchange("udp4", 1, 1, function(_, port, x)
      x.send({ "con", "cat", "", "enated" }, port, LO4)
    end)
    assert.same({ "concatenated" }, t.msgs)
    assert.equals(12, t.infos[1].size)
    assert_cb_ok(t.cbs[1], 12)
  end)

  it("an array of one string", function()
    local t = exchange("udp4", 1, 1, function(_, port, x) x.send({ "solo" }, port) end)
    assert.same({ "solo" }, t.msgs)
    assert_cb_ok(t.cbs[1], 4)
  end)

  it("an array of binary parts keeps every byte", function()
    local parts = { H.all_bytes:sub(1, 1), H.all_bytes:sub(2, 128), H.all_bytes:sub(129) }
    local t = exchange("udp4", 1, 1, function(_, port, x) x.send(parts, port, LO4) end)
    assert.same({ H.all_bytes }, t.msgs)
    assert_cb_ok(t.cbs[1], 256)
  end)

  it("two array sends are two datagrams", function()
    local t = exchange("udp4", 2, 0, function(c, port)
      c:send({ "a", "b" }, port)
      c:send({ "c", "d" }, port)
    end)
    assert.same({ "ab", "cd" }, t.msgs)
  end)

  it("an empty array sends an empty datagram", function()
    local t = exchange("udp4", 1, 1, function(_, port, x) x.send({}, port, LO4) end)
    assert.same({ "" }, t.msgs)
    assert.equals(0, t.infos[1].size)
    assert_cb_ok(t.cbs[1], 0)
  end)

  it("an empty string sends an empty datagram", function()
    local t = exchange("udp4", 1, 1, function(_, port, x) x.send("", port, LO4) end)
    assert.same({ "" }, t.msgs)
    assert.equals(0, t.infos[1].size)
    assert.equals("integer", math.type(t.infos[1].size))
    assert_cb_ok(t.cbs[1], 0)
  end)

  it("an empty datagram between two others is delivered in place", function()
    local t = exchange("udp4", 3, 0, function(c, port)
      c:send("a", port)
      c:send("", port)
      c:send("c", port)
    end)
    assert.same({ "a", "", "c" }, t.msgs)
  end)

  it("all 256 byte values arrive intact", function()
    local t = exchange("udp4", 1, 1, function(_, port, x) x.send(H.all_bytes, port, LO4) end)
    assert.equals(H.all_bytes, t.msgs[1])
    assert.equals(256, t.infos[1].size)
    assert_cb_ok(t.cbs[1], 256)
  end)

  it("embedded and trailing zero bytes are kept", function()
    local payload = "\0a\0\0b\0"
    local t = exchange("udp4", 1, 0, function(c, port) c:send(payload, port) end)
    assert.equals(payload, t.msgs[1])
    assert.equals(6, t.infos[1].size)
  end)

  it("all 256 byte values arrive intact over udp6", function()
    local t = exchange("udp6", 1, 1, function(_, port, x) x.send(H.all_bytes, port, LO6) end)
    assert.equals(H.all_bytes, t.msgs[1])
  end)

  it("65507 bytes (the udp4 maximum) arrive whole", function()
    local big = H.all_bytes:rep(256):sub(1, 65507)
    local t = exchange("udp4", 1, 1, function(_, port, x) x.send(big, port, LO4) end)
    assert.equals(65507, #t.msgs[1])
    assert.equals(big, t.msgs[1])
    assert.equals(65507, t.infos[1].size)
    assert_cb_ok(t.cbs[1], 65507)
  end)

  it("65507 bytes as an array of parts arrive whole", function()
    local parts = {}
    for i = 1, 7 do parts[i] = string.rep(string.char(64 + i), 9000) end
    parts[8] = string.rep("z", 65507 - 63000)
    local want = table.concat(parts)
    local t = exchange("udp4", 1, 1, function(_, port, x) x.send(parts, port, LO4) end)
    assert.equals(want, t.msgs[1])
    assert_cb_ok(t.cbs[1], 65507)
  end)

  it("65508 bytes over udp4 fail with EMSGSIZE to the callback; nothing arrives", function()
    local server, port = H.bound("udp4")
    local client = H.socket("udp4")
    local got, calls, errors, sync = {}, {}, {}, true
    server:on("message", function(msg) got[#got + 1] = msg end)
    client:on("error", function(e) errors[#errors + 1] = e end)
    client:send(string.rep("x", 65508), port, LO4, function(err, bytes)
      calls[#calls + 1] = { err = err, bytes = bytes, sync = sync }
      -- the socket still works after the failure
      client:send("small", port, LO4, function()
        dgram.setTimeout(30, function()
          server:close()
          client:close()
        end)
      end)
    end)
    sync = false
    H.run(2000)
    assert.equals(1, #calls)
    assert.is_false(calls[1].sync, "the callback ran inside send")
    assert.is_not_nil(calls[1].err)
    assert.equals("EMSGSIZE", calls[1].err.code)
    assert.equals("send", calls[1].err.syscall)
    assert.equals("integer", math.type(calls[1].err.errno))
    assert.is_true(calls[1].err.errno < 0)
    assert.equals("string", type(calls[1].err.message))
    assert.equals(LO4, calls[1].err.address)
    assert.equals(port, calls[1].err.port)
    assert.same({ "small" }, got)
    assert.same({}, errors)
  end)

  it("65508 bytes over udp4 without a callback emit 'error' with EMSGSIZE", function()
    local server, port = H.bound("udp4")
    local client = H.socket("udp4")
    local got, errors, sync = {}, {}, true
    server:on("message", function(msg)
      got[#got + 1] = msg
      server:close()
      client:close()
    end)
    client:on("error", function(e)
      errors[#errors + 1] = { err = e, sync = sync }
      client:send("next", port, LO4)
    end)
    client:send(string.rep("x", 65508), port, LO4)
    sync = false
    H.run(2000)
    assert.equals(1, #errors)
    assert.is_false(errors[1].sync, "'error' was emitted inside send")
    assert.equals("EMSGSIZE", errors[1].err.code)
    assert.same({ "next" }, got)
  end)

  it("EMSGSIZE without a callback or an 'error' listener is raised out of the loop", function()
    local _, port = H.bound("udp4")
    local client = H.socket("udp4")
    client:send(string.rep("x", 65508), port, LO4)
    local ok, err = pcall(H.run, 2000)
    assert.is_false(ok)
    assert.equals("table", type(err))
    assert.equals("EMSGSIZE", err.code)
  end)

  it("65508 bytes sliced out of a longer string also fail with EMSGSIZE", function()
    local t = exchange("udp4", 0, 1, function(_, port, x)
      x.send(string.rep("y", 70000), 10, 65508, port, LO4)
    end)
    assert.equals("EMSGSIZE", t.cbs[1][1] and t.cbs[1][1].code)
    assert.same({}, t.msgs)
  end)

  it("65527 bytes (the udp6 maximum) arrive whole over ::1", function()
    local big = H.all_bytes:rep(256):sub(1, 65527)
    local t = exchange("udp6", 1, 1, function(_, port, x) x.send(big, port, LO6) end)
    assert.equals(big, t.msgs[1])
    assert.equals(65527, t.infos[1].size)
    assert_cb_ok(t.cbs[1], 65527)
  end)

  it("65528 bytes over udp6 fail with EMSGSIZE", function()
    local t = exchange("udp6", 0, 1, function(_, port, x)
      x.send(string.rep("x", 65528), port, LO6)
    end)
    assert.equals("EMSGSIZE", t.cbs[1][1] and t.cbs[1][1].code)
    assert.is_nil(t.cbs[1][2])
    assert.same({}, t.msgs)
  end)

  it("a string that is garbage once send returns is still delivered intact", function()
    local function fresh(n, seed)
      local b = {}
      for i = 1, n do b[i] = string.char((i * seed + 13) % 256) end
      return table.concat(b)
    end
    local t = exchange("udp4", 3, 3, function(_, port, x)
      x.send(fresh(1000, 7), port, LO4)
      collectgarbage()
      collectgarbage()
      x.send(fresh(2000, 11), 500, 1000, port, LO4)
      collectgarbage()
      x.send({ fresh(300, 3), fresh(300, 5) }, port, LO4)
      collectgarbage()
      collectgarbage()
    end)
    assert.same({ fresh(1000, 7), fresh(2000, 11):sub(501, 1500), fresh(300, 3) .. fresh(300, 5) },
      t.msgs)
  end)

  it("a fresh string sent to 'localhost' survives a collection during the lookup", function()
    local function fresh() return ("%d-"):format(12345):rep(200) end
    local t = exchange("udp4", 1, 1, function(_, port, x)
      x.send(fresh(), port, "localhost")
      collectgarbage()
      collectgarbage()
    end)
    assert.same({ fresh() }, t.msgs)
  end)

  it("a sliced fresh string sent to 'localhost' survives a collection during the lookup", function()
    local t = exchange("udp4", 1, 1, function(_, port, x)
      x.send(("abc"):rep(100) .. "XYZ", 300, 3, port, "localhost")
      collectgarbage()
      collectgarbage()
    end)
    assert.same({ "XYZ" }, t.msgs)
  end)

  it("changing an array after send does not change the datagram", function()
    local t = exchange("udp4", 2, 2, function(_, port, x)
      local parts = { "one", "two" }
      x.send(parts, port, "localhost") -- waits for the lookup
      parts[1], parts[2], parts[3] = "XXX", nil, "ZZZ"
      collectgarbage()
      local now = { "three", "four" }
      x.send(now, port, LO4)
      now[1] = "changed"
      collectgarbage()
    end)
    table.sort(t.msgs)
    assert.same({ "onetwo", "threefour" }, t.msgs)
  end)
end)

describe("send: payloads (Node's test-dgram-* cases)", function()
  after_each(H.cleanup)

  it("test-dgram-msgsize: a 256 KiB datagram fails with EMSGSIZE to the callback",
    function()
      local s = H.socket("udp4")
      local res
      s:send(string.rep("\0", 256 * 1024), 0, 256 * 1024, 12345, LO4, function(err)
        res = { err = err }
      end)
      run_until(2000, function() return res ~= nil end)
      local err = res.err
      assert.equals("table", type(err))
      assert.equals("EMSGSIZE", err.code)
      assert.equals(LO4, err.address)
      assert.equals(12345, err.port)
      assert.equals("send", err.syscall)
      assert.equals("send EMSGSIZE 127.0.0.1:12345", err.message)
    end)

  it("test-dgram-send-empty-array: send({}, port, address, cb) sends 0 bytes", function()
    local c, port = H.bound("udp4")
    local got, res = {}, nil
    c:on("message", function(msg) got[#got + 1] = msg end)
    c:send({}, port, LO4, function(err, n) res = { err = err, n = n } end)
    run_until(2000, function() return res ~= nil and #got >= 1 end)
    assert.is_nil(res and res.err)
    assert.equals(0, res and res.n)
    assert.equals("", got[1])
  end)

  it("test-dgram-send-empty-buffer: send('', 0, 0, port, address, cb) arrives empty",
    function()
      local c, port = H.bound("udp4")
      local got, res = {}, nil
      c:on("message", function(msg) got[#got + 1] = msg end)
      c:send("", 0, 0, port, LO4, function(err, n) res = { err = err, n = n } end)
      run_until(2000, function() return res ~= nil and #got >= 1 end)
      assert.is_nil(res and res.err)
      assert.equals("", got[1])
    end)

  it("test-dgram-send-empty-packet: send('x', 0, 0, ...) arrives as an empty datagram",
    function()
      local c, port = H.bound("udp4")
      local got, res = {}, nil
      c:on("message", function(msg) got[#got + 1] = msg end)
      c:send("x", 0, 0, port, LO4, function(err, n) res = { err = err, n = n } end)
      run_until(2000, function() return res ~= nil and #got >= 1 end)
      assert.is_nil(res and res.err)
      assert.equals(0, res and res.n)
      assert.equals("", got[1])
    end)

  it("test-dgram-send-multi-buffer-copy: the array can change after send", function()
    local c, port = H.bound("udp4")
    local got, res = {}, nil
    c:on("message", function(msg) got[#got + 1] = msg end)
    local b1, b2 = string.rep("x", 256), string.rep("y", 256)
    local t = { b1, b2 }
    c:send(t, port, LO4, function(err, n) res = { err = err, n = n } end)
    t[1], t[2] = nil, nil
    run_until(2000, function() return res ~= nil and #got >= 1 end)
    assert.equals(512, res and res.n)
    assert.equals(b1 .. b2, got[1])
  end)

  it("test-dgram-send-multi-string-array: {'foo','bar','baz'} to 'localhost'", function()
    local s = H.socket("udp4")
    local got = {}
    s:on("message", function(msg) got[#got + 1] = msg end)
    s:bind(0, LO4, function() s:send({ "foo", "bar", "baz" }, s:address().port, "localhost") end)
    run_until(2000, function() return #got >= 1 end)
    assert.equals("foobarbaz", got[1])
  end)
end)

-- Every argument form of socket:send, and the bad arguments it raises on at once.
local H = require("helper")
local raised, exchange, assert_cb_ok, raises = H.raised, H.exchange, H.assert_cb_ok, H.raises
local run_until, quiet, no_raise, free_port = H.run_until, H.quiet, H.no_raise, H.free_port
local receiver = H.listener

local LO4 = "127.0.0.1"

describe("send: argument forms", function()
  after_each(H.cleanup)

  it("send(msg, port) goes to 127.0.0.1 and arrives from the client's port", function()
    local t = exchange("udp4", 1, 0, function(c, port) c:send("short", port) end)
    assert.same({ "short" }, t.msgs)
    assert.equals(LO4, t.infos[1].address)
    assert.equals(t.cport, t.infos[1].port)
    assert.same({}, t.errors)
  end)

  it("send(msg, port, address)", function()
    local t = exchange("udp4", 1, 0, function(c, port) c:send("with address", port, LO4) end)
    assert.same({ "with address" }, t.msgs)
    assert.equals(12, t.infos[1].size)
  end)

  it("send(msg, port, callback)", function()
    local t = exchange("udp4", 1, 1, function(_, port, x) x.send("cb form", port) end)
    assert.same({ "cb form" }, t.msgs)
    assert.equals(1, #t.cbs)
    assert_cb_ok(t.cbs[1], 7)
  end)

  it("send(msg, port, address, callback)", function()
    local t = exchange("udp4", 1, 1, function(_, port, x) x.send("full form", port, LO4) end)
    assert.same({ "full form" }, t.msgs)
    assert_cb_ok(t.cbs[1], 9)
  end)

  it("send(msg, port, nil, callback)", function()
    local t = exchange("udp4", 1, 1, function(_, port, x) x.send_at(4, "nil address", port) end)
    assert.same({ "nil address" }, t.msgs)
    assert_cb_ok(t.cbs[1], 11)
  end)

  it("an empty address string means the default address", function()
    local t = exchange("udp4", 1, 1, function(_, port, x) x.send("empty host", port, "") end)
    assert.same({ "empty host" }, t.msgs)
    assert_cb_ok(t.cbs[1], 10)
  end)

  it("a numeric string port is accepted", function()
    local t = exchange("udp4", 1, 1, function(_, port, x)
      x.send("str port", tostring(port), LO4)
    end)
    assert.same({ "str port" }, t.msgs)
    assert_cb_ok(t.cbs[1], 8)
  end)

  it("a numeric string port is accepted in the short form", function()
    local t = exchange("udp4", 1, 0, function(c, port) c:send("str port", tostring(port)) end)
    assert.same({ "str port" }, t.msgs)
  end)

  it("an integral float port is accepted", function()
    local t = exchange("udp4", 1, 1, function(_, port, x) x.send("float", port + 0.0, LO4) end)
    assert.same({ "float" }, t.msgs)
  end)

  it("long form: 0-based offset and length select the bytes (Node's example)", function()
    local t = exchange("udp4", 1, 1, function(_, port, x)
      x.send("hello world", 6, 5, port, LO4)
    end)
    assert.same({ "world" }, t.msgs)
    assert.equals(5, t.infos[1].size)
    assert_cb_ok(t.cbs[1], 5)
  end)

  it("long form without address: send(msg, offset, length, port)", function()
    local t = exchange("udp4", 1, 0, function(c, port) c:send("hello world", 0, 5, port) end)
    assert.same({ "hello" }, t.msgs)
  end)

  it("long form with a callback but no address: send(msg, offset, length, port, cb)", function()
    local t = exchange("udp4", 1, 1, function(_, port, x) x.send("hello world", 2, 3, port) end)
    assert.same({ "llo" }, t.msgs)
    assert_cb_ok(t.cbs[1], 3)
  end)

  it("long form with a nil address and a callback", function()
    local t = exchange("udp4", 1, 1, function(_, port, x)
      x.send_at(6, "hello world", 4, 4, port, nil)
    end)
    assert.same({ "o wo" }, t.msgs)
    assert_cb_ok(t.cbs[1], 4)
  end)

  it("long form slices binary data byte-exactly", function()
    local t = exchange("udp4", 1, 1, function(_, port, x)
      x.send(H.all_bytes, 100, 56, port, LO4)
    end)
    assert.same({ H.all_bytes:sub(101, 156) }, t.msgs)
    assert_cb_ok(t.cbs[1], 56)
  end)

  it("long form: the whole string (offset 0, length #msg)", function()
    local t = exchange("udp4", 1, 1, function(_, port, x) x.send("entire", 0, 6, port, LO4) end)
    assert.same({ "entire" }, t.msgs)
  end)

  it("long form: offset at the end with length 0 sends an empty datagram", function()
    local t = exchange("udp4", 1, 1, function(_, port, x) x.send("abc", 3, 0, port, LO4) end)
    assert.same({ "" }, t.msgs)
    assert.equals(0, t.infos[1].size)
    assert_cb_ok(t.cbs[1], 0)
  end)

  it("long form: length 0 in the middle sends an empty datagram", function()
    local t = exchange("udp4", 1, 1, function(_, port, x) x.send("abc", 1, 0, port, LO4) end)
    assert.same({ "" }, t.msgs)
  end)
end)

describe("send: bad arguments raise at once", function()
  after_each(H.cleanup)

  -- Raises the error of `client:send(...)` and checks nothing went out and that the
  -- socket still sends afterwards.
  local function rejects(code, make_args)
    local server, port = H.bound("udp4")
    local client = H.socket("udp4")
    local msgs, cb_calls = {}, 0
    server:on("message", function(msg)
      msgs[#msgs + 1] = msg
      server:close()
      client:close()
    end)
    local args = make_args(port)
    local cb = function() cb_calls = cb_calls + 1 end
    -- a callback that must never run, appended where the call allows one
    if args.cb_at then args[args.cb_at] = cb end
    local err = raised(client.send, client, table.unpack(args, 1, args.n or #args))
    assert.equals(code, err.code)
    assert.equals("string", type(err.message))
    client:send("after", port, LO4)
    H.run(2000)
    assert.same({ "after" }, msgs)
    assert.equals(0, cb_calls)
  end

  it("offset past the end -> ERR_BUFFER_OUT_OF_BOUNDS", function()
    rejects("ERR_BUFFER_OUT_OF_BOUNDS", function(port)
      return { "hello", 6, 0, port, LO4, cb_at = 6, n = 6 }
    end)
  end)

  it("offset + length past the end -> ERR_BUFFER_OUT_OF_BOUNDS", function()
    rejects("ERR_BUFFER_OUT_OF_BOUNDS", function(port)
      return { "hello", 2, 4, port, LO4, cb_at = 6, n = 6 }
    end)
  end)

  it("length past the end from offset 0 -> ERR_BUFFER_OUT_OF_BOUNDS", function()
    rejects("ERR_BUFFER_OUT_OF_BOUNDS", function(port) return { "hello", 0, 6, port, n = 4 } end)
  end)

  it("a huge offset -> ERR_BUFFER_OUT_OF_BOUNDS", function()
    rejects("ERR_BUFFER_OUT_OF_BOUNDS", function(port)
      return { "hello", 1e12, 1, port, LO4, n = 5 }
    end)
  end)

  it("a negative offset -> ERR_BUFFER_OUT_OF_BOUNDS", function()
    rejects("ERR_BUFFER_OUT_OF_BOUNDS", function(port)
      return { "hello", -1, 2, port, LO4, n = 5 }
    end)
  end)

  it("offset and length on an empty string -> ERR_BUFFER_OUT_OF_BOUNDS", function()
    rejects("ERR_BUFFER_OUT_OF_BOUNDS", function(port) return { "", 0, 1, port, LO4, n = 5 } end)
  end)

  it("offset/length with an array of strings -> ERR_INVALID_ARG_TYPE", function()
    rejects("ERR_INVALID_ARG_TYPE", function(port)
      return { { "ab", "cd" }, 0, 1, port, LO4, cb_at = 6, n = 6 }
    end)
  end)

  it("a missing port -> ERR_SOCKET_BAD_PORT", function()
    rejects("ERR_SOCKET_BAD_PORT", function() return { "x", n = 1 } end)
  end)

  it("a missing port with a callback -> ERR_SOCKET_BAD_PORT", function()
    rejects("ERR_SOCKET_BAD_PORT", function() return { "x", cb_at = 2, n = 2 } end)
  end)

  it("a nil port with an address -> ERR_SOCKET_BAD_PORT", function()
    rejects("ERR_SOCKET_BAD_PORT", function() return { "x", nil, LO4, n = 3 } end)
  end)

  for _, bad in ipairs({ 0, 65536, -1, 1.5, 1e10, "x", "", "0", "65536", true, false }) do
    it(("port %s (%s) -> ERR_SOCKET_BAD_PORT"):format(tostring(bad), type(bad)), function()
      rejects("ERR_SOCKET_BAD_PORT", function() return { "x", bad, LO4, cb_at = 4, n = 4 } end)
    end)
  end

  it("a table as port -> ERR_SOCKET_BAD_PORT", function()
    rejects("ERR_SOCKET_BAD_PORT", function() return { "x", {}, n = 2 } end)
  end)

  it("port 0 in the long form -> ERR_SOCKET_BAD_PORT", function()
    rejects("ERR_SOCKET_BAD_PORT", function() return { "hello", 0, 5, 0, LO4, n = 5 } end)
  end)

  it("port 65536 in the long form -> ERR_SOCKET_BAD_PORT", function()
    rejects("ERR_SOCKET_BAD_PORT", function() return { "hello", 0, 5, 65536, n = 4 } end)
  end)

  for _, bad in ipairs({ 42, true, false, {} }) do
    it(("a %s address -> ERR_INVALID_ARG_TYPE"):format(type(bad)), function()
      rejects("ERR_INVALID_ARG_TYPE", function(port)
        return { "x", port, bad, cb_at = 4, n = 4 }
      end)
    end)
  end

  it("a non-string address in the long form -> ERR_INVALID_ARG_TYPE", function()
    rejects("ERR_INVALID_ARG_TYPE", function(port) return { "hello", 0, 5, port, 42, n = 5 } end)
  end)

  for _, bad in ipairs({ 42, 4.5, true, false }) do
    it(("a %s message -> ERR_INVALID_ARG_TYPE"):format(type(bad)), function()
      rejects("ERR_INVALID_ARG_TYPE", function(port)
        return { bad, port, LO4, cb_at = 4, n = 4 }
      end)
    end)
  end

  it("a nil message -> ERR_INVALID_ARG_TYPE", function()
    rejects("ERR_INVALID_ARG_TYPE", function(port) return { nil, port, LO4, n = 3 } end)
  end)

  it("a function message -> ERR_INVALID_ARG_TYPE", function()
    rejects("ERR_INVALID_ARG_TYPE", function(port)
      return { function() end, port, LO4, n = 3 }
    end)
  end)

  it("an array with a non-string element -> ERR_INVALID_ARG_TYPE", function()
    rejects("ERR_INVALID_ARG_TYPE", function(port)
      return { { "a", 1, "b" }, port, LO4, cb_at = 4, n = 4 }
    end)
  end)

  it("a bad message is reported before a bad port", function()
    rejects("ERR_INVALID_ARG_TYPE", function() return { 42, 0, n = 2 } end)
  end)

  it("a bad message on an unbound socket does not bind it", function()
    local s = H.socket("udp4")
    local listening = false
    s:on("listening", function() listening = true end)
    local err = raised(s.send, s, true, 1234, LO4)
    assert.equals("ERR_INVALID_ARG_TYPE", err.code)
    err = raised(s.send, s, "x", 0, LO4)
    assert.equals("ERR_SOCKET_BAD_PORT", err.code)
    err = raised(s.address, s)
    assert.equals("EBADF", err.code)
    s:close()
    H.run(1000)
    assert.is_false(listening)
  end)
end)

describe("send: argument forms (Node's test-dgram-* cases)", function()
  after_each(H.cleanup)

  -- send -------------------------------------------------------------------------------
  it("test-dgram-bytes-length: send(msg, 0, #msg, port, 'localhost', cb) reports #msg",
    function()
      local _, port = receiver("udp4")
      local c = H.socket("udp4")
      local msg = "Some bytes"
      local res
      c:send(msg, 0, #msg, port, "localhost", function(err, n) res = { err = err, n = n } end)
      run_until(2000, function() return res ~= nil end)
      assert.is_nil(res.err)
      assert.equals(#msg, res.n)
      assert.equals("integer", math.type(res.n))
    end)

  it("test-dgram-oob-buffer: zero-length and in-bounds slices never raise (length 0 at "
    .. "the end is fine); each callback runs once", function()
      local port = free_port()
      local s = H.socket("udp4")
      local buf = "\1\2\3\4"
      local counts = {}
      no_raise(function()
        for i, ol in ipairs({ { 0, 0 }, { 0, 4 }, { 1, 3 }, { 3, 1 }, { 4, 0 } }) do
          counts[i] = 0
          s:send(buf, ol[1], ol[2], port, LO4, function() counts[i] = counts[i] + 1 end)
        end
      end)
      s:close()
      H.run(2000)
      quiet(20)
      assert.same({ 1, 1, 1, 1, 1 }, counts)
    end)

  it("test-dgram-send-address-types: '' and nil mean the default host; other "
    .. "non-strings raise ERR_INVALID_ARG_TYPE", function()
      local c, port = H.bound("udp4")
      local results = {}
      local function cb(err, n) results[#results + 1] = { err = err, n = n } end
      c:send("test", port, "", cb)
      c:send("test", port, nil, cb)
      c:send("test", port, cb)
      run_until(2000, function() return #results >= 3 end)
      assert.equals(3, #results)
      for _, r in ipairs(results) do
        assert.is_nil(r.err and r.err.code)
        assert.equals(4, r.n)
      end
      for _, bad in ipairs({ {}, 0, 1, true, false }) do
        local ok, err = pcall(c.send, c, "test", port, bad)
        assert.is_false(ok, "address " .. tostring(bad) .. " was accepted")
        assert.equals("ERR_INVALID_ARG_TYPE", type(err) == "table" and err.code or err,
          "address " .. tostring(bad))
      end
    end)

  it("test-dgram-send-bad-arguments: unconnected socket", function()
    local s = H.socket("udp4")
    raises("ERR_INVALID_ARG_TYPE", s.send, s)
    for _, port in ipairs({ -1, 0, 65536 }) do
      raises("ERR_SOCKET_BAD_PORT", s.send, s, "test", 1, 1, port, LO4)
    end
    raises("ERR_INVALID_ARG_TYPE", s.send, s, 23, 12345, LO4)
    raises("ERR_INVALID_ARG_TYPE", s.send, s, { "test", 23 }, 12345, LO4)
    raises("ERR_BUFFER_OUT_OF_BOUNDS", s.send, s, "hello", 6, 0, 12345, LO4)
    raises("ERR_BUFFER_OUT_OF_BOUNDS", s.send, s, "hello", 0, 6, 12345, LO4)
    raises("ERR_BUFFER_OUT_OF_BOUNDS", s.send, s, "hello", 3, 4, 12345, LO4)
  end)

  it("test-dgram-send-bad-arguments: connected socket", function()
    local s = H.socket("udp4")
    local connected = false
    s:connect(12345, function() connected = true end)
    assert.is_true(run_until(2000, function() return connected end))
    raises("ERR_INVALID_ARG_TYPE", s.send, s)
    for _, port in ipairs({ -1, 0, 65536 }) do
      local e = raises("ERR_SOCKET_DGRAM_IS_CONNECTED", s.send, s, "test", 1, 1, port, LO4)
      assert.equals("Already connected", e.message)
    end
    raises("ERR_SOCKET_DGRAM_IS_CONNECTED", s.send, s, "test", 1234, LO4, function() end)
    for _, input in ipairs({ "hello" }) do
      local e = raises("ERR_BUFFER_OUT_OF_BOUNDS", s.send, s, input, 6, 0)
      assert.equals('"offset" is outside of buffer bounds', e.message)
      e = raises("ERR_BUFFER_OUT_OF_BOUNDS", s.send, s, input, 0, 6)
      assert.equals('"length" is outside of buffer bounds', e.message)
      e = raises("ERR_BUFFER_OUT_OF_BOUNDS", s.send, s, input, 3, 4)
      assert.equals('"length" is outside of buffer bounds', e.message)
    end
    -- send(23, 12345, host): Node shifts the arguments (no length), then rejects the buffer
    raises("ERR_INVALID_ARG_TYPE", s.send, s, 23, 12345, LO4)
    raises("ERR_INVALID_ARG_TYPE", s.send, s, { "test", 23 }, 12345, LO4)
  end)

  it("test-dgram-send-invalid-msg-type: a boolean message raises ERR_INVALID_ARG_TYPE",
    function()
      local s = H.socket("udp4")
      raises("ERR_INVALID_ARG_TYPE", s.send, s, true, 0, 1, 1, "host")
      raises("ERR_INVALID_ARG_TYPE", s.send, s, 5, 0, 1, 1, "host")
    end)
end)

-- The send/receive path: every argument form of socket:send, what arrives on the wire,
-- what the callback and the events report, and in which order.
local H = require("helper")
local dgram = H.dgram

local LO4, LO6 = "127.0.0.1", "::1"

-- pcall(fn, ...) that must fail: returns the raised error object.
local function raised(fn, ...)
  local ok, err = pcall(fn, ...)
  assert.is_false(ok, "expected an error to be raised")
  assert.equals("table", type(err), "errors are error objects: " .. tostring(err))
  return err
end

-- A datagram sender and a receiver on loopback. `fn(client, port, t)` sends; `t.cb()`
-- builds a send callback that records its arguments (and whether `send` had returned).
-- Both sockets are closed once the receiver has `nmsg` datagrams and `ncb` callbacks
-- ran; `t.msgs`, `t.infos`, `t.cbs` hold what was seen.
local function exchange(kind, nmsg, ncb, fn)
  local server, port = H.bound(kind)
  local client = H.socket(kind)
  local t = { msgs = {}, infos = {}, cbs = {}, errors = {}, client = client, server = server }
  local done = false
  local function check()
    if not done and #t.msgs >= nmsg and #t.cbs >= ncb then
      done = true
      server:close()
      client:close()
    end
  end
  server:on("message", function(msg, rinfo)
    t.msgs[#t.msgs + 1] = msg
    t.infos[#t.infos + 1] = rinfo
    -- the sender is bound by now, however it got bound: its port, for rinfo checks
    if not done then t.cport = client:address().port end
    check()
  end)
  client:on("error", function(err) t.errors[#t.errors + 1] = err end)
  function t.cb()
    local box = { returned = false }
    local function cb(...)
      t.cbs[#t.cbs + 1] = table.pack(...)
      t.cbs[#t.cbs].sync = not box.returned
      check()
    end
    return cb, function() box.returned = true end
  end
  -- send via `client:send(...)` with a recording callback appended; marks the return.
  function t.send(...)
    local cb, returned = t.cb()
    local args = table.pack(...)
    args[args.n + 1] = cb
    client:send(table.unpack(args, 1, args.n + 1))
    returned()
  end
  -- same, the callback not last but where `at` says (for the long forms with nil holes).
  function t.send_at(at, ...)
    local cb, returned = t.cb()
    local args = table.pack(...)
    args[at] = cb
    client:send(table.unpack(args, 1, math.max(args.n, at)))
    returned()
  end
  fn(client, port, t)
  check()
  H.run(2000)
  return t
end

-- One successful callback: (nil, bytes), not run inside send.
local function assert_cb_ok(c, bytes)
  assert.is_nil(c[1], c[1] and tostring(c[1]))
  assert.equals(bytes, c[2])
  assert.equals("integer", math.type(c[2]))
  assert.is_false(c.sync, "the callback ran inside send")
end

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

describe("send: closed sockets and pending sends", function()
  after_each(H.cleanup)

  it("send on a closed socket raises ERR_SOCKET_DGRAM_NOT_RUNNING", function()
    local s = H.socket("udp4")
    s:close()
    local err = raised(s.send, s, "x", 1234, LO4)
    assert.equals("ERR_SOCKET_DGRAM_NOT_RUNNING", err.code)
    err = raised(s.send, s, "x", 1234, LO4, function() end)
    assert.equals("ERR_SOCKET_DGRAM_NOT_RUNNING", err.code)
    err = raised(s.send, s, "x", 1234)
    assert.equals("ERR_SOCKET_DGRAM_NOT_RUNNING", err.code)
    H.run(1000)
  end)

  it("send on a closed bound socket raises ERR_SOCKET_DGRAM_NOT_RUNNING, no callback", function()
    local s = H.bound("udp4")
    local calls = 0
    s:close()
    local err = raised(s.send, s, "x", 1234, LO4, function() calls = calls + 1 end)
    assert.equals("ERR_SOCKET_DGRAM_NOT_RUNNING", err.code)
    H.run(1000)
    assert.equals(0, calls)
  end)

  it("send from a 'close' listener raises ERR_SOCKET_DGRAM_NOT_RUNNING", function()
    local s = H.bound("udp4")
    local code
    s:on("close", function()
      local ok, err = pcall(s.send, s, "x", 1234, LO4)
      code = not ok and type(err) == "table" and err.code or tostring(err)
    end)
    s:close()
    H.run(1000)
    assert.equals("ERR_SOCKET_DGRAM_NOT_RUNNING", code)
  end)

  it("argument errors come before the state: a closed socket with a bad port", function()
    local s = H.socket("udp4")
    s:close()
    assert.equals("ERR_SOCKET_BAD_PORT", raised(s.send, s, "x", 0, LO4).code)
    assert.equals("ERR_SOCKET_BAD_PORT", raised(s.send, s, "x").code)
    assert.equals("ERR_SOCKET_BAD_PORT", raised(s.send, s, "x", "nope").code)
    H.run(1000)
  end)

  it("argument errors come before the state: bad message, address, bounds", function()
    local s = H.socket("udp4")
    s:close()
    assert.equals("ERR_INVALID_ARG_TYPE", raised(s.send, s, 42, 1234, LO4).code)
    assert.equals("ERR_INVALID_ARG_TYPE", raised(s.send, s, "x", 1234, 42).code)
    assert.equals("ERR_BUFFER_OUT_OF_BOUNDS", raised(s.send, s, "abc", 2, 5, 1234, LO4).code)
    H.run(1000)
  end)

  it("a send waiting for a 'localhost' lookup gets ERR_SOCKET_DGRAM_NOT_RUNNING (close)", function()
    local server, port = H.bound("udp4")
    local got = {}
    server:on("message", function(msg) got[#got + 1] = msg end)
    local client = H.socket("udp4")
    local calls = {}
    client:send("never", port, "localhost", function(err, n)
      calls[#calls + 1] = { err = err, n = n }
    end)
    client:close()
    dgram.setTimeout(50, function() server:close() end)
    H.run(2000)
    assert.equals(1, #calls)
    assert.is_not_nil(calls[1].err)
    assert.equals("ERR_SOCKET_DGRAM_NOT_RUNNING", calls[1].err.code)
    assert.same({}, got)
  end)

  it("a send waiting for a 'localhost' bind gets ERR_SOCKET_DGRAM_NOT_RUNNING on close", function()
    local server, port = H.bound("udp4")
    local got = {}
    server:on("message", function(msg) got[#got + 1] = msg end)
    local client = H.socket("udp4")
    local calls = {}
    client:bind(0, "localhost")
    client:send("never", port, LO4, function(err, n) calls[#calls + 1] = { err = err, n = n } end)
    client:close()
    dgram.setTimeout(50, function() server:close() end)
    H.run(2000)
    assert.equals(1, #calls)
    assert.is_not_nil(calls[1].err)
    assert.equals("ERR_SOCKET_DGRAM_NOT_RUNNING", calls[1].err.code)
    assert.same({}, got)
  end)

  it("a send handed to the kernel before close gets its callback exactly once", function()
    local server, port = H.bound("udp4")
    server:on("message", function() end)
    local client = H.bound("udp4")
    local calls = {}
    for i = 1, 3 do
      client:send("bye" .. i, port, LO4, function(err, n)
        calls[#calls + 1] = { i = i, err = err, n = n }
      end)
    end
    client:close()
    dgram.setTimeout(50, function() server:close() end)
    H.run(2000)
    assert.equals(3, #calls)
    for i, c in ipairs(calls) do
      assert.equals(i, c.i)
      if c.err then
        assert.equals("ECANCELED", c.err.code)
      else
        assert.equals(4, c.n)
      end
    end
  end)

  it("pending sends without callbacks emit no 'error' after close; 'close' is emitted", function()
    local server, port = H.bound("udp4")
    local client = H.socket("udp4")
    local errors, closed = {}, 0
    client:on("error", function(e) errors[#errors + 1] = e end)
    client:on("close", function() closed = closed + 1 end)
    client:send("a", port, "localhost")
    client:send("b", port, LO4)
    client:close()
    dgram.setTimeout(50, function() server:close() end)
    H.run(2000)
    assert.same({}, errors)
    assert.equals(1, closed)
  end)

  it("closing from a send callback stops the remaining traffic cleanly", function()
    local server, port = H.bound("udp4")
    local client = H.socket("udp4")
    local calls, got = 0, 0
    server:on("message", function() got = got + 1 end)
    for i = 1, 5 do
      client:send("c" .. i, port, function()
        calls = calls + 1
        if i == 1 then client:close() end
      end)
    end
    dgram.setTimeout(50, function() server:close() end)
    H.run(2000)
    assert.equals(5, calls)
    assert.is_true(got <= 5)
  end)

  it("no 'message' is delivered after the receiver closed", function()
    local server, port = H.bound("udp4")
    local client = H.socket("udp4")
    local got = {}
    server:on("message", function(msg)
      got[#got + 1] = msg
      server:close()
    end)
    for i = 1, 5 do client:send("m" .. i, port) end
    dgram.setTimeout(50, function() client:close() end)
    H.run(2000)
    assert.same({ "m1" }, got)
  end)
end)

describe("send: connected sockets", function()
  after_each(H.cleanup)

  -- A client connected to a loopback server; `fn(client, t)` runs after 'connect'.
  local function connected(fn)
    local server, port = H.bound("udp4")
    local client = H.socket("udp4")
    local t = { msgs = {}, server = server, client = client, port = port }
    server:on("message", function(msg) t.msgs[#t.msgs + 1] = msg end)
    client:connect(port, LO4, function() fn(client, t) end)
    H.run(2000)
    return t
  end

  local function finish(t)
    dgram.setTimeout(30, function()
      t.server:close()
      t.client:close()
    end)
  end

  it("send(msg) and send(msg, cb) go to the peer", function()
    local res
    local t = connected(function(c, t)
      c:send("plain")
      c:send("with cb", function(err, n)
        res = { err, n }
        finish(t)
      end)
    end)
    assert.same({ "plain", "with cb" }, t.msgs)
    assert.same({ nil, 7 }, res)
  end)

  it("send(msg, offset, length[, cb]) slices on a connected socket", function()
    local res
    local t = connected(function(c, t)
      c:send("hello world", 6, 5)
      c:send("hello world", 0, 5, function(err, n)
        res = { err, n }
        finish(t)
      end)
    end)
    assert.same({ "world", "hello" }, t.msgs)
    assert.same({ nil, 5 }, res)
  end)

  it("a port or address on a connected socket raises ERR_SOCKET_DGRAM_IS_CONNECTED", function()
    local codes = {}
    local t = connected(function(c, t)
      local forms = { { "x", t.port }, { "x", t.port, LO4 }, { "x", 0, 1, t.port, LO4 } }
      for _, args in ipairs(forms) do
        local ok, err = pcall(c.send, c, table.unpack(args))
        codes[#codes + 1] = not ok and type(err) == "table" and err.code or tostring(err)
      end
      finish(t)
    end)
    assert.same({ "ERR_SOCKET_DGRAM_IS_CONNECTED", "ERR_SOCKET_DGRAM_IS_CONNECTED",
      "ERR_SOCKET_DGRAM_IS_CONNECTED" }, codes)
    assert.same({}, t.msgs)
  end)
end)

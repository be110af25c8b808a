-- Sends on a connected socket: every form, callbacks, empty and multi-part messages,
-- and connect/disconnect state errors.
local H = require("helper")
local dgram, raises, run_until, receiver = H.dgram, H.raises, H.run_until, H.listener
local connected_client = H.connected_client4

local LO4 = "127.0.0.1"

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

describe("send on a connected socket: the forms without a destination", function()
  after_each(H.cleanup)

  it("port 0, -0.0 or nil before the callback: sent to the peer, each callback once", function()
    local r, port, got = H.listener("udp4")
    local c = H.socket("udp4")
    local connected = false
    c:connect(port, "127.0.0.1", function() connected = true end)
    assert.is_true(H.run_until(2000, function() return connected end))
    local res = {}
    local function cb(tag)
      return function(err, n) res[#res + 1] = tag .. ":" .. tostring(err or n) end
    end
    c:send("a", 0, cb("a"))
    c:send("b", -0.0, cb("b"))
    c:send("c", cb("c"))
    c:send("d", nil, nil, cb("d"))
    c:send("ee", 0, 2, cb("e")) -- offset and length
    H.raises("ERR_SOCKET_DGRAM_IS_CONNECTED", c.send, c, "x", 0, "127.0.0.1", cb("x"))
    assert.is_true(H.run_until(2000, function() return #res == 5 and #got == 5 end))
    H.quiet(20)
    assert.same({ "a:1", "b:1", "c:1", "d:1", "e:2" }, res)
    assert.same({ "a", "b", "c", "d", "ee" }, H.texts(got))
    assert.is_not_nil(r)
  end)
end)

describe("connected sockets (Node's test-dgram-* cases)", function()
  after_each(H.cleanup)

  -- connect ----------------------------------------------------------------------------
  it("test-dgram-connect: connect/disconnect/remoteAddress state errors and bad ports",
    function()
      local PORT = 12345
      local c = H.socket("udp4")
      local step, connects = nil, 0
      c:connect(PORT, function(err)
        assert.is_nil(err)
        step = "connected"
        assert.equals(PORT, c:remoteAddress().port)
        local e = raises("ERR_SOCKET_DGRAM_IS_CONNECTED", c.connect, c, PORT, function() end)
        assert.equals("Already connected", e.message)
        c:disconnect()
        e = raises("ERR_SOCKET_DGRAM_NOT_CONNECTED", c.disconnect, c)
        assert.equals("Not connected", e.message)
        raises("ERR_SOCKET_DGRAM_NOT_CONNECTED", c.remoteAddress, c)
        c:once("connect", function() connects = connects + 1; c:close() end)
        c:connect(PORT)
      end)
      -- while connecting
      raises("ERR_SOCKET_DGRAM_IS_CONNECTED", c.connect, c, PORT)
      raises("ERR_SOCKET_DGRAM_NOT_CONNECTED", c.disconnect, c)
      for _, port in ipairs({ 0, 78960 }) do
        local e = raises("ERR_SOCKET_BAD_PORT", c.connect, c, port)
        assert.is_truthy(e.message:find("Port should be > 0 and < 65536", 1, true), e.message)
      end
      raises("ERR_SOCKET_BAD_PORT", c.connect, c, nil)
      H.run(2000)
      assert.equals("connected", step)
      assert.equals(1, connects)
    end)

  it("test-dgram-connect-send-default-host: a connected socket sends every form without "
    .. "port/address", function()
      local server, port, got = receiver("udp4")
      local c = connected_client(port)
      local x, y, z = string.rep("x", 256), string.rep("y", 256), string.rep("z", 256)
      c:send(x, 0, #x)
      c:send(y)
      c:send({ z })
      c:send("hello", 0, 5)
      run_until(2000, function() return #got >= 4 end)
      server:close()
      local msgs = {}
      for i, m in ipairs(got) do msgs[i] = m.msg end
      table.sort(msgs)
      assert.same({ "hello", x, y, z }, msgs)
    end)

  it("test-dgram-connect-send-callback-buffer: send(msg, cb) on a connected socket",
    function()
      local _, port, got = receiver("udp4")
      local c = connected_client(port, LO4)
      local res
      local msg = string.rep("x", 256)
      c:send(msg, function(err, n) res = { err = err, n = n } end)
      run_until(2000, function() return res and #got >= 1 end)
      assert.is_nil(res.err)
      assert.equals(256, res.n)
      assert.equals(msg, got[1].msg)
    end)

  it("test-dgram-connect-send-callback-buffer-length: send(msg, offset, length, cb)",
    function()
      local _, port, got = receiver("udp4")
      local c = connected_client(port, LO4)
      local res
      local msg = string.rep("a", 20) .. string.rep("x", 236)
      c:send(msg, 20, 236, function(err, n) res = { err = err, n = n } end)
      run_until(2000, function() return res and #got >= 1 end)
      assert.is_nil(res.err)
      assert.equals(236, res.n)
      assert.equals(string.rep("x", 236), got[1].msg)
    end)

  it("test-dgram-connect-send-callback-multi-buffer: send({b1, b2}, cb)", function()
    local _, port, got = receiver("udp4")
    local c = connected_client(port, LO4)
    local res
    local b1, b2 = string.rep("x", 256), string.rep("y", 256)
    c:send({ b1, b2 }, function(err, n) res = { err = err, n = n } end)
    run_until(2000, function() return res and #got >= 1 end)
    assert.is_nil(res.err)
    assert.equals(512, res.n)
    assert.equals(b1 .. b2, got[1].msg)
  end)

  it("test-dgram-connect-send-multi-buffer-copy: the array can change after send",
    function()
      local _, port, got = receiver("udp4")
      local c = connected_client(port, LO4)
      local res
      local b1, b2 = string.rep("x", 256), string.rep("y", 256)
      local t = { b1, b2 }
      c:send(t, function(err, n) res = { err = err, n = n } end)
      t[1], t[2] = nil, nil
      run_until(2000, function() return res and #got >= 1 end)
      assert.equals(512, res.n)
      assert.equals(b1 .. b2, got[1].msg)
    end)

  it("test-dgram-connect-send-multi-string-array: {'foo','bar','baz'} is one datagram",
    function()
      local _, port, got = receiver("udp4")
      local c = connected_client(port, LO4)
      c:send({ "foo", "bar", "baz" })
      run_until(2000, function() return #got >= 1 end)
      assert.equals("foobarbaz", got[1] and got[1].msg)
    end)

  it("test-dgram-connect-send-empty-array: send({}) sends an empty datagram", function()
    local s, port, got = receiver("udp4")
    local done = false
    s:connect(port, LO4, function() s:send({}); done = true end)
    run_until(2000, function() return #got >= 1 end)
    assert.is_true(done)
    assert.equals("", got[1] and got[1].msg)
  end)

  it("test-dgram-connect-send-empty-buffer: send('', 0, 0, cb) on a connected socket",
    function()
      local s, port, got = receiver("udp4")
      local res
      s:connect(port, function()
        s:send("", 0, 0, function(err, n) res = { err = err, n = n } end)
      end)
      run_until(2000, function() return res and #got >= 1 end)
      assert.is_nil(res and res.err)
      assert.equals("", got[1] and got[1].msg)
    end)

  it("test-dgram-connect-send-empty-packet: send('x', 0, 0, cb) sends an empty datagram",
    function()
      local s, port, got = receiver("udp4")
      local res
      s:connect(port, function()
        s:send("x", 0, 0, function(err, n) res = { err = err, n = n } end)
      end)
      run_until(2000, function() return res and #got >= 1 end)
      assert.is_nil(res and res.err)
      assert.equals(0, res and res.n)
      assert.equals("", got[1] and got[1].msg)
    end)
end)

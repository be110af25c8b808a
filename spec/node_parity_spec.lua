-- Node parity: one `it` per test of Node's own suite (test/parallel/test-dgram-*.js)
-- that applies to what API.md promises, checking the same behaviour in Lua. Where API.md
-- deliberately differs from Node (close(non-function) raises, queued sends on close get
-- ERR_SOCKET_DGRAM_NOT_RUNNING, send failures without a callback are emitted as 'error'),
-- the check follows API.md and says so.
-- Skipped: cluster, fd/handle passing, async_hooks, AbortSignal, TypedArray/DataView,
-- IPv6 link-local, multicast/broadcast traffic, internals (recv-error, deprecation-error).
-- All traffic goes to 127.0.0.1 / ::1 / localhost; every wait is bounded.
local H = require("helper")
local raises, run_until, quiet = H.raises, H.run_until, H.quiet
local dgram = H.dgram

local LO4, LO6 = "127.0.0.1", "::1"

-- Calls fn(...) expecting no error.
local function no_raise(fn, ...)
  local ok, err = pcall(fn, ...)
  assert.is_true(ok, "unexpected error: " .. tostring(type(err) == "table" and
    (tostring(err.code) .. " " .. tostring(err.message)) or err))
end

-- A port that was free a moment ago (bound on loopback, then closed).
local function free_port(kind)
  local s, port = H.bound(kind or "udp4")
  s:close()
  quiet(10)
  return port
end

-- A socket bound to loopback that records what it receives.
local function receiver(kind)
  local s, port, host = H.bound(kind or "udp4")
  local got = {}
  s:on("message", function(msg, rinfo) got[#got + 1] = { msg = msg, rinfo = rinfo } end)
  return s, port, got, host
end

-- A `lookup` option that answers IP literals with themselves, "localhost" with loopback
-- and anything else with ENOTFOUND (so no real name is ever resolved).
local function local_lookup(calls)
  return function(host, family, cb)
    if calls then calls[#calls + 1] = { host = host, family = family } end
    if host == "localhost" then
      cb(nil, family == 6 and LO6 or LO4, family)
    elseif host:match("^[%d%.]+$") then
      cb(nil, host, 4)
    elseif host:find(":", 1, true) then
      cb(nil, host, 6)
    else
      cb({ code = "ENOTFOUND", message = "getaddrinfo ENOTFOUND " .. host,
           syscall = "getaddrinfo", hostname = host })
    end
  end
end

local function connected_client(port, address)
  local c = H.socket("udp4")
  local done, failure = false, nil
  c:connect(port, address, function(err) done, failure = true, err end)
  assert.is_true(run_until(2000, function() return done end), "connect never completed")
  assert.is_nil(failure)
  return c
end

describe("node parity:", function()
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

  it("test-dgram-bind-default-address: bind(0) listens on 0.0.0.0 / ::", function()
    local s4, s6 = H.socket("udp4"), H.socket("udp6")
    local a4, a6
    s4:bind(0, function() a4 = s4:address() end)
    s6:bind(0, function() a6 = s6:address() end)
    assert.is_true(run_until(2000, function() return a4 ~= nil and a6 ~= nil end))
    assert.equals("0.0.0.0", a4.address)
    assert.is_true(a4.port > 0)
    assert.equals("::", a6.address)
    assert.is_true(a6.port > 0)
  end)

  it("test-dgram-bind-error-repeat: bind can be retried after EADDRINUSE, 20 times",
    function()
      local _, port = H.bound("udp4")
      local s = H.socket("udp4")
      local errors, listening, raised = 0, 0, nil
      s:on("error", function(err)
        assert.equals("EADDRINUSE", err.code)
        errors = errors + 1
        if errors < 20 then
          local ok, e = pcall(s.bind, s, port, LO4, function() listening = listening + 1 end)
          if not ok then raised = e end
        end
      end)
      s:bind(port, LO4, function() listening = listening + 1 end)
      run_until(3000, function() return errors >= 20 or raised ~= nil end)
      assert.is_nil(raised and (tostring(raised.code) .. " " .. tostring(raised.message)))
      assert.equals(20, errors)
      assert.equals(0, listening)
    end)

  it("test-dgram-bind-socket-close-before-lookup: no 'error' from a lookup that fails "
    .. "after close", function()
      local answered = false
      local s = H.socket({ type = "udp4", lookup = function(_, _, cb)
        dgram.setTimeout(50, function()
          answered = true
          cb({ code = "EAI_FAIL", message = "an error" })
        end)
      end })
      local errors, closed = 0, 0
      s:on("error", function() errors = errors + 1 end)
      s:on("close", function() closed = closed + 1 end)
      s:bind(12345, "localhost")
      s:close()
      run_until(1000, function() return answered end)
      quiet(20)
      assert.is_true(answered)
      assert.equals(1, closed)
      assert.equals(0, errors)
    end)

  it("test-dgram-bind: bind() returns the socket; a second bind raises "
    .. "ERR_SOCKET_ALREADY_BOUND (while binding and once bound)", function()
      local s = H.socket("udp4")
      assert.equals(s, s:bind())
      raises("ERR_SOCKET_ALREADY_BOUND", s.bind, s)
      local listening = false
      s:on("listening", function() listening = true end)
      assert.is_true(run_until(2000, function() return listening end))
      local err = raises("ERR_SOCKET_ALREADY_BOUND", s.bind, s)
      assert.equals("Socket is already bound", err.message)
    end)

  it("test-dgram-listen-after-bind: 'listening' added after bind() still fires", function()
    local s = H.socket("udp4")
    s:bind()
    local fired = false
    s:on("listening", function() fired = true; s:close() end)
    H.run(2000)
    assert.is_true(fired)
  end)

  it("test-dgram-error-message-address: bind to an address not on this host", function()
    local s4 = H.socket("udp4")
    local e4, listening = nil, false
    s4:on("listening", function() listening = true end)
    s4:on("error", function(e) e4 = e end)
    s4:bind(0, "1.1.1.1")
    local s6 = H.socket("udp6")
    local e6
    s6:on("listening", function() listening = true end)
    s6:on("error", function(e) e6 = e end)
    s6:bind(0, "111::1")
    assert.is_true(run_until(2000, function() return e4 ~= nil and e6 ~= nil end))
    assert.is_false(listening)
    assert.equals("EADDRNOTAVAIL", e4.code)
    assert.equals("1.1.1.1", e4.address)
    assert.is_nil(e4.port)
    assert.equals("bind EADDRNOTAVAIL 1.1.1.1", e4.message)
    assert.equals("bind", e4.syscall)
    assert.is_truthy(({ EADDRNOTAVAIL = 1, EAFNOSUPPORT = 1, EPROTONOSUPPORT = 1 })[e6.code])
    assert.equals("111::1", e6.address)
    assert.is_nil(e6.port)
    assert.equals("bind " .. e6.code .. " 111::1", e6.message)
  end)

  it("test-dgram-ipv6only: with ipv6Only, udp4 can bind 0.0.0.0 on the same port",
    function()
      local s = H.socket({ type = "udp6", ipv6Only = true })
      local port
      s:bind({ port = 0, address = "::" }, function() port = s:address().port end)
      assert.is_true(run_until(2000, function() return port ~= nil end))
      local c = H.socket("udp4")
      local ok, failure = false, nil
      c:on("error", function(e) failure = e end)
      c:bind({ port = port, address = "0.0.0.0" }, function() ok = true end)
      run_until(2000, function() return ok or failure ~= nil end)
      assert.is_nil(failure and failure.code)
      assert.is_true(ok)
    end)

  it("test-dgram-reuseport: two reusePort sockets bind the same port", function()
    local a = H.socket({ type = "udp4", reusePort = true })
    local b = H.socket({ type = "udp4", reusePort = true })
    local port, second, failure = nil, false, nil
    b:on("error", function(e) failure = e end)
    a:bind(0, LO4, function()
      port = a:address().port
      b:bind(port, LO4, function() second = true end)
    end)
    run_until(2000, function() return second or failure ~= nil end)
    assert.is_nil(failure and failure.code)
    assert.is_true(second)
    assert.equals(port, b:address().port)
  end)

  -- createSocket -----------------------------------------------------------------------

  it("test-dgram-createSocket-type: bad types raise ERR_SOCKET_BAD_TYPE; buffer-size "
    .. "options are applied", function()
      for _, bad in ipairs({ "test", { "udp4" }, 1, {}, true, false }) do
        local err = raises("ERR_SOCKET_BAD_TYPE", dgram.createSocket, bad)
        assert.equals("Bad socket type specified. Valid types are: udp4, udp6", err.message)
      end
      raises("ERR_SOCKET_BAD_TYPE", dgram.createSocket)
      for _, good in ipairs({ "udp4", "udp6", { type = "udp4" }, { type = "udp6" } }) do
        local s = H.socket(good)
        s:close()
      end
      local s = H.socket({ type = "udp4", recvBufferSize = 10000, sendBufferSize = 15000 })
      local rcv, snd
      s:bind(0, LO4, function() rcv, snd = s:getRecvBufferSize(), s:getSendBufferSize() end)
      assert.is_true(run_until(2000, function() return rcv ~= nil end))
      assert.is_true(rcv == 10000 or rcv == 20000, "SO_RCVBUF was " .. tostring(rcv))
      assert.is_true(snd == 15000 or snd == 30000, "SO_SNDBUF was " .. tostring(snd))
    end)

  it("test-dgram-custom-lookup: lookup is called by bind(); non-functions raise", function()
    local calls = {}
    local s = H.socket({ type = "udp4", lookup = local_lookup(calls) })
    local listening = false
    s:bind(function() listening = true end)
    assert.is_true(run_until(2000, function() return listening end))
    assert.equals(1, #calls)
    assert.equals("0.0.0.0", calls[1].host)
    assert.equals(4, calls[1].family)
    for _, bad in ipairs({ true, false, 0, 1, 0 / 0, "", "foo", {} }) do
      local err = raises("ERR_INVALID_ARG_TYPE", dgram.createSocket,
        { type = "udp4", lookup = bad })
      assert.is_truthy(err.message:find('"lookup"', 1, true), err.message)
    end
  end)

  it("test-dgram-ref: unbound sockets do not keep the loop alive; ref() after close",
    function()
      H.socket("udp4")
      H.socket("udp6")
      local s = H.socket("udp4")
      local refd
      s:close(function() refd = s:ref() end)
      H.run(1000)
      assert.equals(s, refd)
    end)

  it("test-dgram-unref: an unref'd bound socket lets run() return; unref() after close",
    function()
      local s = H.socket("udp4")
      s:bind()
      s:unref()
      local c = H.socket("udp4")
      local unrefd
      c:close(function() unrefd = c:unref() end)
      local fired = false
      local t = dgram.setTimeout(1000, function() fired = true end)
      t:unref()
      H.run(2000)
      assert.is_false(fired) -- run() returned before the unref'd 1 s timer
      dgram.clearTimeout(t) -- (it would still fire in a later spec's run)
      assert.equals(c, unrefd)
    end)

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

  it("test-dgram-async-dispose: <close> closes the socket (then NOT_RUNNING); closing "
    .. "an already closed socket that way does not raise", function()
      local closes = 0
      local kept
      do
        local s <close> = dgram.createSocket("udp4")
        s:on("close", function() closes = closes + 1 end)
        kept = s
      end
      H.run(1000)
      assert.equals(1, closes)
      raises("ERR_SOCKET_DGRAM_NOT_RUNNING", kept.address, kept)
      no_raise(function()
        local s <close> = dgram.createSocket("udp4")
        s:close()
      end)
      H.run(1000)
    end)

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

  it("test-dgram-implicit-bind: two sends from an unbound socket both arrive", function()
    local _, port, got = receiver("udp4")
    local src = H.socket("udp4")
    no_raise(function()
      src:send("abc", 0, 3, port, LO4)
      src:send("def", 0, 3, port, LO4)
    end)
    run_until(2000, function() return #got >= 2 end)
    local msgs = { got[1] and got[1].msg, got[2] and got[2].msg }
    table.sort(msgs)
    assert.same({ "abc", "def" }, msgs)
  end)

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

  it("test-dgram-blocklist: sendBlockList fails connect and send with ERR_IP_BLOCKED; "
    .. "receiveBlockList drops datagrams", function()
      local c = H.socket({ type = "udp4", sendBlockList = { LO4 } })
      local cerr
      c:connect(9999, LO4, function(err) cerr = err or false end)
      local s = H.socket({ type = "udp4", sendBlockList = { LO4 } })
      local serr
      s:send("hello", 9999, LO4, function(err) serr = err or false end)
      run_until(2000, function() return cerr ~= nil and serr ~= nil end)
      assert.equals("ERR_IP_BLOCKED", cerr and cerr.code)
      assert.equals("ERR_IP_BLOCKED", serr and serr.code)

      local r, port = H.bound("udp4", { receiveBlockList = { LO4 } })
      local msgs = 0
      r:on("message", function() msgs = msgs + 1 end)
      local client = H.socket("udp4")
      local res
      client:send("hello", port, LO4, function(err) res = { err = err } end)
      run_until(2000, function() return res ~= nil end)
      quiet(50)
      assert.is_nil(res.err)
      assert.equals(0, msgs)
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

  it("test-dgram-implicit-bind-failure: a failed implicit bind is emitted and the next "
    .. "send tries again", function()
      local s = H.socket({ type = "udp4", lookup = function(_, _, cb)
        dgram.setTimeout(0, function() cb({ code = "EFAKE", message = "fake DNS" }) end)
      end })
      local dns_failures, others = 0, {}
      s:on("error", function(err)
        if err.code == "EFAKE" then
          dns_failures = dns_failures + 1
        else
          others[#others + 1] = err.code
        end
      end)
      s:send("foobar", 12345, "localhost")
      dgram.setTimeout(20, function() s:send("foobar", 12345, "localhost") end)
      dgram.setTimeout(40, function() s:send("foobar", 12345, "localhost") end)
      run_until(1000, function() return dns_failures >= 3 end)
      quiet(20)
      assert.equals(3, dns_failures)
      for _, code in ipairs(others) do assert.equals("ERR_SOCKET_CANNOT_SEND", code) end
    end)

  -- socket options ---------------------------------------------------------------------

  it("test-dgram-setTTL: returns the ttl; a string raises; 1000 is EINVAL", function()
    local s = H.bound("udp4")
    assert.equals(16, s:setTTL(16))
    local e = raises("ERR_INVALID_ARG_TYPE", s.setTTL, s, "foo")
    assert.is_truthy(e.message:find('"ttl"', 1, true), e.message)
    e = raises("EINVAL", s.setTTL, s, 1000)
    assert.equals("setTTL", e.syscall)
    assert.equals("setTTL EINVAL", e.message)
  end)

  it("test-dgram-multicast-setTTL: returns the ttl; 1000 is EINVAL; a string raises",
    function()
      local s = H.bound("udp4")
      assert.equals(16, s:setMulticastTTL(16))
      local e = raises("EINVAL", s.setMulticastTTL, s, 1000)
      assert.equals("setMulticastTTL EINVAL", e.message)
      e = raises("ERR_INVALID_ARG_TYPE", s.setMulticastTTL, s, "foo")
      assert.is_truthy(e.message:find('"ttl"', 1, true), e.message)
    end)

  it("test-dgram-multicast-loopback: EBADF when unbound; returns the flag once bound",
    function()
      local u = H.socket("udp4")
      local e = raises("EBADF", u.setMulticastLoopback, u, 16)
      assert.equals("setMulticastLoopback EBADF", e.message)
      local s = H.bound("udp4")
      assert.equals(16, s:setMulticastLoopback(16))
      assert.equals(0, s:setMulticastLoopback(0))
    end)

  it("test-dgram-setBroadcast: EBADF when unbound; true/false once bound", function()
    local u = H.socket({ type = "udp4", reuseAddr = true })
    raises("EBADF", u.setBroadcast, u, true)
    local s = H.bound("udp4", { reuseAddr = true })
    no_raise(s.setBroadcast, s, false)
    no_raise(s.setBroadcast, s, true)
  end)

  it("test-dgram-membership: argument and state errors (no group is joined)", function()
    local closed = H.socket({ type = "udp4", reuseAddr = true })
    closed:close()
    raises("ERR_SOCKET_DGRAM_NOT_RUNNING", closed.addMembership, closed, "224.0.0.114")
    raises("ERR_SOCKET_DGRAM_NOT_RUNNING", closed.dropMembership, closed, "224.0.0.114")
    local s = H.socket({ type = "udp4", reuseAddr = true })
    raises("ERR_MISSING_ARGS", s.addMembership, s)
    raises("ERR_MISSING_ARGS", s.dropMembership, s)
    local e = raises("EINVAL", s.addMembership, s, "256.256.256.256")
    assert.equals("addMembership", e.syscall)
    e = raises("EINVAL", s.dropMembership, s, "256.256.256.256")
    assert.equals("dropMembership", e.syscall)
    local d = H.socket({ type = "udp4", reuseAddr = true })
    e = raises("EADDRNOTAVAIL", d.dropMembership, d, "224.0.0.114")
    assert.equals("dropMembership", e.syscall)
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

-- Errors: what createSocket, bind, address and close raise or emit, and the shape of
-- the error objects (code, message, errno, syscall, address, port, __tostring).
local H = require("helper")
local raises = H.raises
local dgram = H.dgram

local linux = (function()
  local f = io.open("/proc/version")
  if f then f:close() end
  return f ~= nil
end)()

-- The common shape: a table with a string code, a one-line message, __tostring = message.
local function assert_error_object(err)
  assert.equals("table", type(err))
  assert.equals("string", type(err.code))
  assert.equals("string", type(err.message))
  assert.is_true(#err.message > 0, "empty message")
  assert.is_nil(err.message:find("\n"), "message is one line")
  local mt = getmetatable(err)
  assert.equals("table", type(mt))
  assert.equals("function", type(mt.__tostring))
  assert.equals(err.message, tostring(err))
end

-- A socket bound on 127.0.0.1 (or ::1) and its port; a second one that binds the same
-- port and collects what it emits. Returns the events and the 'error' object.
local function bind_taken(kind)
  local holder, port, host = H.bound(kind)
  local s = H.socket(kind)
  local events, err = {}, nil
  s:on("listening", function() events[#events + 1] = "listening" end)
  s:on("error", function(e)
    events[#events + 1] = "error"
    err = e
    s:close()
    holder:close()
  end)
  s:bind(port, host)
  assert.same({}, events) -- never emitted inside bind
  H.run(2000)
  return events, err, port, host
end

describe("createSocket errors", function()
  after_each(H.cleanup)

  local bad_types = {
    { "udp5", "udp5" },
    { "UDP4", "UDP4" },
    { "tcp", "tcp" },
    { "empty string", "" },
    { "number 4", 4 },
    { "boolean", true },
    { "options with a bad type", { type = "udp" } },
    { "options without type", {} },
    { "options with reuseAddr but no type", { reuseAddr = true } },
  }
  for _, case in ipairs(bad_types) do
    it("raises ERR_SOCKET_BAD_TYPE for " .. case[1], function()
      local err = raises("ERR_SOCKET_BAD_TYPE", dgram.createSocket, case[2])
      assert_error_object(err)
    end)
  end

  it("raises ERR_SOCKET_BAD_TYPE without arguments", function()
    raises("ERR_SOCKET_BAD_TYPE", dgram.createSocket)
  end)

  it("raises ERR_SOCKET_BAD_TYPE for a bad type even with a callback", function()
    raises("ERR_SOCKET_BAD_TYPE", dgram.createSocket, "udp7", function() end)
  end)

  for _, field in ipairs({ "recvBufferSize", "sendBufferSize" }) do
    for _, bad in ipairs({ "65536", "big", true, {} }) do
      it(("raises ERR_INVALID_ARG_TYPE for %s = %s (%s)"):format(field, tostring(bad), type(bad)),
        function()
          local err = raises("ERR_INVALID_ARG_TYPE", dgram.createSocket,
            { type = "udp4", [field] = bad })
          assert_error_object(err)
        end)
    end

    for _, bad in ipairs({ -1, -65536, math.mininteger }) do
      it(("raises ERR_OUT_OF_RANGE for %s = %d"):format(field, bad), function()
        local err = raises("ERR_OUT_OF_RANGE", dgram.createSocket, { type = "udp4", [field] = bad })
        assert_error_object(err)
      end)
    end

    it(("raises ERR_OUT_OF_RANGE for %s = -1 on udp6"):format(field), function()
      raises("ERR_OUT_OF_RANGE", dgram.createSocket, { type = "udp6", [field] = -1 })
    end)
  end

  for _, bad in ipairs({ "lookup", 42, true, {} }) do
    it(("raises ERR_INVALID_ARG_TYPE for lookup = %s (%s)"):format(tostring(bad), type(bad)),
      function()
        local err = raises("ERR_INVALID_ARG_TYPE", dgram.createSocket,
          { type = "udp4", lookup = bad })
        assert_error_object(err)
      end)
  end

  it("accepts lookup = nil", function()
    local s = H.socket({ type = "udp4", lookup = nil })
    assert.is_not_nil(s)
  end)
end)

describe("bind argument errors", function()
  after_each(H.cleanup)

  local bad_ports = {
    { "-1", { -1 } },
    { "65536", { 65536 } },
    { "1.5", { 1.5 } },
    { '"abc"', { "abc" } },
    { '"-1"', { "-1" } },
    { '"65536"', { "65536" } },
    { '"1.5"', { "1.5" } },
    { "math.huge", { math.huge } },
    { "-math.huge", { -math.huge } },
    { "NaN", { 0 / 0 } },
    { "math.maxinteger", { math.maxinteger } },
    { "true", { true } },
    { "-1 with an address", { -1, "127.0.0.1" } },
    { "65536 with an address and callback", { 65536, "127.0.0.1", function() end } },
    { '"abc" with a callback', { "abc", function() end } },
    { "{port = -1}", { { port = -1 } } },
    { "{port = 65536}", { { port = 65536 } } },
    { "{port = 1.5}", { { port = 1.5 } } },
    { '{port = "abc"}', { { port = "abc" } } },
    { "{port = {}}", { { port = {} } } },
    { "{port = {}, address = 127.0.0.1} with a callback",
      { { port = {}, address = "127.0.0.1" }, function() end } },
  }

  for _, case in ipairs(bad_ports) do
    it("raises ERR_SOCKET_BAD_PORT for " .. case[1] .. " and stays usable", function()
      local s = H.socket("udp4")
      local listening = 0
      s:on("listening", function() listening = listening + 1 end)
      local err = raises("ERR_SOCKET_BAD_PORT", s.bind, s, table.unpack(case[2]))
      assert_error_object(err)
      -- nothing was started: the socket is still unbound and can bind now
      raises("EBADF", s.address, s)
      s:bind(0, "127.0.0.1", function()
        assert.is_true(s:address().port > 0)
        s:close()
      end)
      H.run(2000)
      assert.equals(1, listening) -- the failed bind's callback was not added
    end)
  end

  it("raises ERR_SOCKET_BAD_PORT for a bad port on udp6", function()
    local s = H.socket("udp6")
    raises("ERR_SOCKET_BAD_PORT", s.bind, s, 70000, "::1")
    raises("ERR_SOCKET_BAD_PORT", s.bind, s, { port = -5, address = "::1" })
  end)

  it("ERR_SOCKET_ALREADY_BOUND is an error object", function()
    local s = H.socket("udp4")
    s:bind(0, "127.0.0.1")
    local err = raises("ERR_SOCKET_ALREADY_BOUND", s.bind, s, 0, "127.0.0.1")
    assert_error_object(err)
  end)

  it("a closed socket's bind raises ERR_SOCKET_DGRAM_NOT_RUNNING before checking the port",
    function()
      local s = H.socket("udp4")
      s:close()
      raises("ERR_SOCKET_DGRAM_NOT_RUNNING", s.bind, s, 0, "127.0.0.1")
    end)
end)

describe("a bind that fails with EADDRINUSE", function()
  after_each(H.cleanup)

  it("emits 'error' later, not 'listening'", function()
    local events = bind_taken("udp4")
    assert.same({ "error" }, events)
  end)

  it("emits a system error: code, errno, syscall, address, port, message", function()
    local _, err, port = bind_taken("udp4")
    assert_error_object(err)
    assert.equals("EADDRINUSE", err.code)
    assert.equals("integer", math.type(err.errno))
    assert.is_true(err.errno < 0, "errno is libuv's negative number")
    assert.equals("bind", err.syscall)
    assert.equals("127.0.0.1", err.address)
    assert.equals(port, err.port)
    assert.equals("integer", math.type(err.port))
    assert.equals(("bind EADDRINUSE 127.0.0.1:%d"):format(port), err.message)
    assert.equals(err.message, tostring(err))
  end)

  it("on udp6 names ::1", function()
    local events, err, port = bind_taken("udp6")
    assert.same({ "error" }, events)
    assert.equals("EADDRINUSE", err.code)
    assert.equals("bind", err.syscall)
    assert.equals("::1", err.address)
    assert.equals(port, err.port)
    assert.equals(("bind EADDRINUSE ::1:%d"):format(port), err.message)
  end)

  it("has the same errno on udp4 and udp6", function()
    local _, e4 = bind_taken("udp4")
    local _, e6 = bind_taken("udp6")
    assert.equals(e4.errno, e6.errno)
  end)

  it("also happens with the options form", function()
    local holder, port = H.bound("udp4")
    local s = H.socket("udp4")
    local err
    local cb_called = false
    s:on("error", function(e)
      err = e
      s:close()
      holder:close()
    end)
    s:bind({ port = port, address = "127.0.0.1", exclusive = true },
      function() cb_called = true end)
    H.run(2000)
    assert.equals("EADDRINUSE", err.code)
    assert.is_false(cb_called)
  end)

  it("leaves the socket unbound, so bind can be retried and succeeds", function()
    local holder, port = H.bound("udp4")
    local s = H.socket("udp4")
    local events = {}
    local first = true
    s:on("error", function(e)
      events[#events + 1] = "error " .. e.code
      if first then
        first = false
        raises("EBADF", s.address, s) -- not bound
        s:bind(0, "127.0.0.1")
      end
    end)
    s:on("listening", function()
      events[#events + 1] = "listening"
      local a = s:address()
      assert.are_not.equal(port, a.port)
      assert.equals("127.0.0.1", a.address)
      s:close()
      holder:close()
    end)
    s:bind(port, "127.0.0.1")
    H.run(2000)
    assert.same({ "error EADDRINUSE", "listening" }, events)
  end)

  it("the retried bind can take the same port once it is free", function()
    local holder, port = H.bound("udp4")
    local s = H.socket("udp4")
    local got
    s:once("error", function()
      holder:close()
      s:bind(port, "127.0.0.1", function()
        got = s:address().port
        s:close()
      end)
    end)
    s:bind(port, "127.0.0.1")
    H.run(2000)
    assert.equals(port, got)
  end)

  it("the retried socket receives datagrams", function()
    local holder, port = H.bound("udp4")
    local s = H.socket("udp4")
    local client = H.socket("udp4")
    local got
    s:once("error", function()
      s:bind(0, "127.0.0.1", function()
        client:send("after retry", s:address().port, "127.0.0.1")
      end)
    end)
    s:on("message", function(msg)
      got = msg
      s:close()
      client:close()
      holder:close()
    end)
    s:bind(port, "127.0.0.1")
    H.run(2000)
    assert.equals("after retry", got)
  end)

  it("without an 'error' listener is raised out of dgram.run()", function()
    local holder, port = H.bound("udp4")
    local s = H.socket("udp4")
    s:bind(port, "127.0.0.1")
    local ok, err = pcall(dgram.run)
    assert.is_false(ok)
    assert.equals("table", type(err))
    assert.equals("EADDRINUSE", err.code)
    assert.equals(port, err.port)
    holder:close()
    s:close()
    H.run(1000)
  end)

  it("is not emitted when the socket is closed before the loop runs", function()
    local holder, port = H.bound("udp4")
    local s = H.socket("udp4")
    local events = {}
    s:on("error", function(e) events[#events + 1] = "error " .. e.code end)
    s:on("listening", function() events[#events + 1] = "listening" end)
    s:on("close", function()
      events[#events + 1] = "close"
      holder:close()
    end)
    s:bind(port, "127.0.0.1")
    s:close()
    H.run(2000)
    assert.same({ "close" }, events)
  end)

  it("does not happen with two reuseAddr sockets", function()
    local a = H.socket({ type = "udp4", reuseAddr = true })
    local b = H.socket({ type = "udp4", reuseAddr = true })
    local errors = 0
    a:on("error", function() errors = errors + 1 end)
    b:on("error", function() errors = errors + 1 end)
    a:bind(0, "127.0.0.1", function()
      b:bind(a:address().port, "127.0.0.1", function()
        a:close()
        b:close()
      end)
    end)
    H.run(2000)
    assert.equals(0, errors)
  end)

  it("happens when only one of the two sockets has reuseAddr", function()
    local a = H.socket({ type = "udp4" })
    local b = H.socket({ type = "udp4", reuseAddr = true })
    local err
    b:on("error", function(e)
      err = e
      a:close()
      b:close()
    end)
    a:bind(0, "127.0.0.1", function()
      b:bind(a:address().port, "127.0.0.1")
    end)
    H.run(2000)
    assert.equals("EADDRINUSE", err and err.code)
  end)
end)

describe("other bind failures", function()
  after_each(H.cleanup)

  it("a udp4 socket bound to ::1 emits EINVAL (syscall bind), as Node does", function()
    local s = H.socket("udp4")
    local events, err = {}, nil
    s:on("listening", function() events[#events + 1] = "listening" end)
    s:on("error", function(e)
      events[#events + 1] = "error"
      err = e
      s:close()
    end)
    s:bind(0, "::1")
    H.run(2000)
    assert.same({ "error" }, events)
    assert.equals("EINVAL", err.code)
    assert.equals("bind", err.syscall)
    assert.equals("integer", math.type(err.errno))
    assert.is_true(err.errno < 0)
  end)

  it("a custom lookup's error is emitted as 'error' and bind can be retried", function()
    local fail = true
    local s = H.socket({
      type = "udp4",
      lookup = function(host, _, cb)
        if fail then
          cb(dgram.core.error("ENOTFOUND", "getaddrinfo ENOTFOUND " .. host))
        else
          cb(nil, "127.0.0.1", 4)
        end
      end,
    })
    local events = {}
    s:on("error", function(e)
      events[#events + 1] = "error " .. e.code
      fail = false
      s:bind(0, "retry-host")
    end)
    s:on("listening", function()
      events[#events + 1] = "listening " .. s:address().address
      s:close()
    end)
    s:bind(0, "no-such-host")
    assert.same({}, events)
    H.run(2000)
    assert.same({ "error ENOTFOUND", "listening 127.0.0.1" }, events)
  end)

  it("a bad address type raises ERR_INVALID_ARG_TYPE", function()
    local s = H.socket("udp4")
    raises("ERR_INVALID_ARG_TYPE", s.bind, s, 0, 127001)
    raises("ERR_INVALID_ARG_TYPE", s.bind, s, { port = 0, address = true })
    s:bind(0, "127.0.0.1", function() s:close() end)
    H.run(2000)
  end)
end)

describe("address() errors", function()
  after_each(H.cleanup)

  for _, kind in ipairs({ "udp4", "udp6" }) do
    it("on an unbound " .. kind .. " socket raise EBADF with syscall getsockname", function()
      local s = H.socket(kind)
      local err = raises("EBADF", s.address, s)
      assert_error_object(err)
      assert.equals("getsockname", err.syscall)
      assert.equals("integer", math.type(err.errno))
      assert.is_true(err.errno < 0)
      assert.equals("getsockname EBADF", err.message)
    end)
  end

  it("on a socket whose bind failed raise EBADF", function()
    local holder, port = H.bound("udp4")
    local s = H.socket("udp4")
    local err
    s:on("error", function()
      local ok
      ok, err = pcall(s.address, s)
      assert.is_false(ok)
      s:close()
      holder:close()
    end)
    s:bind(port, "127.0.0.1")
    H.run(2000)
    assert.equals("EBADF", err.code)
  end)

  it("on a closed socket raise ERR_SOCKET_DGRAM_NOT_RUNNING", function()
    local s = H.bound("udp4")
    s:close()
    local err = raises("ERR_SOCKET_DGRAM_NOT_RUNNING", s.address, s)
    assert_error_object(err)
  end)
end)

describe("close() errors", function()
  after_each(H.cleanup)

  it("close(non-function) raises an ERR_INVALID_ARG_TYPE error object", function()
    local s = H.socket("udp4")
    local err = raises("ERR_INVALID_ARG_TYPE", s.close, s, "not a function")
    assert_error_object(err)
    -- still open: a close now works and emits 'close' once
    local count = 0
    s:close(function() count = count + 1 end)
    H.run(1000)
    assert.equals(1, count)
  end)

  it("close(non-function) on a closed socket raises (the socket is closed either way)",
    function()
      local s = H.socket("udp4")
      s:close()
      local ok, err = pcall(s.close, s, 42)
      assert.is_false(ok)
      assert.is_true(err.code == "ERR_INVALID_ARG_TYPE"
        or err.code == "ERR_SOCKET_DGRAM_NOT_RUNNING", tostring(err.code))
    end)

  it("a second close raises an ERR_SOCKET_DGRAM_NOT_RUNNING error object", function()
    local s = H.socket("udp4")
    s:close()
    local err = raises("ERR_SOCKET_DGRAM_NOT_RUNNING", s.close, s)
    assert_error_object(err)
  end)

  it("a second close does not add its callback", function()
    local s = H.socket("udp4")
    local calls = 0
    s:close()
    pcall(s.close, s, function() calls = calls + 1 end)
    H.run(1000)
    assert.equals(0, calls)
  end)
end)

describe("error objects", function()
  after_each(H.cleanup)

  it("raised errors are tables whose __tostring is the message", function()
    local err = raises("ERR_SOCKET_BAD_TYPE", dgram.createSocket, "nope")
    assert_error_object(err)
  end)

  it("error(err) keeps the same table through pcall", function()
    local s = H.socket("udp4")
    local _, e1 = pcall(s.address, s)
    local ok, e2 = pcall(error, e1)
    assert.is_false(ok)
    assert.equals(e1, e2)
  end)

  it("read well with print-style formatting", function()
    local holder, port = H.bound("udp4")
    local s = H.socket("udp4")
    local text
    s:on("error", function(e)
      text = "server error: " .. tostring(e)
      s:close()
      holder:close()
    end)
    s:bind(port, "127.0.0.1")
    H.run(2000)
    assert.equals(("server error: bind EADDRINUSE 127.0.0.1:%d"):format(port), text)
  end)

  it("carry no errno, syscall, address or port when they do not apply", function()
    local s = H.socket("udp4")
    local err = raises("ERR_SOCKET_BAD_PORT", s.bind, s, -1)
    assert.is_nil(err.errno)
    assert.is_nil(err.syscall)
  end)

  it("EADDRINUSE's port and errno are integers, not floats", function()
    local _, err = bind_taken("udp4")
    assert.equals("integer", math.type(err.port))
    assert.equals("integer", math.type(err.errno))
  end)

  it("EADDRINUSE's errno matches the platform's value for EADDRINUSE", function()
    local _, e1 = bind_taken("udp4")
    local _, e2 = bind_taken("udp4")
    assert.equals(e1.errno, e2.errno)
    -- libuv uses -errno on Unix: EADDRINUSE is 98 on Linux
    if linux then assert.equals(-98, e1.errno) end
  end)

  it("EBADF's errno is libuv's (-9 on Linux)", function()
    local s = H.socket("udp4")
    local err = raises("EBADF", s.address, s)
    if linux then assert.equals(-9, err.errno) end
  end)
end)

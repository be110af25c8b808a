-- Binds that fail or are repeated: a second bind, EADDRINUSE and retries, bad
-- addresses, closing while a bind waits, implicit binds that fail.
local H = require("helper")
local raises, run_until, quiet, dgram = H.raises, H.run_until, H.quiet, H.dgram
local no_raise, receiver = H.no_raise, H.listener

local LO4 = "127.0.0.1"

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

describe("bind: errors and retries (Node's test-dgram-* cases)", function()
  after_each(H.cleanup)

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
end)

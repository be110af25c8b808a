-- reusePort: sockets sharing a port, and EADDRINUSE without it.
local H = require("helper")
local run_until, quiet, bind_wait = H.run_until, H.quiet, H.bind_wait

local LO4, LO6 = "127.0.0.1", "::1"

-- A test of the sharing: where the build cannot set SO_REUSEPORT it has nothing to test
-- (pending, with the reason), and the last describe checks what happens there instead.
local function it_shares(name, fn)
  it(name, function()
    if not H.dgram.features.reusePort then
      return pending("this build cannot set SO_REUSEPORT (dgram.features.reusePort false: " ..
        "PORTABLE=1 with libuv < 1.49); 'reusePort where the build cannot set it' runs")
    end
    return fn()
  end)
end

-- A test of the other case: pending where the build sets SO_REUSEPORT.
local function it_refuses(name, fn)
  it(name, function()
    if H.dgram.features.reusePort then
      return pending("this build sets SO_REUSEPORT (dgram.features.reusePort true): " ..
        "make test PORTABLE=1 runs this")
    end
    return fn()
  end)
end

describe("reusePort", function()
  after_each(H.cleanup)

  it_shares("two reusePort sockets bind the same port; each datagram reaches exactly one",
    function()
      local a = H.socket({ type = "udp4", reusePort = true })
      local b = H.socket({ type = "udp4", reusePort = true })
      local errors, seen, total = {}, {}, 0
      for name, s in pairs({ a = a, b = b }) do
        s:on("error", function(err) errors[#errors + 1] = name .. " " .. tostring(err.code) end)
        s:on("message", function(msg)
          seen[msg] = (seen[msg] or 0) + 1
          total = total + 1
        end)
      end
      assert.is_nil(bind_wait(a, 0, LO4))
      local port = a:address().port
      assert.is_nil(bind_wait(b, port, LO4))
      assert.same({}, errors)
      assert.equals(port, b:address().port)
      -- several senders (several source ports), so that the kernel may spread them
      local expected = {}
      for i = 1, 8 do
        local c = H.socket("udp4")
        for j = 1, 3 do
          local msg = ("c%d-%d"):format(i, j)
          expected[msg] = 1
          c:send(msg, port, LO4)
        end
      end
      run_until(3000, function() return total >= 24 end)
      quiet(100)
      assert.same({}, errors)
      assert.same(expected, seen)
      assert.equals(24, total)
    end)

  it_shares("reusePort works for udp6 too", function()
    local a = H.socket({ type = "udp6", reusePort = true })
    local b = H.socket({ type = "udp6", reusePort = true })
    assert.is_nil(bind_wait(a, 0, LO6))
    assert.is_nil(bind_wait(b, a:address().port, LO6))
    assert.equals(a:address().port, b:address().port)
  end)

  it("without reusePort the second bind gets EADDRINUSE ('error'), and may be retried",
    function()
      local a = H.bound("udp4")
      local port = a:address().port
      local b = H.socket("udp4")
      local errors, listening = {}, 0
      b:on("error", function(err) errors[#errors + 1] = err end)
      b:on("listening", function() listening = listening + 1 end)
      b:bind(port, LO4)
      run_until(2000, function() return #errors > 0 end)
      assert.equals(1, #errors)
      assert.equals("EADDRINUSE", errors[1].code)
      assert.equals("bind", errors[1].syscall)
      assert.equals(0, listening)
      b:bind(0, LO4)
      run_until(2000, function() return listening > 0 end)
      assert.equals(1, listening)
    end)

  it_shares("a reusePort socket does not share with one that did not ask for it", function()
    local a = H.bound("udp4")
    local b = H.socket({ type = "udp4", reusePort = true })
    local errors = {}
    b:on("error", function(err) errors[#errors + 1] = err.code end)
    b:bind(a:address().port, LO4)
    run_until(2000, function() return #errors > 0 end)
    assert.same({ "EADDRINUSE" }, errors)
  end)
end)

describe("reusePort (Node's test-dgram-* cases)", function()
  after_each(H.cleanup)

  it_shares("test-dgram-reuseport: two reusePort sockets bind the same port", function()
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
end)

describe("reusePort where the build cannot set it", function()
  after_each(H.cleanup)

  for _, case in ipairs({ { "udp4", LO4 }, { "udp6", LO6 } }) do
    it_refuses(("the bind of a %s socket fails with ENOTSUP, emitted as 'error'"):format(case[1]),
      function()
        local a = H.socket({ type = case[1], reusePort = true })
        local errors, listening = {}, 0
        a:on("error", function(err) errors[#errors + 1] = err end)
        a:on("listening", function() listening = listening + 1 end)
        a:bind(0, case[2])
        run_until(2000, function() return #errors > 0 end)
        quiet(20)
        assert.equals(1, #errors)
        assert.equals("ENOTSUP", errors[1].code)
        assert.equals("bind", errors[1].syscall)
        assert.equals(0, listening)
      end)
  end

  it_refuses("a socket without it still binds and receives", function()
    local a, port = H.bound("udp4")
    local got
    a:on("message", function(msg) got = msg end)
    H.socket("udp4"):send("still here", port, LO4)
    run_until(2000, function() return got ~= nil end)
    assert.equals("still here", got)
  end)
end)

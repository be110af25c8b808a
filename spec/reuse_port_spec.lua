-- reusePort: sockets sharing a port, and EADDRINUSE without it.
local H = require("helper")
local run_until, quiet, bind_wait = H.run_until, H.quiet, H.bind_wait

local LO4, LO6 = "127.0.0.1", "::1"

describe("reusePort", function()
  after_each(H.cleanup)

  it("two reusePort sockets bind the same port; each datagram reaches exactly one",
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

  it("reusePort works for udp6 too", function()
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

  it("a reusePort socket does not share with one that did not ask for it", function()
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
end)

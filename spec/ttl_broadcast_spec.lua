-- setTTL, setMulticastTTL, setMulticastLoopback, setBroadcast and the membership calls:
-- results and argument/state errors (no multicast or broadcast traffic).
local H = require("helper")
local raises, no_raise = H.raises, H.no_raise

describe("TTL, broadcast and membership calls (Node's test-dgram-* cases)", function()
  after_each(H.cleanup)

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
end)

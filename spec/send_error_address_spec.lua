-- An error about a send's destination names it, as Node's do: a udp6 socket sending to
-- 127.0.0.1 (or a udp4 one to ::1) fails with EINVAL whose message is
-- "send EINVAL 127.0.0.1:41234", with `address`, `port`, `syscall` and `errno` set
-- (recorded with node v20.20.2: err.message, code, errno -22, syscall, address, port).
-- Nothing leaves: the destination is refused before any system call.
local H = require("helper")
local run_until, quiet = H.run_until, H.quiet

local PORT = 41234

local function check_einval(err, address, port)
  assert.equals("table", type(err))
  assert.equals("EINVAL", err.code)
  assert.equals(("send EINVAL %s:%d"):format(address, port), err.message)
  assert.equals(("send EINVAL %s:%d"):format(address, port), tostring(err))
  assert.equals("send", err.syscall)
  assert.equals(address, err.address)
  assert.equals(port, err.port)
  assert.equals("integer", math.type(err.port))
  assert.equals(-22, err.errno)
  assert.equals("integer", math.type(err.errno))
end

describe("send errors name their destination", function()
  after_each(H.cleanup)

  for _, case in ipairs({ { "udp6", "127.0.0.1" }, { "udp4", "::1" },
    { "udp4", "::ffff:127.0.0.1" }, { "udp6", "10.0.0.1" } }) do
    local kind, dest = case[1], case[2]
    it(("%s send to %s: the callback gets \"send EINVAL %s:%d\""):format(kind, dest, dest,
      PORT), function()
      local c = H.socket(kind)
      local err = H.send_wait(c, "x", PORT, dest)
      check_einval(err, dest, PORT)
      assert.equals(1, c:stats().sendErrors)
    end)

    it(("%s send to %s without a callback: 'error' carries the address and port")
      :format(kind, dest), function()
      local c = H.socket(kind)
      local errors = {}
      c:on("error", function(e) errors[#errors + 1] = e end)
      c:send("x", PORT, dest)
      run_until(2000, function() return #errors > 0 end)
      quiet(30)
      assert.equals(1, #errors)
      check_einval(errors[1], dest, PORT)
    end)
  end

  it("the port is the one given, also as a numeric string", function()
    local c = H.socket("udp6")
    local err = H.send_wait(c, "x", "9", "127.0.0.1")
    check_einval(err, "127.0.0.1", 9)
  end)

  it("an address of the other family from a custom lookup names that address", function()
    local c = H.socket({ type = "udp4", lookup = function(host, family, cb)
      cb(nil, host == "example.test" and "::1" or host, family)
    end })
    local err = H.send_wait(c, "x", PORT, "example.test")
    check_einval(err, "::1", PORT)
  end)

  it("an answer from a lookup that is not an IP names it too", function()
    local c = H.socket({ type = "udp4", lookup = function(host, family, cb)
      cb(nil, host == "example.test" and "not-an-ip" or host, family)
    end })
    local err = H.send_wait(c, "x", PORT, "example.test")
    check_einval(err, "not-an-ip", PORT)
  end)

  it("the socket keeps working after the refused send", function()
    local _, port, got = H.listener("udp6")
    local c = H.socket("udp6")
    check_einval(H.send_wait(c, "x", PORT, "127.0.0.1"), "127.0.0.1", PORT)
    assert.is_nil((H.send_wait(c, "after", port, "::1")))
    run_until(2000, function() return #got > 0 end)
    assert.equals("after", got[1] and got[1].msg)
  end)
end)

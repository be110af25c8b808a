-- dgram.run in its modes, and dgram.backendFd/backendTimeout for hosts that poll.
local H = require("helper")
local dgram, now, nop, send_all, assert_idle = H.dgram, H.now, H.nop, H.send_all, H.assert_idle

describe("dgram.run", function()
  after_each(H.cleanup)

  it("returns false at once when nothing is pending, in every mode", function()
    assert.is_false(dgram.run())
    assert.is_false(dgram.run("default"))
    assert.is_false(dgram.run("once"))
    assert.is_false(dgram.run("nowait"))
  end)

  it("default mode runs until the last referenced timer has fired", function()
    local order = {}
    dgram.setTimeout(10, function() order[#order + 1] = "a" end)
    dgram.setTimeout(30, function()
      order[#order + 1] = "b"
      dgram.setTimeout(5, function() order[#order + 1] = "c" end)
    end)
    assert.is_false(dgram.run("default"))
    assert.same({ "a", "b", "c" }, order)
  end)

  it("nowait does not block on a pending timer and returns true while it is pending",
    function()
      local fired = false
      local t = dgram.setTimeout(1500, function() fired = true end)
      local t0 = now()
      assert.is_true(dgram.run("nowait"))
      assert.is_true(dgram.run("nowait"))
      assert.is_false(fired)
      assert.is_true(now() - t0 < 1, "run('nowait') blocked")
      dgram.clearTimeout(t)
      assert.is_false(dgram.run("nowait"))
      assert.is_false(fired)
    end)

  it("nowait, polled in a bounded frame loop, fires a timer and then returns false", function()
    local fired = 0
    dgram.setTimeout(20, function() fired = fired + 1 end)
    local stop, more, polls = now() + 2 * H.scale, true, 0
    while more and now() < stop and polls < 10000000 do
      more = dgram.run("nowait")
      polls = polls + 1
    end
    assert.is_false(more)
    assert.equals(1, fired)
    assert.is_true(polls > 1, "nowait should not have waited for the 20 ms timer")
  end)

  it("nowait returns true while a referenced socket is bound and false once it is closed",
    function()
      local s = H.bound("udp4")
      assert.is_true(dgram.run("nowait"))
      assert.is_true(dgram.run("nowait"))
      local closed = false
      s:close(function() closed = true end)
      local more = true
      for _ = 1, 20 do
        more = dgram.run("nowait")
        if not more then break end
      end
      assert.is_false(more)
      assert.is_true(closed)
    end)

  it("nowait delivers a datagram when polled in a frame loop", function()
    local server, port = H.bound("udp4")
    local got
    server:on("message", function(msg) got = msg end)
    send_all(port, { "frame" })
    local stop = now() + 2 * H.scale
    for _ = 1, 10000000 do
      if got or now() > stop then break end
      dgram.run("nowait")
    end
    assert.equals("frame", got)
  end)

  it("once blocks for one round: a timer fires, and it returns whether work remains",
    function()
      local a, b = false, false
      dgram.setTimeout(20, function() a = true end)
      local tb = dgram.setTimeout(3000, function() b = true end)
      local more
      for _ = 1, 50 do -- one round normally; a spurious early wake-up is allowed
        more = dgram.run("once")
        if a then break end
      end
      assert.is_true(a)
      assert.is_false(b)
      assert.is_true(more)
      dgram.clearTimeout(tb)
      assert.is_false(dgram.run("once"))
      assert.is_false(b)
    end)

  it("once with a single timer returns false after it fired", function()
    local fired = false
    dgram.setTimeout(10, function() fired = true end)
    local more
    for _ = 1, 50 do
      more = dgram.run("once")
      if fired then break end
    end
    assert.is_true(fired)
    assert.is_false(more)
  end)

  it("rejects an unknown mode with an error object", function()
    local ok, err = pcall(dgram.run, "forever")
    assert.is_false(ok)
    assert.equals("table", type(err))
    assert.equals("ERR_INVALID_ARG_VALUE", err.code)
    ok, err = pcall(dgram.run, 42)
    assert.is_false(ok)
    assert.equals("table", type(err))
    assert.equals("ERR_INVALID_ARG_TYPE", err.code)
    assert_idle()
  end)

  it("raises when called from inside a timer callback, and the outer run goes on", function()
    local results = {}
    local later = false
    dgram.setTimeout(5, function()
      for _, mode in ipairs({ "default", "once", "nowait" }) do
        local ok, err = pcall(dgram.run, mode)
        results[#results + 1] = { ok = ok, err = err }
      end
      dgram.setTimeout(5, function() later = true end)
    end)
    assert.is_false(dgram.run())
    assert.equals(3, #results)
    for _, r in ipairs(results) do
      assert.is_false(r.ok)
      assert.is_truthy(tostring(r.err):find("%S"))
    end
    assert.is_true(later)
  end)

  it("raises when called from inside a message handler", function()
    local server, port = H.bound("udp4")
    local ok, err
    server:on("message", function()
      ok, err = pcall(dgram.run, "nowait")
      server:close()
    end)
    send_all(port, { "x" })
    H.run(2000)
    assert.is_false(ok)
    assert.is_not_nil(err)
  end)

  it("runs callbacks on the coroutine that called it", function()
    local seen
    dgram.setTimeout(1, function() seen = coroutine.running() end)
    local co = coroutine.create(function() return dgram.run() end)
    local ok, more = coroutine.resume(co)
    assert.is_true(ok, tostring(more))
    assert.is_false(more)
    assert.equals(co, seen)
  end)
end)

describe("dgram.backendFd and dgram.backendTimeout", function()
  after_each(H.cleanup)

  it("backendFd is a non-negative integer, the same on every call", function()
    local fd = dgram.backendFd()
    assert.equals("integer", math.type(fd))
    assert.is_true(fd >= 0)
    assert.equals(fd, dgram.backendFd())
  end)

  it("backendFd is an epoll descriptor of this process (Linux)", function()
    local stat = io.open("/proc/self/stat")
    if not stat then return end -- no /proc: nothing to check here
    local pid = stat:read("*n")
    stat:close()
    local p = io.popen(("readlink /proc/%d/fd/%d"):format(pid, dgram.backendFd()))
    local target = p:read("*l")
    p:close()
    assert.equals("anon_inode:[eventpoll]", target)
  end)

  it("backendTimeout is an integer; -1 with nothing active (a host must never spin)", function()
    assert_idle()
    local t = dgram.backendTimeout()
    assert.equals("integer", math.type(t))
    assert.equals(-1, t)
  end)

  it("is -1 with only a bound, idle, referenced socket", function()
    H.bound("udp4")
    for _ = 1, 5 do dgram.run("nowait") end -- deliver 'listening'
    assert.equals(-1, dgram.backendTimeout())
  end)

  it("is between 0 and 1000 with a 1000 ms timer pending", function()
    local t = dgram.setTimeout(1000, nop)
    local ms = dgram.backendTimeout()
    assert.equals("integer", math.type(ms))
    assert.is_true(ms > 0 and ms <= 1000, "got " .. ms)
    H.bound("udp4")
    for _ = 1, 5 do dgram.run("nowait") end
    ms = dgram.backendTimeout()
    assert.is_true(ms > 0 and ms <= 1000, "got " .. ms)
    dgram.clearTimeout(t)
    assert.equals(-1, dgram.backendTimeout())
  end)

  it("is 0 while a send callback is due", function()
    local _, port = H.bound("udp4")
    for _ = 1, 5 do dgram.run("nowait") end
    local t = dgram.setTimeout(1000, nop)
    local called = false
    local client = H.socket("udp4")
    client:send("x", port, "127.0.0.1", function() called = true end)
    assert.equals(0, dgram.backendTimeout())
    for _ = 1, 100 do
      if called then break end
      dgram.run("nowait")
    end
    assert.is_true(called)
    dgram.clearTimeout(t)
  end)
end)

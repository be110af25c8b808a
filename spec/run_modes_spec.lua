-- The run modes as a host's frame loop uses them: run("nowait") delivers everything
-- already waiting, run("once") returns after the first round that ran a callback,
-- backendTimeout() is fresh and never tells a host to spin, dgram.alive(), and timers
-- armed from host code between runs count from the real time of arming.
local H = require("helper")
local dgram = H.dgram

local busy_wait = H.busy_wait

-- Lets what earlier tests (and spec files) left on the loop finish, so that each test
-- starts from an idle loop.
local function settle()
  H.cleanup()
  H.run(3000)
end

describe("run('nowait')", function()
  after_each(H.cleanup)

  it("delivers a burst of 5,000 datagrams waiting on a socket in one call", function()
    local rx, port = H.bound("udp4", { recvBufferSize = 4 * 1024 * 1024 })
    local tx = H.bound("udp4")
    local got, last = 0, nil
    rx:on("message", function(msg)
      got = got + 1
      last = msg
    end)
    for i = 1, 5000 do tx:send(("%05d"):format(i), port, "127.0.0.1") end
    -- Outside dgram.run sends leave at once: all 5,000 now wait in rx's receive buffer
    -- (which a build that counts kernelDrops can check first).
    if dgram.features.kernelDrops then
      assert.equals(0, rx:stats().kernelDrops, "the receive buffer could not hold the burst")
    end
    dgram.run("nowait")
    assert.equals(5000, got)
    assert.equals("05000", last)
  end)

  it("reads every readable socket in the same call, not only the first", function()
    local a, pa = H.bound("udp4", { recvBufferSize = 1024 * 1024 })
    local b, pb = H.bound("udp4", { recvBufferSize = 1024 * 1024 })
    local tx = H.bound("udp4")
    local got = { a = 0, b = 0 }
    a:on("message", function() got.a = got.a + 1 end)
    b:on("message", function() got.b = got.b + 1 end)
    for _ = 1, 500 do
      tx:send("x", pa, "127.0.0.1")
      tx:send("y", pb, "127.0.0.1")
    end
    dgram.run("nowait")
    assert.same({ a = 500, b = 500 }, got)
  end)

  it("runs every due timer and deferred callback, and returns at once with nothing due", function()
    settle()
    local ran = {}
    dgram.setTimeout(1, function() ran[#ran + 1] = "timer" end)
    dgram.setTimeout(2, function() ran[#ran + 1] = "timer2" end)
    busy_wait(5)
    assert.is_false(dgram.run("nowait"))
    assert.same({ "timer", "timer2" }, ran)
    -- A bound, idle socket would block run("once"); nowait must not wait for it.
    H.bound("udp4")
    local t0 = dgram.now()
    assert.is_true(dgram.run("nowait"))
    assert.is_true(dgram.now() - t0 < 1000, "run('nowait') blocked")
  end)
end)

describe("run('once')", function()
  after_each(H.cleanup)

  it("returns after a round in which a timer that was already due ran", function()
    H.bound("udp4") -- referenced and idle: a round that goes on to wait for I/O never ends
    local fired, guard_fired = 0, false
    dgram.setTimeout(1, function() fired = fired + 1 end)
    local guard = dgram.setTimeout(3000 * H.scale, function() guard_fired = true end)
    guard:unref()
    busy_wait(5)
    assert.is_true(dgram.run("once"))
    dgram.clearTimeout(guard)
    assert.equals(1, fired)
    assert.is_false(guard_fired, "run('once') waited for I/O after the due timer ran")
  end)

  it("blocks until a datagram arrives, delivers it and returns", function()
    local rx, port = H.bound("udp4")
    local tx = H.bound("udp4")
    local got = {}
    rx:on("message", function(msg) got[#got + 1] = msg end)
    tx:send("wake", port, "127.0.0.1")
    local guard = dgram.setTimeout(3000 * H.scale, function() end)
    guard:unref()
    assert.is_true(dgram.run("once"))
    dgram.clearTimeout(guard)
    assert.same({ "wake" }, got)
  end)

  it("returns false at once when nothing referenced is left", function()
    settle()
    local t0 = dgram.now()
    assert.is_false(dgram.run("once"))
    assert.is_true(dgram.now() - t0 < 1000)
  end)
end)

describe("dgram.alive and dgram.backendTimeout", function()
  after_each(H.cleanup)

  it("-1 and not alive with nothing referenced: a bound socket after unref()", function()
    settle()
    assert.is_false(dgram.alive())
    assert.equals(-1, dgram.backendTimeout())
    local s = H.bound("udp4")
    dgram.run("nowait") -- what binding queued ('listening') has run
    assert.is_true(dgram.alive())
    -- an idle socket is never due (-1), but an unreferenced timer another spec file left
    -- is counted while the socket keeps the loop alive
    assert.is_true(dgram.backendTimeout() ~= 0)
    s:unref()
    assert.is_false(dgram.alive())
    assert.equals(-1, dgram.backendTimeout())
    s:ref()
    assert.is_true(dgram.alive())
  end)

  it("-1 and not alive with only an unreferenced timer, which run() does not wait for", function()
    settle()
    local t = dgram.setTimeout(10, function() end)
    t:unref()
    assert.is_false(dgram.alive())
    assert.equals(-1, dgram.backendTimeout())
    assert.is_false(dgram.run())
    dgram.clearTimeout(t)
  end)

  it("0 when a timer is already due, and 0 with a deferred callback waiting", function()
    settle()
    local t = dgram.setTimeout(1, function() end)
    busy_wait(5)
    assert.equals(0, dgram.backendTimeout())
    dgram.run("nowait")
    assert.equals(-1, dgram.backendTimeout())
    dgram.clearTimeout(t)
    dgram.core.nextTick(function() end)
    assert.equals(0, dgram.backendTimeout())
    dgram.run("nowait")
  end)

  it("is counted on a fresh clock: a timer armed 30 ms after a run fires on time", function()
    settle()
    H.bound("udp4")
    dgram.run("nowait")
    busy_wait(30) -- the host's own work, after the last run
    local armed = dgram.now()
    local fired_at
    dgram.setTimeout(50, function() fired_at = dgram.now() end)
    local wait = dgram.backendTimeout()
    assert.is_true(wait >= 45 and wait <= 50, "backendTimeout after arming: " .. wait)
    assert.is_true(H.run_until(3000, function() return fired_at ~= nil end))
    -- never early (a stale clock made such timers fire ~30 ms early or late)
    assert.is_true(fired_at - armed >= 49, ("fired after %.1f ms"):format(fired_at - armed))
  end)

  it("counts down as real time passes between runs", function()
    settle()
    local t = dgram.setTimeout(200, function() end)
    local first = dgram.backendTimeout()
    busy_wait(60)
    local later = dgram.backendTimeout()
    assert.is_true(first >= 190 and first <= 200, "first: " .. first)
    assert.is_true(later <= first - 55, ("%d then %d"):format(first, later))
    dgram.clearTimeout(t)
  end)
end)

describe("dgram.now and dgram.hrtime", function()
  it("are monotonic clocks: ms as a float, ns as an integer, fresh at each call", function()
    local ms, ns = dgram.now(), dgram.hrtime()
    if _VERSION ~= "Lua 5.1" then assert.equals("float", math.type(ms)) end -- (5.1: doubles)
    assert.equals("integer", math.type(ns))
    assert.is_true(math.abs(ns / 1e6 - ms) < 1000)
    busy_wait(5)
    assert.is_true(dgram.now() - ms >= 5)
    assert.is_true(dgram.hrtime() - ns >= 5000000)
  end)
end)

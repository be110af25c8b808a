-- dgram.setFixedInterval: a game server's tick on a fixed grid of due times. Fractional
-- periods keep their rate, a stall skips (and counts) the ticks it missed instead of
-- replaying them, and ticks never fire before their due time.
local H = require("helper")
local dgram = H.dgram

local busy_wait = H.busy_wait

-- Runs the loop (one round at a time) for `ms` of real time.
local function run_for(ms)
  local stop = dgram.now() + ms
  local guard = dgram.setInterval(5, function() end) -- rounds end at least every 5 ms
  while dgram.now() < stop do dgram.run("once") end
  dgram.clearInterval(guard)
end

describe("dgram.setFixedInterval", function()
  after_each(H.cleanup)

  it("keeps a fractional period's rate: 1000/60 ms is 60 Hz, not 62.5 Hz", function()
    local period = 1000 / 60
    local times = {}
    local start = dgram.now()
    local t = dgram.setFixedInterval(period, function() times[#times + 1] = dgram.now() end)
    run_for(520)
    local elapsed = dgram.now() - start
    dgram.clearInterval(t)
    local due = math.floor(elapsed / period)
    -- every tick is either run or counted as missed, and none runs before its due time
    assert.is_true(#times + t:missed() <= due, ("%d ticks in %.1f ms"):format(#times, elapsed))
    assert.is_true(#times + t:missed() >= due - 2, ("%d ticks in %.1f ms"):format(#times, elapsed))
    for k, at in ipairs(times) do
      -- (a tick may run up to a ms before its exact due time: the loop counts whole ms)
      assert.is_true(at - start >= k * period - 2 - t:missed() * period,
        ("tick %d at %.2f ms, due at %.2f"):format(k, at - start, k * period))
    end
  end)

  it("skips and counts the ticks a stall missed, without replaying them", function()
    local period = 20
    local times = {}
    local start = dgram.now()
    local t
    t = dgram.setFixedInterval(period, function()
      times[#times + 1] = dgram.now()
      if #times == 3 then busy_wait(75) end -- the stall: ticks due at 80 and 100 are lost
    end)
    run_for(300)
    dgram.clearInterval(t)
    assert.is_true(t:missed() >= 2, "missed: " .. t:missed())
    -- after the stall: one tick at once (late for its grid slot), then one per slot,
    -- never two for the same slot (a replay)
    local after, prev = 0, nil
    for k = 4, #times do
      local slot = math.floor((times[k] - start + 2) / period) -- (up to a ms early)
      assert.is_true(slot >= 4, ("tick %d in slot %d"):format(k, slot))
      if prev then
        assert.is_true(slot > prev, ("ticks %d and %d both in slot %d"):format(k - 1, k, slot))
        after = after + 1
      end
      prev = slot
    end
    assert.is_true(after >= 3, "the tick went on after the stall")
  end)

  it("keeps ten staggered ticks apart after a stall (no merged burst)", function()
    local period, n = 50, 10
    local last = {}
    local ticks = {}
    for i = 1, n do
      dgram.setTimeout(i * 3, function()
        ticks[i] = dgram.setFixedInterval(period, function() last[i] = dgram.now() end)
      end)
    end
    run_for(120)
    busy_wait(40) -- the host stalls between runs
    local seen = {}
    for i = 1, n do seen[i] = last[i] end
    run_for(150)
    for i = 1, n do dgram.clearInterval(ticks[i]) end
    -- Each bot's tick kept its own phase: the last ticks are spread over >= 20 ms, as the
    -- phases (3 ms apart) were, instead of all firing in the same round.
    local lo, hi = math.huge, -math.huge
    for i = 1, n do
      assert.is_true(last[i] ~= nil and last[i] ~= seen[i], "bot " .. i .. " ticked again")
      lo, hi = math.min(lo, last[i]), math.max(hi, last[i])
    end
    assert.is_true(hi - lo >= 20, ("the ten ticks fired within %.1f ms"):format(hi - lo))
  end)

  it("passes its extra arguments, stops with clearInterval and honours unref", function()
    local got = {}
    local t
    t = dgram.setFixedInterval(2.5, function(a, b)
      got[#got + 1] = a .. b
      if #got == 3 then dgram.clearInterval(t) end
    end, "x", "y")
    assert.is_true(H.run_until(2000, function() return #got == 3 end))
    H.quiet(20)
    assert.same({ "xy", "xy", "xy" }, got)
    local u = dgram.setFixedInterval(1000, function() end)
    u:unref()
    assert.is_false(dgram.alive())
    assert.is_false(dgram.run())
    dgram.clearInterval(u)
  end)

  it("refuses a bad period or callback with an error object", function()
    H.raises("ERR_INVALID_ARG_TYPE", dgram.setFixedInterval, "16", function() end)
    H.raises("ERR_INVALID_ARG_TYPE", dgram.setFixedInterval, 16)
    H.raises("ERR_OUT_OF_RANGE", dgram.setFixedInterval, 0, function() end)
    H.raises("ERR_OUT_OF_RANGE", dgram.setFixedInterval, -5, function() end)
    H.raises("ERR_OUT_OF_RANGE", dgram.setFixedInterval, 0 / 0, function() end)
    H.raises("ERR_OUT_OF_RANGE", dgram.setFixedInterval, math.huge, function() end)
    collectgarbage() -- a timer the collector frees is closing, not work that remains
    assert.is_false(dgram.alive())
    assert.equals(-1, dgram.backendTimeout())
  end)
end)

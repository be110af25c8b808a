-- setTimeout/setInterval/clearTimeout/clearInterval: arguments, order, ref and unref.
local H = require("helper")
local dgram, now, nop, prun, assert_idle = H.dgram, H.now, H.nop, H.prun, H.assert_idle

describe("timers", function()
  after_each(H.cleanup)

  it("setTimeout passes the extra arguments to the callback, nil included", function()
    local got
    dgram.setTimeout(1, function(...) got = table.pack(...) end, "a", 2, nil, false, "e")
    assert.is_false(dgram.run())
    assert.equals(5, got.n)
    assert.equals("a", got[1])
    assert.equals(2, got[2])
    assert.is_nil(got[3])
    assert.is_false(got[4])
    assert.equals("e", got[5])
  end)

  it("setTimeout with no extra arguments calls the callback with none", function()
    local n
    dgram.setTimeout(1, function(...) n = select("#", ...) end)
    dgram.run()
    assert.equals(0, n)
  end)

  it("setTimeout returns a timer object and fires exactly once", function()
    local n = 0
    local t = dgram.setTimeout(5, function() n = n + 1 end)
    assert.is_not_nil(t)
    assert.equals("function", type(t.ref))
    assert.equals("function", type(t.unref))
    local stop = now() + 0.1
    while now() < stop do dgram.run("nowait") end
    assert.equals(1, n)
    dgram.clearTimeout(t) -- clearing a fired timer is harmless
    assert_idle()
  end)

  it("setTimeout(0) and a negative delay still fire (as Node: 1 ms)", function()
    local fired = {}
    dgram.setTimeout(0, function() fired[#fired + 1] = "zero" end)
    dgram.setTimeout(-5, function() fired[#fired + 1] = "neg" end)
    assert.is_false(dgram.run())
    assert.same({ "zero", "neg" }, fired)
  end)

  it("fires two timeouts in delay order, not registration order", function()
    local order = {}
    dgram.setTimeout(60, function() order[#order + 1] = "slow" end)
    dgram.setTimeout(10, function() order[#order + 1] = "fast" end)
    dgram.run()
    assert.same({ "fast", "slow" }, order)
  end)

  it("fires timeouts with the same delay in registration order", function()
    local order = {}
    for i = 1, 5 do dgram.setTimeout(10, function() order[#order + 1] = i end) end
    dgram.run()
    assert.same({ 1, 2, 3, 4, 5 }, order)
  end)

  it("clearTimeout before it fires prevents it", function()
    local fired = false
    local t = dgram.setTimeout(10, function() fired = true end)
    dgram.clearTimeout(t)
    local t0 = now()
    assert.is_false(dgram.run())
    assert.is_false(fired)
    assert.is_true(now() - t0 < 0.5)
  end)

  it("clearTimeout from another callback due at the same time prevents it", function()
    local fired = {}
    local t2
    dgram.setTimeout(10, function()
      fired[#fired + 1] = 1
      dgram.clearTimeout(t2)
    end)
    t2 = dgram.setTimeout(10, function() fired[#fired + 1] = 2 end)
    dgram.run()
    assert.same({ 1 }, fired)
  end)

  it("clearTimeout ignores values that are not timers, as Node", function()
    assert.has_no.errors(function()
      dgram.clearTimeout(nil)
      dgram.clearTimeout({})
      dgram.clearTimeout("x")
      dgram.clearInterval(nil)
      dgram.clearInterval(12)
    end)
  end)

  it("rejects a callback that is not a function with ERR_INVALID_ARG_TYPE", function()
    for _, f in ipairs({ "setTimeout", "setInterval" }) do
      local ok, err = pcall(dgram[f], 10, "not a function")
      assert.is_false(ok)
      assert.equals("table", type(err))
      assert.equals("ERR_INVALID_ARG_TYPE", err.code)
      ok, err = pcall(dgram[f], 10)
      assert.is_false(ok)
      assert.equals("ERR_INVALID_ARG_TYPE", err.code)
    end
    assert_idle()
  end)

  it("setInterval fires repeatedly, with its arguments, until clearInterval", function()
    local calls = {}
    local t
    t = dgram.setInterval(5, function(a, b)
      calls[#calls + 1] = { a, b }
      if #calls == 4 then dgram.clearInterval(t) end
      if #calls > 100 then dgram.clearInterval(t) end -- never loop forever
    end, "x", 7)
    assert.is_false(dgram.run())
    assert.equals(4, #calls)
    for _, c in ipairs(calls) do assert.same({ "x", 7 }, c) end
  end)

  it("clearInterval from outside stops an interval", function()
    local n = 0
    local t = dgram.setInterval(5, function() n = n + 1 end)
    dgram.setTimeout(60, function() dgram.clearInterval(t) end)
    assert.is_false(dgram.run())
    assert.is_true(n >= 2, "fired " .. n .. " times")
    local seen = n
    dgram.setTimeout(30, nop)
    dgram.run()
    assert.equals(seen, n)
  end)

  it("clearTimeout and clearInterval are interchangeable, as in Node", function()
    local n = 0
    local t
    t = dgram.setInterval(5, function()
      n = n + 1
      if n == 2 then dgram.clearTimeout(t) end
    end)
    local r = prun(1000, function() dgram.clearInterval(t) end)
    assert.is_true(r[1], tostring(r[2]))
    assert.is_false(r.expired)
    assert.equals(2, n)
    local fired = false
    local t2 = dgram.setTimeout(5, function() fired = true end)
    dgram.clearInterval(t2)
    dgram.run()
    assert.is_false(fired)
  end)

  it("unref lets run return without firing the timer; unref returns the timer", function()
    local fired = false
    local t = dgram.setTimeout(1000, function() fired = true end)
    assert.equals(t, t:unref())
    local t0 = now()
    assert.is_false(dgram.run())
    assert.is_true(now() - t0 < 0.5, "run waited for an unreferenced timer")
    assert.is_false(fired)
    assert.is_false(dgram.run("nowait"))
    dgram.clearTimeout(t)
  end)

  it("an unreferenced timer still fires while something else keeps the loop up", function()
    local order = {}
    dgram.setTimeout(10, function() order[#order + 1] = "unref" end):unref()
    dgram.setTimeout(60, function() order[#order + 1] = "ref" end)
    dgram.run()
    assert.same({ "unref", "ref" }, order)
  end)

  it("ref after unref makes run wait for it again; ref returns the timer", function()
    local fired = false
    local t = dgram.setTimeout(20, function() fired = true end)
    t:unref()
    assert.equals(t, t:ref())
    assert.is_false(dgram.run())
    assert.is_true(fired)
  end)

  it("an unreferenced interval does not keep the loop alive", function()
    local n = 0
    local t = dgram.setInterval(5, function() n = n + 1 end)
    t:unref()
    dgram.setTimeout(40, nop)
    assert.is_false(dgram.run())
    assert.is_true(n >= 1)
    dgram.clearInterval(t)
  end)

  it("fires a timer whose object the script dropped", function()
    local fired = false
    dgram.setTimeout(20, function() fired = true end)
    collectgarbage()
    collectgarbage()
    assert.is_false(dgram.run())
    assert.is_true(fired)
  end)

  it("a timer set inside a timer callback keeps run going", function()
    local depth = 0
    local function again()
      depth = depth + 1
      if depth < 5 then dgram.setTimeout(1, again) end
    end
    dgram.setTimeout(1, again)
    assert.is_false(dgram.run())
    assert.equals(5, depth)
  end)
end)

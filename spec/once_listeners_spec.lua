-- One-time listeners of a socket's events (a bind or close callback, once()): kept by
-- the core alone while they are a socket's only listener, they behave as Node's once()
-- in every other way: listed, removable, in order with later listeners, run once.
local H = require("helper")

describe("one-time listeners", function()
  after_each(H.cleanup)

  it("a bind callback runs once, and nothing of it is left afterwards", function()
    local s = H.socket("udp4")
    local n = 0
    local function cb() n = n + 1 end
    s:bind(0, "127.0.0.1", cb)
    assert.same({ cb }, s:listeners("listening"))
    assert.is_true(H.run_until(2000, function() return n == 1 end))
    s:emit("listening")
    H.quiet(10)
    assert.equals(1, n)
    assert.equals(0, s:listenerCount("listening"))
  end)

  it("a lone bind callback, never looked at, runs once and leaves no listener", function()
    local s = H.socket("udp4")
    local n = 0
    s:bind(0, "127.0.0.1", function() n = n + 1 end)
    assert.is_true(H.run_until(2000, function() return n == 1 end))
    s:emit("listening")
    assert.equals(1, n)
    assert.equals(0, s:listenerCount("listening"))
  end)

  it("keeps its place among listeners added later, and runs before them", function()
    local s = H.socket("udp4")
    local order = {}
    s:bind(0, "127.0.0.1", function() order[#order + 1] = "bind cb" end)
    s:on("listening", function() order[#order + 1] = "on" end)
    s:once("listening", function() order[#order + 1] = "once" end)
    assert.equals(3, s:listenerCount("listening"))
    assert.is_true(H.run_until(2000, function() return #order == 3 end))
    s:emit("listening")
    assert.same({ "bind cb", "on", "once", "on" }, order)
    assert.equals(1, s:listenerCount("listening"))
  end)

  it("is removed by removeListener with the function given, before it runs", function()
    local s = H.socket("udp4")
    local ran = false
    local function cb() ran = true end
    s:bind(0, "127.0.0.1", cb)
    s:removeListener("listening", cb)
    assert.equals(0, s:listenerCount("listening"))
    local bound = false
    s:on("listening", function() bound = true end)
    assert.is_true(H.run_until(2000, function() return bound end))
    assert.is_false(ran)
  end)

  it("a close callback and once('close') run once each, in order", function()
    local s = H.socket("udp4")
    local order = {}
    s:once("close", function() order[#order + 1] = "once" end)
    s:close(function() order[#order + 1] = "close cb" end)
    assert.is_true(H.run_until(2000, function() return #order == 2 end))
    H.quiet(10)
    assert.same({ "once", "close cb" }, order)
    assert.equals(0, s:listenerCount("close"))
  end)

  it("once('error') takes one error; the next one is unhandled again", function()
    local s = H.bound("udp4")
    local got
    s:once("error", function(err) got = err end)
    s:send("x", 9, "::1") -- a udp4 socket to an IPv6 address: EINVAL, as 'error'
    assert.is_true(H.run_until(2000, function() return got ~= nil end))
    assert.equals("EINVAL", got.code)
    s:send("x", 9, "::1")
    local ok, err = pcall(H.run, 2000)
    assert.is_false(ok)
    assert.equals("EINVAL", err.code)
  end)
end)

-- socket:ref() and socket:unref(): what keeps dgram.run going.
local H = require("helper")
local dgram, prun, run_until, send_all = H.dgram, H.prun, H.wait, H.send_all

describe("socket:ref() and socket:unref()", function()
  after_each(H.cleanup)

  it("return the socket", function()
    local s = H.socket("udp4")
    assert.equals(s, s:unref())
    assert.equals(s, s:ref())
    s:close()
    assert.equals(s, s:unref())
    assert.equals(s, s:ref())
  end)

  it("a bound, unreferenced socket does not keep run going", function()
    local s = H.bound("udp4")
    s:unref()
    local r = prun(1000, function() s:close() end)
    assert.is_true(r[1], tostring(r[2]))
    assert.is_false(r[2])
    assert.is_false(r.expired)
    assert.is_false(dgram.run("nowait"))
  end)

  it("unref before bind still holds once bound", function()
    local s = H.socket("udp4")
    s:unref()
    s:bind(0, "127.0.0.1")
    local r = prun(1000, function() s:close() end)
    assert.is_true(r[1], tostring(r[2]))
    assert.is_false(r.expired)
  end)

  it("ref after unref makes the socket keep run going again", function()
    local s = H.bound("udp4")
    s:unref()
    s:ref()
    local closed = false
    s:on("close", function() closed = true end)
    dgram.setTimeout(30, function() s:close() end):unref()
    local r = prun(2000, function() s:close() end)
    assert.is_true(r[1], tostring(r[2]))
    assert.is_false(r.expired)
    assert.is_true(closed, "run returned before the socket closed")
  end)

  it("a bound referenced socket keeps run going until it is closed", function()
    local s = H.bound("udp4")
    local closed, fired = false, false
    s:on("close", function() closed = true end)
    dgram.setTimeout(50, function()
      fired = true
      s:close()
    end)
    local r = prun(2000, function() s:close() end)
    assert.is_true(r[1], tostring(r[2]))
    assert.is_false(r.expired)
    assert.is_true(fired)
    assert.is_true(closed)
  end)

  it("an unreferenced socket still receives while the loop runs for other work", function()
    local server, port = H.bound("udp4")
    server:unref()
    local got
    server:on("message", function(m) got = m end)
    local client = send_all(port, { "to an unref'd socket" })
    client:unref()
    assert.is_true(run_until(function() return got ~= nil end, 2000))
    assert.equals("to an unref'd socket", got)
  end)

  it("a pending send on an unreferenced socket still gets its callback", function()
    local server, port = H.bound("udp4")
    server:unref()
    local client = H.socket("udp4")
    client:unref()
    local result
    client:send("x", port, "127.0.0.1", function(err, n) result = { err = err, n = n } end)
    local r = prun(2000, function() H.cleanup() end)
    assert.is_true(r[1], tostring(r[2]))
    assert.is_false(r.expired)
    assert.is_not_nil(result, "run returned before the send callback")
    assert.is_nil(result.err)
    assert.equals(1, result.n)
  end)
end)

describe("ref and unref", function()
  after_each(H.cleanup)

  it("return the socket", function()
    local s = H.socket("udp4")
    assert.equals(s, s:unref())
    assert.equals(s, s:ref())
  end)

  it("an unref'd bound socket lets dgram.run() return", function()
    local s = H.bound("udp4")
    assert.equals(s, s:unref())
    local t0 = os.clock()
    H.run(1000) -- fails if the loop keeps running for the socket
    assert.is_true(os.clock() - t0 < 0.5)
    -- still open and bound
    assert.is_true(s:address().port > 0)
  end)

  it("an unref'd socket unref'd before bind lets dgram.run() return", function()
    local s = H.socket("udp4")
    s:unref()
    s:bind(0, "127.0.0.1")
    H.run(1000)
    assert.is_true(s:address().port > 0)
  end)

  it("an unref'd socket still receives while something else runs the loop", function()
    local server, port = H.bound("udp4")
    server:unref()
    local client = H.socket("udp4")
    local got
    server:on("message", function(msg)
      got = msg
      server:close()
    end)
    client:send("while unref'd", port, "127.0.0.1", function() end)
    local t = dgram.setTimeout(50, function() client:close() end)
    H.run(2000)
    dgram.clearTimeout(t)
    assert.equals("while unref'd", got)
  end)

  it("ref() after unref() keeps dgram.run() going again", function()
    local s = H.bound("udp4")
    s:unref()
    s:ref()
    local fired = false
    local t = dgram.setTimeout(50, function()
      fired = true
      s:close()
    end)
    t:unref() -- only the socket can keep the loop alive until the timer fires
    H.run(2000)
    assert.is_true(fired)
  end)

  it("an unref'd socket's 'close' is still emitted when closed", function()
    local s = H.bound("udp4")
    s:unref()
    local count = 0
    s:on("close", function() count = count + 1 end)
    s:close()
    H.run(1000)
    assert.equals(1, count)
  end)
end)

describe("ref and unref (Node's test-dgram-* cases)", function()
  after_each(H.cleanup)

  it("test-dgram-ref: unbound sockets do not keep the loop alive; ref() after close",
    function()
      H.socket("udp4")
      H.socket("udp6")
      local s = H.socket("udp4")
      local refd
      s:close(function() refd = s:ref() end)
      H.run(1000)
      assert.equals(s, refd)
    end)

  it("test-dgram-unref: an unref'd bound socket lets run() return; unref() after close",
    function()
      local s = H.socket("udp4")
      s:bind()
      s:unref()
      local c = H.socket("udp4")
      local unrefd
      c:close(function() unrefd = c:unref() end)
      local fired = false
      local t = dgram.setTimeout(1000, function() fired = true end)
      t:unref()
      H.run(2000)
      assert.is_false(fired) -- run() returned before the unref'd 1 s timer
      dgram.clearTimeout(t) -- (it would still fire in a later spec's run)
      assert.equals(c, unrefd)
    end)
end)

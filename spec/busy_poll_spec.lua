-- dgram.setBusyPoll / dgram.getBusyPoll: polling after a turn that sent.
local H = require("helper")
local dgram, run_until, assert_idle = H.dgram, H.wait, H.assert_idle

local has_poll = dgram.features.busyPoll
local NO_POLL = "this build has no busy poll (dgram.features.busyPoll false: not Linux, " ..
  "or PORTABLE=1); 'a build without the busy poll never polls' checks that instead"

-- An echo server and a client that sends "q" again at each answer, `rounds` times; runs
-- until the last answer and returns how many came.
local function ping_pong(rounds)
  local server, port = H.bound("udp4")
  server:on("message", function(msg, rinfo) server:send(msg, rinfo.port, rinfo.address) end)
  local client = H.bound("udp4")
  local got = 0
  client:on("message", function()
    got = got + 1
    if got < rounds then client:send("q", port, "127.0.0.1") end
  end)
  client:send("q", port, "127.0.0.1")
  run_until(function() return got == rounds end, 5000)
  return got
end

describe("dgram.setBusyPoll / dgram.getBusyPoll", function()
  local saved

  before_each(function() saved = dgram.getBusyPoll() end)

  after_each(function()
    dgram.setBusyPoll(saved)
    H.cleanup()
  end)

  it("polls 50 microseconds after a turn that sent, by default; 0 turns it off", function()
    if not has_poll then return pending(NO_POLL) end
    assert.equals(50, saved)
    assert.equals("integer", math.type(dgram.getBusyPoll()))
    dgram.setBusyPoll(0)
    assert.equals(0, dgram.getBusyPoll())
    dgram.setBusyPoll(1000000)
    assert.equals(1000000, dgram.getBusyPoll())
    assert.equals(dgram.core.setBusyPoll, dgram.setBusyPoll)
  end)

  it("rejects what is not an integer number of microseconds in 0..1000000", function()
    dgram.setBusyPoll(70)
    for _, bad in ipairs({ "50", 1.5, true, {} }) do
      H.raises("ERR_INVALID_ARG_TYPE", dgram.setBusyPoll, bad)
    end
    H.raises("ERR_INVALID_ARG_TYPE", dgram.setBusyPoll)
    H.raises("ERR_OUT_OF_RANGE", dgram.setBusyPoll, -1)
    H.raises("ERR_OUT_OF_RANGE", dgram.setBusyPoll, 1000001)
    assert.equals(has_poll and 70 or 0, dgram.getBusyPoll())
  end)

  for _, us in ipairs({ 0, 50, 1000000 }) do
    it(("request/response exchanges complete with busy polling at %d us"):format(us), function()
      dgram.setBusyPoll(us)
      local server, port = H.bound("udp4")
      server:on("message", function(msg, rinfo)
        server:send("re:" .. msg, rinfo.port, rinfo.address)
      end)
      local client = H.bound("udp4")
      local got, n = {}, 20
      client:on("message", function(msg)
        got[#got + 1] = msg
        if #got < n then client:send("q" .. (#got + 1), port, "127.0.0.1") end
      end)
      client:send("q1", port, "127.0.0.1")
      run_until(function() return #got == n end, 5000)
      local want = {}
      for i = 1, n do want[i] = "re:q" .. i end
      assert.same(want, got)
    end)
  end

  it("polls after every answered send: each poll finds the answer", function()
    if not has_poll then return pending(NO_POLL) end
    dgram.setBusyPoll(1000000) -- so long that no answer can miss it
    local polls0, hits0, skipped0 = dgram.core._private.pollStats()
    local got = ping_pong(20)
    local polls, hits, skipped = dgram.core._private.pollStats()
    assert.equals(20, got)
    assert.is_true(polls - polls0 >= 20, "one poll per request at least")
    assert.equals(polls - polls0, hits - hits0)
    assert.equals(skipped0, skipped)
  end)

  it("backs off when nothing answers: a sender to a silent peer skips most polls", function()
    if not has_poll then return pending(NO_POLL) end
    dgram.setBusyPoll(200)
    local gone, port = H.bound("udp4") -- a port nobody reads: not a socket on this loop,
    gone:close()                       -- whose datagrams would wake the poll
    local client = H.bound("udp4")
    local ticks = 0
    local ticker
    ticker = dgram.setInterval(1, function()
      ticks = ticks + 1
      client:send("x", port, "127.0.0.1")
      if ticks == 60 then dgram.clearInterval(ticker) end
    end)
    local polls0, hits0, skipped0 = dgram.core._private.pollStats()
    run_until(function() return ticks == 60 end, 5000)
    local polls, hits, skipped = dgram.core._private.pollStats()
    assert.equals(60, ticks)
    assert.equals(hits0, hits) -- nothing ever came
    -- Each miss past the grace doubles the turns skipped: of the 60 turns that sent, the
    -- ones with a timer already due are not counted (many, on a slow machine or under
    -- valgrind), the others are mostly skipped.
    local polled, skips = polls - polls0, skipped - skipped0
    assert.is_true(polled >= 3 and polled <= 12, ("polls: %d"):format(polled))
    assert.is_true(skips > 2 * polled, ("skipped: %d, polls: %d"):format(skips, polled))
    client:close()
  end)

  it("a build without the busy poll never polls: getBusyPoll says 0 whatever was set",
    function()
      if has_poll then
        return pending("this build has the busy poll (dgram.features.busyPoll true): " ..
          "make test PORTABLE=1 runs this")
      end
      assert.equals(0, saved)
      dgram.setBusyPoll(1000000)
      assert.equals(0, dgram.getBusyPoll())
      assert.equals(20, ping_pong(20))
      assert.same({ 0, 0, 0 }, { dgram.core._private.pollStats() })
    end)

  it("a timer due while the loop polls still fires, and nowait still returns", function()
    dgram.setBusyPoll(1000000)
    local sink, port = H.bound("udp4") -- never answers
    local client = H.bound("udp4")
    local fired = false
    client:send("x", port, "127.0.0.1")
    dgram.setTimeout(5, function() fired = true end)
    run_until(function() return fired end, 5000)
    assert.is_true(fired)
    client:send("y", port, "127.0.0.1")
    assert.is_true(dgram.run("nowait")) -- the sockets are still bound
    sink:close()
    client:close()
    assert_idle()
  end)
end)

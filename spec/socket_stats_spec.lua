-- socket:stats(): the server's own view of its traffic: datagrams delivered and sent,
-- failed sends, and what the kernel and the coroutine queue dropped.
local H = require("helper")
local dgram = H.dgram

local kernel_drops = dgram.features.kernelDrops

describe("socket:stats()", function()
  after_each(H.cleanup)

  it("starts at zero, with integer counts", function()
    local s = H.socket("udp4")
    local st = s:stats()
    assert.same({ received = 0, sent = 0, sendErrors = 0, queueDrops = 0,
      kernelDrops = kernel_drops and 0 or nil }, st)
    assert.equals("integer", math.type(st.received))
  end)

  it("counts datagrams delivered, sent and failed", function()
    local rx, port = H.bound("udp4")
    local tx = H.bound("udp4")
    local got, done = 0, 0
    rx:on("message", function() got = got + 1 end)
    for i = 1, 10 do tx:send("m" .. i, port, "127.0.0.1", function() done = done + 1 end) end
    tx:send(string.rep("x", 70000), port, "127.0.0.1", function(err)
      assert.equals("EMSGSIZE", err.code)
      done = done + 1
    end)
    assert.is_true(H.run_until(2000, function() return got == 10 and done == 11 end))
    local t, r = tx:stats(), rx:stats()
    assert.equals(10, t.sent)
    assert.equals(1, t.sendErrors)
    assert.equals(0, t.received)
    assert.equals(10, r.received)
    assert.equals(0, r.sent)
  end)

  it("counts in kernelDrops the datagrams a full receive buffer lost", function()
    if not kernel_drops then
      return pending("this build has no kernelDrops (dgram.features.kernelDrops false: " ..
        "not Linux, or PORTABLE=1); the first test checks that it is nil")
    end
    local rx, port = H.bound("udp4", { recvBufferSize = 4096 })
    local tx = H.bound("udp4")
    local got = 0
    rx:on("message", function() got = got + 1 end)
    local n = 2000
    for _ = 1, n do tx:send("0123456789", port, "127.0.0.1") end -- left at once: not read yet
    local drops = rx:stats().kernelDrops
    assert.is_true(drops > 0, "a 4 KiB buffer held 2,000 datagrams")
    dgram.run("nowait")
    assert.equals(n, got + drops) -- every datagram was either delivered or counted
    assert.equals(got, rx:stats().received)
    assert.equals(drops, rx:stats().kernelDrops)
  end)

  it("counts in queueDrops what the coroutine queue dropped", function()
    local rx, port = H.bound("udp4", { recvQueueSize = 4 })
    local tx = H.bound("udp4")
    local got
    dgram.spawn(function() got = rx:recv(2000) end) -- starts the queue, takes the first
    dgram.run("nowait")
    for i = 1, 10 do tx:send("q" .. i, port, "127.0.0.1") end
    assert.is_true(H.run_until(2000, function() return rx:stats().received == 10 end))
    H.quiet(20)
    assert.equals("q1", got)
    assert.equals(5, rx:stats().queueDrops) -- q1 taken, q2..q5 queued, q6..q10 dropped
  end)

  it("raises ERR_SOCKET_DGRAM_NOT_RUNNING on a closed socket", function()
    local s = H.socket("udp4")
    s:close()
    H.raises("ERR_SOCKET_DGRAM_NOT_RUNNING", s.stats, s)
  end)
end)

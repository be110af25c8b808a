-- A host's frame broadcast: one snapshot to 1,000 destinations, sent from host code
-- between runs (plain, and inside dgram.batch) and from a callback inside dgram.run.
-- Prints the CPU microseconds per destination of each and the ratios.
-- Usage: lua5.4 bench/frame_broadcast.lua [frames] [destinations]
local dgram = require("dgram")

local FRAMES = tonumber(arg[1]) or 200
local DESTS = tonumber(arg[2]) or 1000
local RECEIVERS = 50

-- Receivers that drain what they get (they are read by the runs between frames).
local ports, receivers = {}, {}
for i = 1, RECEIVERS do
  local r = dgram.createSocket({ type = "udp4", recvBufferSize = 4 * 1024 * 1024 })
  r:on("message", function() end)
  r:bind(0, "127.0.0.1")
  receivers[i] = r
end
dgram.run("nowait")
for i = 1, RECEIVERS do ports[i] = receivers[i]:address().port end

local tx = dgram.createSocket("udp4")
tx:bind(0, "127.0.0.1")
dgram.run("nowait")

local snapshot = string.rep("s", 120)
local function broadcast()
  for d = 1, DESTS do tx:send(snapshot, ports[d % RECEIVERS + 1], "127.0.0.1") end
end

-- CPU seconds spent by `frame` over FRAMES frames, the receivers drained between them.
local function measure(frame)
  local cpu = 0
  for _ = 1, FRAMES do
    local t0 = os.clock()
    frame()
    cpu = cpu + os.clock() - t0
    dgram.run("nowait")
  end
  return cpu * 1e6 / (FRAMES * DESTS)
end

local results = {
  plain = measure(broadcast),
  batch = measure(function() dgram.batch(broadcast) end),
  callback = measure(function()
    dgram.core.nextTick(broadcast)
    dgram.run("nowait") -- the sends leave at the end of the callback's turn
  end),
}
for _, r in ipairs(receivers) do r:close() end
tx:close()
dgram.run()
print(("frame broadcast to %d destinations, %d frames: us per destination"):format(DESTS, FRAMES))
print(("  from host code, one by one : %6.2f"):format(results.plain))
print(("  from host code, dgram.batch: %6.2f"):format(results.batch))
print(("  from a callback in run     : %6.2f"):format(results.callback))
print(("RESULT plain_us=%.2f batch_us=%.2f callback_us=%.2f batch_over_callback=%.2f"):format(
  results.plain, results.batch, results.callback, results.batch / results.callback))

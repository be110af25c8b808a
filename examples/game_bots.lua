-- Load for examples/game_server.lua: N bots in this one process, one socket each, sending
-- inputs at inputHz with staggered phases and measuring the snapshots they get back.
--   lua5.4 examples/game_bots.lua port bots inputHz seconds [silentAfter]
-- silentAfter (seconds): bot 1 stops sending then (and the server should drop it).
-- Prints at the end one line:
--   RESULT bots= inputs_sent= snapshots= min_rate= avg_rate= p50_ms= p99_ms= max_ms= ...
-- rate: a bot's snapshots per second from its first snapshot to the end of sending.
-- latency: from sending an input to the first snapshot that echoes it (includes the wait
-- for the server's next tick).
local dgram = require("dgram")

local port = assert(tonumber(arg[1]), "usage: game_bots.lua port bots inputHz seconds")
local nbots = tonumber(arg[2]) or 50
local input_hz = tonumber(arg[3]) or 30
local seconds = tonumber(arg[4]) or 3
local silent_after = tonumber(arg[5])
local HOST = "127.0.0.1"
local DRAIN_MS = 300

local INPUT_FORMAT, SNAPSHOT_FORMAT = "<BI4dbb", "<BI4I4dii"
-- string.pack is Lua 5.3's: on Lua 5.1 and LuaJIT lua-compat53 gives it
local strings = string.pack and string or require("compat53.string")
local unpack, pack, now = strings.unpack, strings.pack, dgram.now

-- Latency histogram: 0.02 ms buckets below 100 ms, then 1 ms buckets (cheap per sample).
local hist, FINE, FINE_MS = {}, 5000, 100
local function record(ms)
  local b = ms < FINE_MS and math.floor(ms * 50) or FINE + math.floor(ms - FINE_MS)
  hist[b] = (hist[b] or 0) + 1
end
local function bucket_ms(b) -- the bucket's upper edge
  return b < FINE and (b + 1) / 50 or FINE_MS + (b - FINE) + 1
end

-- Per bot, as arrays (struct of arrays: no table per bot on the hot path).
local sockets, seq, snaps, first_at, last_at, echoed = {}, {}, {}, {}, {}, {}
local bot1_last_input = 0
local sending_until = math.huge
local input_ticks_missed = 0
local samples = 0

local function on_snapshot_of(i)
  return function(msg)
    if #msg ~= 25 then return end -- not a snapshot (a stray datagram to this port)
    local t = now()
    local kind, _, echo_seq, echo_ts = unpack(SNAPSHOT_FORMAT, msg)
    if kind ~= 2 then return end
    last_at[i] = t
    if t <= sending_until then
      if snaps[i] == 0 then first_at[i] = t end
      snaps[i] = snaps[i] + 1
    end
    if echo_seq > echoed[i] then -- the first snapshot that reflects this input
      echoed[i] = echo_seq
      record(t - echo_ts)
      samples = samples + 1
    end
  end
end

for i = 1, nbots do
  local s = dgram.createSocket("udp4")
  s:on("message", on_snapshot_of(i))
  s:on("error", function(err) io.stderr:write("bot ", i, ": ", tostring(err), "\n") end)
  s:bind(0, HOST)
  sockets[i], seq[i], snaps[i], echoed[i] = s, 0, 0, 0
end

-- One fixed-rate ticker in SLOTS phases: each tick sends for every SLOTS-th bot, so the
-- bots' inputs are spread over the input period instead of leaving in one burst.
local SLOTS = 8
local slot, sent = 0, 0
local silent_from = silent_after and now() + silent_after * 1000 or math.huge
local ticker = dgram.setFixedInterval(1000 / (input_hz * SLOTS), function()
  slot = slot % SLOTS + 1
  local t = now()
  for i = slot, nbots, SLOTS do
    if i ~= 1 or t < silent_from then
      local n = seq[i] + 1
      seq[i] = n
      if i == 1 then bot1_last_input = t end
      sockets[i]:send(pack(INPUT_FORMAT, 1, n, t, (n % 3) - 1, (i % 3) - 1), port, HOST)
      sent = sent + 1
    end
  end
end)

local function percentile(p)
  local want, seen, buckets = samples * p, 0, {}
  for b in pairs(hist) do buckets[#buckets + 1] = b end
  table.sort(buckets)
  for _, b in ipairs(buckets) do
    seen = seen + hist[b]
    if seen >= want then return bucket_ms(b) end
  end
  return 0
end

local function report()
  local min_rate, sum_rate, total, starved, drops = math.huge, 0, 0, 0, 0
  for i = 1, nbots do
    total = total + snaps[i]
    local rate = 0
    if snaps[i] > 1 then rate = (snaps[i] - 1) * 1000 / (sending_until - first_at[i]) end
    if snaps[i] == 0 then starved = starved + 1 end
    if i ~= 1 or not silent_after then
      min_rate = math.min(min_rate, rate)
      sum_rate = sum_rate + rate
    end
    drops = drops + (sockets[i]:stats().kernelDrops or 0)
  end
  local counted = silent_after and nbots - 1 or nbots
  local bot1_after = (last_at[1] or 0) - bot1_last_input
  print(("RESULT bots=%d inputs_sent=%d snapshots=%d min_rate=%.1f avg_rate=%.1f " ..
    "p50_ms=%.2f p99_ms=%.2f max_ms=%.2f samples=%d starved=%d bot1_snapshots=%d " ..
    "bot1_after_ms=%.0f snapshotDrops=%d input_ticks_missed=%d cpu=%.3f"):format(
    nbots, sent, total, counted > 0 and min_rate or 0, counted > 0 and sum_rate / counted or 0,
    percentile(0.5), percentile(0.99), percentile(1), samples, starved, snaps[1], bot1_after,
    drops, input_ticks_missed, os.clock()))
  io.stdout:flush()
end

dgram.setTimeout(seconds * 1000, function()
  input_ticks_missed = ticker:missed()
  dgram.clearInterval(ticker)
  sending_until = now()
  dgram.setTimeout(DRAIN_MS, function()
    report()
    for i = 1, nbots do sockets[i]:close() end
  end)
end)

dgram.run()

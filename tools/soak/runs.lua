-- The soak runs (tools/soak.lua for `make soak`, spec/soak_spec.lua for the short CI
-- version): a pipelined echo with the resident set sampled, a flood against a slow
-- message handler and a flood against a coroutine receive queue nobody reads, each with
-- its memory peak. Loopback only (127.0.0.1).
local M = {}

local PAGE = 4096 -- /proc/self/statm counts pages; x86-64 and arm64 Linux use 4 KiB

-- The resident set of this process, in bytes.
function M.rss()
  local f = io.open("/proc/self/statm")
  if not f then return 0 end
  local _, resident = f:read("*n", "*n")
  f:close()
  return (resident or 0) * PAGE
end

-- The Lua heap after a full collection, in bytes.
function M.heap()
  collectgarbage("collect")
  return math.floor(collectgarbage("count") * 1024)
end

local function mb(bytes)
  return ("%.1f MB"):format(bytes / 1048576)
end
M.mb = mb

local U = require("looputil")
local bound, run_until = U.bound, U.run_until

-- echo(dgram, { count=, window=, size=, seconds=, warmup= }): a client keeps `window`
-- datagrams in flight to an echo server until `count` came back (datagrams declared lost
-- after a 200 ms stall are counted and replaced). The resident set is sampled 100 times;
-- growth is measured from the end of the warm-up (the first `warmup` fraction).
function M.echo(dgram, o)
  local count, window = o.count, o.window or 64
  local payload = ("e"):rep(o.size or 64)
  local server, port = bound(dgram)
  server:on("message", function(msg, rinfo) server:send(msg, rinfo.port, rinfo.address) end)
  local client = bound(dgram)
  local connected = false
  client:connect(port, "127.0.0.1", function() connected = true end)
  run_until(dgram, 5, function() return connected end)
  local r = { count = count, echoed = 0, lost = 0, samples = 0 }
  local sent, every = 0, math.max(1000, math.floor(count / 100))
  local warm_at = math.max(every, math.floor(count * (o.warmup or 0.1)))
  local function send_one()
    sent = sent + 1
    client:send(payload)
  end
  client:on("message", function()
    local got = r.echoed + 1
    r.echoed = got
    if sent < count then send_one() end
    if got % every == 0 then
      local rss = M.rss()
      r.samples = r.samples + 1
      if got == warm_at or (got > warm_at and not r.rss_warm) then
        r.rss_warm, r.heap_warm, r.rss_peak = rss, M.heap(), rss
      elseif r.rss_warm and rss > r.rss_peak then
        r.rss_peak = rss
      end
    end
  end)
  local last = -1
  local stall = dgram.setInterval(200, function()
    if r.echoed == last and sent - r.echoed - r.lost > 0 then
      r.lost = sent - r.echoed -- everything in flight is gone: refill the window
      for _ = 1, math.min(window, count - sent) do send_one() end
    end
    last = r.echoed
  end)
  local t0 = dgram.now()
  r.rss_start = M.rss()
  for _ = 1, math.min(window, count) do send_one() end
  r.finished = run_until(dgram, o.seconds or 600, function()
    return r.echoed + r.lost >= count
  end)
  r.seconds = (dgram.now() - t0) / 1000
  r.rss_end, r.heap_end = M.rss(), M.heap()
  r.rss_warm = r.rss_warm or r.rss_start
  r.heap_warm = r.heap_warm or r.heap_end
  r.rss_peak = math.max(r.rss_peak or 0, r.rss_end)
  r.growth = r.rss_end - r.rss_warm
  r.heap_growth = r.heap_end - r.heap_warm
  dgram.clearInterval(stall)
  client:close()
  server:close()
  dgram.run("nowait")
  return r
end

function M.echo_line(r)
  return ("echo: %d of %d datagrams echoed (%d declared lost) in %.1f s (%.0f/s); RSS %s at " ..
    "warm-up, %s at the end (growth %s, peak %s); Lua heap growth %s"):format(r.echoed,
    r.count, r.lost, r.seconds, r.echoed / math.max(r.seconds, 0.001), mb(r.rss_warm),
    mb(r.rss_end), mb(r.growth), mb(r.rss_peak), mb(r.heap_growth))
end

-- Sends `count` datagrams of `size` bytes from a fresh socket to `port`, `burst` per loop
-- turn, sampling the resident set after each burst; returns the peak and the seconds.
local function flood(dgram, port, o)
  local client = bound(dgram)
  local payload = ("f"):rep(o.size)
  -- about 150 KB a turn: what a default receive buffer (208 KB) takes between two reads
  local sent, peak = 0, M.rss()
  local burst = o.burst or math.max(1, math.min(200, math.floor(150000 / o.size)))
  local t0 = dgram.now()
  local function turn()
    for _ = 1, math.min(burst, o.count - sent) do
      client:send(payload, port, "127.0.0.1")
      sent = sent + 1
    end
    local rss = M.rss()
    if rss > peak then peak = rss end
    if sent < o.count then dgram.setTimeout(0, turn) end
  end
  turn()
  run_until(dgram, o.seconds or 600, function()
    return sent >= o.count and client:getSendQueueCount() == 0
  end)
  local seconds = (dgram.now() - t0) / 1000
  client:close()
  return sent, peak, seconds
end

-- slow(dgram, { count=, size=, spin= }): a flood against a handler that burns `spin`
-- iterations per datagram: the kernel drops what the socket cannot take; memory stays
-- bounded.
function M.slow(dgram, o)
  local server, port = bound(dgram)
  local received, sink = 0, 0
  server:on("message", function(msg)
    received = received + 1
    for i = 1, o.spin or 2000 do sink = sink + i end
    sink = sink + #msg
  end)
  local before = M.rss()
  local sent, peak, seconds = flood(dgram, port, o)
  local function accounted() -- every datagram delivered or counted as dropped
    local st = server:stats()
    return st.received + (st.kernelDrops or 0) >= sent
  end
  run_until(dgram, 2, accounted)
  local stats = server:stats()
  server:close()
  dgram.run("nowait")
  return { sent = sent, received = received, kernel_drops = stats.kernelDrops,
           rss_before = before, rss_peak = peak, growth = peak - before, seconds = seconds,
           size = o.size }
end

-- queue(dgram, { count=, size=, queue= }): a flood against a socket whose coroutine
-- called recv once and then sleeps: the coroutine queue holds `queue` datagrams at most,
-- the rest is dropped and counted (stats().queueDrops).
function M.queue(dgram, o)
  local server, port = bound(dgram, { recvQueueSize = o.queue })
  local drained, asleep, done, finished = 0, false, false, false
  dgram.spawn(function()
    server:recv(1) -- creates the queue; times out
    asleep = true
    while not done do dgram.sleep(5) end
    while server:recv(0) do drained = drained + 1 end
    finished = true
  end)
  run_until(dgram, 2, function() return asleep end)
  local before = M.rss()
  local sent, peak, seconds = flood(dgram, port, o)
  run_until(dgram, 2, function()
    local st = server:stats()
    return st.received + (st.kernelDrops or 0) >= sent
  end)
  local stats = server:stats()
  done = true
  run_until(dgram, 2, function() return finished end)
  server:close()
  dgram.run("nowait")
  return { sent = sent, queue_drops = stats.queueDrops, kernel_drops = stats.kernelDrops,
           received = stats.received, drained = drained, rss_before = before,
           rss_peak = peak, growth = peak - before, seconds = seconds, size = o.size }
end

function M.flood_line(name, r)
  return ("%s: %d datagrams of %d bytes sent in %.1f s, %d delivered%s, kernel drops %s; " ..
    "RSS %s before, peak %s (+%s)"):format(name, r.sent, r.size, r.seconds, r.received,
    r.queue_drops and (", queue drops %d, drained %d"):format(r.queue_drops, r.drained) or "",
    tostring(r.kernel_drops), mb(r.rss_before), mb(r.rss_peak), mb(r.growth))
end

return M

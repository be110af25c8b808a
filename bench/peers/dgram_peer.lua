-- The benchmark peer for this module: `dgram` (the wrapper), or with --core the C core
-- `dgram.core` on its own (to measure what the wrapper costs).
-- With --blocklist-100k, the recv socket has a receiveBlockList of 100,000 rules that do
-- not cover the flooder (what a datagram costs with a long list).
-- Usage: lua5.4 bench/peers/dgram_peer.lua MODE ARGS... [--core] [--blocklist-100k]
--   recv                              receive until the flood is over (prints port= first)
--   send PORT N SIZE cb|nocb          N datagrams to a sink
--   echo-server                       echo until a 4-byte datagram (prints port= first)
--   echo-client PORT INFLIGHT SECS SIZE
--   sockets N                         N bound sockets with a 'message' handler and a bind callback
--   cg-recv K FLOOD SIZE              4 x K/4 datagrams queued by FLOOD, then read (callgrind)
local lib = require("benchlib")
local pos, flags = lib.args(arg)
local mode = pos[1]

local api = {}
local loop
if flags.core then
  local core = require("dgram.core") -- not "dgram": the wrapper would change bind/close
  loop = core
  function api.create(opts) return core.createSocket(opts or "udp4") end
  function api.on(s, fn) core.setHandler(s, "message", fn) end
  function api.bind(s, port, cb)
    if cb then core.setHandler(s, "listening", cb) end
    s:bind(port, "127.0.0.1")
  end
else
  local dgram = require("dgram")
  loop = dgram
  function api.create(opts) return dgram.createSocket(opts or "udp4") end
  function api.on(s, fn) s:on("message", fn) end
  function api.bind(s, port, cb) s:bind(port, "127.0.0.1", cb) end
end
if flags["busy-poll-0"] then loop.setBusyPoll(0) end
local run, setInterval, clearInterval = loop.run, loop.setInterval, loop.clearInterval
local setTimeout, clearTimeout = loop.setTimeout, loop.clearTimeout
local now, out = lib.now, lib.out

local modes = {}

-- 100,000 rules none of which covers 127.0.0.1 and no two of which merge: 50,000 IPv4
-- addresses (every other one from 10.0.0.0) and 50,000 IPv6 /64 prefixes, interleaved.
local function blocklist_100k()
  local t = {}
  for i = 0, 49999 do
    local v = 2 * i
    t[#t + 1] = ("10.%d.%d.%d"):format(v >> 16 & 255, v >> 8 & 255, v & 255)
    t[#t + 1] = ("2001:db8:%x:%x::/64"):format(i >> 8, (i & 255) * 2)
  end
  return t
end

function modes.recv()
  local s = api.create(flags["blocklist-100k"] and
    { type = "udp4", receiveBlockList = blocklist_100k() } or nil)
  local count, bytes = 0, 0
  api.on(s, function(msg) count = count + 1; bytes = bytes + #msg end)
  local m = lib.meter()
  local ticker
  ticker = setInterval(lib.TICK_MS, function()
    if m.tick(count) then
      clearInterval(ticker)
      s:close()
      m.report(count, bytes)
    end
  end)
  api.bind(s, 0, function() out({ port = s:address().port }) end)
  run()
end

function modes.send(port, n, size, how)
  port, n, size = tonumber(port), tonumber(n), tonumber(size)
  local s = api.create()
  local payload = ("x"):rep(size)
  api.bind(s, 0, function()
    local t0, u0, s0 = now(), lib.cpu()
    local function finish(errors)
      local u1, s1 = lib.cpu()
      out({ sent = n, secs = now() - t0, errors = errors, user = u1 - u0, sys = s1 - s0 })
      s:close()
    end
    if n == 0 then return finish(0) end
    if how == "cb" then
      local done, errors = 0, 0
      local function cb(err)
        if err then errors = errors + 1 end
        done = done + 1
        if done == n then finish(errors) end
      end
      for _ = 1, n do s:send(payload, port, "127.0.0.1", cb) end
    else
      for _ = 1, n do s:send(payload, port, "127.0.0.1") end
      local function drained()
        if s:getSendQueueCount() == 0 then return finish(0) end
        setTimeout(0, drained)
      end
      drained()
    end
  end)
  run()
end

function modes.echo_server()
  local s = api.create()
  local deadline
  api.on(s, function(msg, rinfo)
    if #msg == 4 then
      clearTimeout(deadline)
      return s:close()
    end
    s:send(msg, rinfo.port, rinfo.address)
  end)
  deadline = setTimeout(60000, function() s:close() end)
  api.bind(s, 0, function() out({ port = s:address().port }) end)
  run()
end

function modes.echo_client(port, inflight, secs, size)
  port, inflight, secs, size = tonumber(port), tonumber(inflight), tonumber(secs), tonumber(size)
  local s = api.create()
  local payload = ("x"):rep(size)
  local count, lat, sent_at, t0, done = 0, {}, 0, 0, false
  api.on(s, function()
    if done then return end
    count = count + 1
    if inflight == 1 then
      local t = now()
      lat[count] = t - sent_at
      sent_at = t
    end
    s:send(payload, port, "127.0.0.1")
  end)
  local ticker, last, still, u0, s0
  local function finish(stalled)
    done = true
    local secs_run = now() - t0
    local u1, s1 = lib.cpu()
    clearInterval(ticker)
    out({ count = count, secs = secs_run, stalled = stalled, user = u1 - u0, sys = s1 - s0,
      p50_us = lib.percentile(lat, 50) * 1e6, p99_us = lib.percentile(lat, 99) * 1e6 })
    local quits = 0
    for _ = 1, 3 do
      s:send("quit", port, "127.0.0.1", function()
        quits = quits + 1
        if quits == 3 then s:close() end
      end)
    end
  end
  api.bind(s, 0, function()
    t0, last, still = now(), 0, 0
    u0, s0 = lib.cpu()
    sent_at = t0
    for _ = 1, inflight do s:send(payload, port, "127.0.0.1") end
    ticker = setInterval(lib.TICK_MS, function()
      if now() - t0 >= secs then return finish(0) end
      if count == last then
        still = still + 1
        if still >= 10 then finish(1) end
      else
        last, still = count, 0
      end
    end)
  end)
  run()
end

function modes.sockets(n)
  n = tonumber(n)
  local function handler() end
  collectgarbage()
  collectgarbage()
  local r0 = lib.rss()
  local t0 = now()
  local socks = {}
  local listening = 0
  for i = 1, n do
    local s = api.create()
    api.on(s, handler)
    api.bind(s, 0, function() listening = listening + 1 end) -- a bind callback, as Node's
    socks[i] = s
  end
  while listening < n do run("once") end -- the 'listening' events
  local t1 = now()
  collectgarbage()
  collectgarbage()
  local r1 = lib.rss()
  local t2 = now()
  for i = 1, n do socks[i]:close() end
  run()
  local t3 = now()
  out({ n = n, rss_before = r0, rss_after = r1, per_socket = (r1 - r0) / n,
    create_s = t1 - t0, close_s = t3 - t2 })
end

-- For callgrind: K datagrams are queued by the flooder before the loop runs, so every
-- read is a full batch and the count of instructions does not depend on timing.
function modes.cg_recv(k, flood, size)
  k = tonumber(k)
  local s = api.create({ type = "udp4", recvBufferSize = 4 * 1024 * 1024 })
  local count, bytes = 0, 0
  api.on(s, function(msg) count = count + 1; bytes = bytes + #msg end)
  api.bind(s, 0)
  local cmd = ("%s %d %d 10 %d >/dev/null"):format(flood, s:address().port, tonumber(size),
    k // 4)
  for _ = 1, 4 do -- four rounds of k/4: what fits in the receive buffer
    os.execute(cmd)
    local idle = 0 -- the first turn may read nothing yet
    repeat
      local before = count
      run("nowait")
      idle = count == before and idle + 1 or 0
    until idle >= 3
  end
  s:close()
  run()
  out({ count = count, bytes = bytes })
end

local fn = modes[(mode or ""):gsub("%-", "_")]
if not fn then
  io.stderr:write("usage: dgram_peer.lua recv|send|echo-server|echo-client|sockets|cg-recv ...\n")
  os.exit(2)
end
fn(table.unpack(pos, 2))

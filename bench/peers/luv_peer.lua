-- The benchmark peer for luv (Debian's lua-luv): libuv's own Lua binding, used the way
-- its manual shows. With --mmsg the receiver asks libuv for recvmmsg (20 per call), as
-- dgram does; without it, luv's default (one recvmsg per datagram).
-- Usage: lua5.4 bench/peers/luv_peer.lua MODE ARGS... (the modes of bench/peers/dgram_peer.lua)
local uv = require("luv")
local lib = require("benchlib")
local pos, flags = lib.args(arg)
local mode = pos[1]
local now, out = lib.now, lib.out

local function new_udp()
  if flags.mmsg then return uv.new_udp({ family = "inet", mmsgs = 20 }) end
  return uv.new_udp()
end

local function interval(ms, fn)
  local t = uv.new_timer()
  t:start(ms, ms, fn)
  return t
end

local function bind(s)
  assert(s:bind("127.0.0.1", 0))
  return s:getsockname().port
end

local modes = {}

function modes.recv()
  local s = new_udp()
  local count, bytes = 0, 0
  local port = bind(s)
  s:recv_start(function(_, data)
    if data then count = count + 1; bytes = bytes + #data end
  end)
  local m = lib.meter()
  local ticker
  ticker = interval(lib.TICK_MS, function()
    if m.tick(count) then
      ticker:close()
      s:close()
      m.report(count, bytes)
    end
  end)
  out({ port = port })
  uv.run()
end

function modes.send(port, n, size, how)
  port, n, size = tonumber(port), tonumber(n), tonumber(size)
  local s = new_udp()
  bind(s)
  local payload = ("x"):rep(size)
  local t0, u0, s0 = now(), lib.cpu()
  local function finish(errors)
    local u1, s1 = lib.cpu()
    out({ sent = n, secs = now() - t0, errors = errors, user = u1 - u0, sys = s1 - s0 })
    s:close()
  end
  if n == 0 then
    finish(0)
  elseif how == "cb" then
    local done, errors = 0, 0
    local function cb(err)
      if err then errors = errors + 1 end
      done = done + 1
      if done == n then finish(errors) end
    end
    for _ = 1, n do s:send(payload, "127.0.0.1", port, cb) end
  else
    for _ = 1, n do s:send(payload, "127.0.0.1", port) end
    local idle = uv.new_idle()
    idle:start(function()
      if s:get_send_queue_count() == 0 then
        idle:close()
        finish(0)
      end
    end)
  end
  uv.run()
end

function modes.echo_server()
  local s = new_udp()
  local port = bind(s)
  local deadline = uv.new_timer()
  s:recv_start(function(_, data, addr)
    if not data then return end
    if #data == 4 then
      deadline:close()
      s:close()
      return
    end
    s:send(data, addr.ip, addr.port)
  end)
  deadline:start(60000, 0, function() deadline:close(); s:close() end)
  out({ port = port })
  uv.run()
end

function modes.echo_client(port, inflight, secs, size)
  port, inflight, secs, size = tonumber(port), tonumber(inflight), tonumber(secs), tonumber(size)
  local s = new_udp()
  bind(s)
  local payload = ("x"):rep(size)
  local count, lat, done = 0, {}, false
  local t0 = now()
  local u0, s0 = lib.cpu()
  local sent_at = t0
  s:recv_start(function(_, data)
    if done or not data then return end
    count = count + 1
    if inflight == 1 then
      local t = now()
      lat[count] = t - sent_at
      sent_at = t
    end
    s:send(payload, "127.0.0.1", port)
  end)
  local ticker, last, still = nil, 0, 0
  local function finish(stalled)
    done = true
    local secs_run = now() - t0
    local u1, s1 = lib.cpu()
    ticker:close()
    out({ count = count, secs = secs_run, stalled = stalled, user = u1 - u0, sys = s1 - s0,
      p50_us = lib.percentile(lat, 50) * 1e6, p99_us = lib.percentile(lat, 99) * 1e6 })
    local quits = 0
    for _ = 1, 3 do
      s:send("quit", "127.0.0.1", port, function()
        quits = quits + 1
        if quits == 3 then s:close() end
      end)
    end
  end
  for _ = 1, inflight do s:send(payload, "127.0.0.1", port) end
  ticker = interval(lib.TICK_MS, function()
    if now() - t0 >= secs then return finish(0) end
    if count == last then
      still = still + 1
      if still >= 10 then finish(1) end
    else
      last, still = count, 0
    end
  end)
  uv.run()
end

function modes.sockets(n)
  n = tonumber(n)
  local function handler() end
  collectgarbage()
  collectgarbage()
  local r0 = lib.rss()
  local t0 = now()
  local socks = {}
  for i = 1, n do
    local s = new_udp()
    bind(s)
    s:recv_start(handler)
    socks[i] = s
  end
  uv.run("nowait")
  local t1 = now()
  collectgarbage()
  collectgarbage()
  local r1 = lib.rss()
  local t2 = now()
  for i = 1, n do socks[i]:close() end
  uv.run()
  local t3 = now()
  out({ n = n, rss_before = r0, rss_after = r1, per_socket = (r1 - r0) / n,
    create_s = t1 - t0, close_s = t3 - t2 })
end

function modes.cg_recv(k, flood, size)
  k = tonumber(k)
  local s = new_udp()
  local port = bind(s)
  s:recv_buffer_size(4 * 1024 * 1024)
  local count, bytes = 0, 0
  s:recv_start(function(_, data)
    if data then count = count + 1; bytes = bytes + #data end
  end)
  local cmd = ("%s %d %d 10 %d >/dev/null"):format(flood, port, tonumber(size), k // 4)
  for _ = 1, 4 do
    os.execute(cmd)
    local idle = 0
    repeat
      local before = count
      uv.run("nowait")
      idle = count == before and idle + 1 or 0
    until idle >= 3
  end
  s:close()
  uv.run()
  out({ count = count, bytes = bytes })
end

local fn = modes[(mode or ""):gsub("%-", "_")]
if not fn then
  io.stderr:write("usage: luv_peer.lua recv|send|echo-server|echo-client|sockets|cg-recv ...\n")
  os.exit(2)
end
fn(table.unpack(pos, 2))

-- The benchmark peer for LuaSocket (Debian's lua-socket): blocking calls with timeouts,
-- no event loop, the way a LuaSocket script is written. It has no send callbacks.
-- Usage: lua5.4 bench/peers/socket_peer.lua MODE ARGS... (the modes of dgram_peer.lua)
local socket = require("socket")
local lib = require("benchlib")
local pos = lib.args(arg)
local mode = pos[1]
local now, out = lib.now, lib.out

local function bound()
  local s = assert(socket.udp())
  assert(s:setsockname("127.0.0.1", 0))
  local _, port = s:getsockname()
  return s, tonumber(port)
end

local modes = {}

function modes.recv()
  local s, port = bound()
  s:settimeout(lib.TICK_MS / 1000)
  local count, bytes = 0, 0
  local m = lib.meter()
  out({ port = port })
  while true do
    local data = s:receive()
    if data then
      count = count + 1
      bytes = bytes + #data
      if count & 63 == 0 and m.poll(count) then break end
    elseif m.poll(count) then
      break
    end
  end
  s:close()
  m.report(count, bytes)
end

function modes.send(port, n, size)
  port, n, size = tonumber(port), tonumber(n), tonumber(size)
  local s = bound()
  local payload = ("x"):rep(size)
  local errors = 0
  local t0, u0, s0 = now(), lib.cpu()
  for _ = 1, n do
    if not s:sendto(payload, "127.0.0.1", port) then errors = errors + 1 end
  end
  local u1, s1 = lib.cpu()
  out({ sent = n, secs = now() - t0, errors = errors, user = u1 - u0, sys = s1 - s0 })
  s:close()
end

function modes.echo_server()
  local s, port = bound()
  s:settimeout(1)
  out({ port = port })
  local t0 = now()
  while now() - t0 < 60 do
    local data, ip, rport = s:receivefrom()
    if data then
      if #data == 4 then break end
      s:sendto(data, ip, rport)
    end
  end
  s:close()
end

function modes.echo_client(port, inflight, secs, size)
  port, inflight, secs, size = tonumber(port), tonumber(inflight), tonumber(secs), tonumber(size)
  local s = bound()
  s:settimeout(0.2) -- a stall: nothing for 200 ms
  local payload = ("x"):rep(size)
  local count, lat, stalled = 0, {}, 0
  local t0 = now()
  local u0, s0 = lib.cpu()
  local sent_at, t = t0, t0
  for _ = 1, inflight do s:sendto(payload, "127.0.0.1", port) end
  while t - t0 < secs do
    local data = s:receive()
    t = now()
    if not data then
      stalled = 1
      break
    end
    count = count + 1
    if inflight == 1 then
      lat[count] = t - sent_at
      sent_at = t
    end
    s:sendto(payload, "127.0.0.1", port)
  end
  local u1, s1 = lib.cpu()
  out({ count = count, secs = t - t0, stalled = stalled, user = u1 - u0, sys = s1 - s0,
    p50_us = lib.percentile(lat, 50) * 1e6, p99_us = lib.percentile(lat, 99) * 1e6 })
  for _ = 1, 3 do s:sendto("quit", "127.0.0.1", port) end
  s:close()
end

function modes.sockets(n)
  n = tonumber(n)
  collectgarbage()
  collectgarbage()
  local r0 = lib.rss()
  local t0 = now()
  local socks = {}
  for i = 1, n do socks[i] = bound() end
  local t1 = now()
  collectgarbage()
  collectgarbage()
  local r1 = lib.rss()
  local t2 = now()
  for i = 1, n do socks[i]:close() end
  local t3 = now()
  out({ n = n, rss_before = r0, rss_after = r1, per_socket = (r1 - r0) / n,
    create_s = t1 - t0, close_s = t3 - t2 })
end

local fn = modes[(mode or ""):gsub("%-", "_")]
if not fn then
  io.stderr:write("usage: socket_peer.lua recv|send|echo-server|echo-client|sockets ...\n")
  os.exit(2)
end
fn(table.unpack(pos, 2))

-- The workloads: each runs one peer through bench/pair.sh (or alone) and returns its
-- figures; `record` keeps every run's figures in `results` (and `raw`, for the raw file).
local setup = require("bench.setup")
local cfg, sh, FLOOD, SINK = setup.cfg, setup.sh, setup.FLOOD, setup.SINK

-- "server.a=1 b=2" lines -> { server = {a=1, b=2}, client = {...}, error = "..." }
local function parse(text)
  local r = {}
  for line in text:gmatch("[^\n]+") do
    local err = line:match("^error=(.*)$")
    if err then
      r.error = (r.error and r.error .. "; " or "") .. err
    else
      local side, rest = line:match("^(%a+)%.(.*)$")
      if not side then side, rest = "out", line end
      r[side] = r[side] or {}
      for k, v in rest:gmatch("([%w_]+)=(%S+)") do r[side][k] = tonumber(v) or v end
    end
  end
  return r
end

local function pair(limit, score, server, ccore, client)
  local q = function(s) return "'" .. s:gsub("'", "'\\''") .. "'" end
  return parse(sh(("sh bench/pair.sh %d %d %s %d %s"):format(math.ceil(limit), score,
    q(server), ccore, q(client))))
end

local raw = {} -- every run's figures, for bench/results/raw.txt
local results = {} -- results[workload][peer] = { runs = {...}, error = ... }

local function record(wl, peer, figures, err)
  results[wl] = results[wl] or {}
  local slot = results[wl][peer] or { runs = {} }
  results[wl][peer] = slot
  if figures then
    slot.runs[#slot.runs + 1] = figures
    local parts = {}
    for k, v in pairs(figures) do parts[#parts + 1] = k .. "=" .. tostring(v) end
    table.sort(parts)
    raw[#raw + 1] = wl .. " " .. peer .. " " .. table.concat(parts, " ")
  else
    slot.error = err
    raw[#raw + 1] = wl .. " " .. peer .. " error=" .. tostring(err)
  end
end

local function run_recv(p, size, rate)
  local r = pair(cfg.flood_secs + 40, 0, p.cmd .. " recv", 1,
    ("%s {PORT} %d %g -1 %d"):format(FLOOD, size, cfg.flood_secs, rate or 0))
  local s, c = r.server, r.client
  if r.error or not (s and c and s.win_count and c.sent) or s.win_count <= 0 then
    return nil, r.error or "no datagram measured"
  end
  local cpu = s.win_user + s.win_sys
  return {
    rate = s.win_count / s.win_wall,
    cpu_us = cpu / s.win_count * 1e6,
    sys_pct = cpu > 0 and s.win_sys / cpu * 100 or 0,
    flood = c.sent / c.secs,
    loss_pct = (c.sent - s.count) / c.sent * 100,
    received = s.count,
  }
end

local function run_send(p, how)
  local r = pair(60, 1, SINK, 0, ("%s send {PORT} %d 64 %s"):format(p.cmd, cfg.send_n, how))
  local s, c = r.server, r.client
  if r.error or not (s and c and c.secs and s.got) then return nil, r.error or "no result" end
  local cpu = (c.user or 0) + (c.sys or 0)
  return { rate = c.sent / c.secs, got_pct = s.got / c.sent * 100, errors = c.errors or 0,
    cpu_us = cpu / c.sent * 1e6, sys_pct = cpu > 0 and c.sys / cpu * 100 or 0 }
end

local function run_echo(p, inflight)
  local r = pair(cfg.echo_secs + 60, 0, p.cmd .. " echo-server", 1,
    ("%s echo-client {PORT} %d %g 64"):format(p.cmd, inflight, cfg.echo_secs))
  local c = r.client
  if r.error or not (c and c.count and c.secs) or c.count == 0 then
    return nil, r.error or "no round trip"
  end
  local cpu = (c.user or 0) + (c.sys or 0)
  return { rate = c.count / c.secs, p50 = c.p50_us, p99 = c.p99_us, stalled = c.stalled,
    cpu_us = cpu / c.count * 1e6, cpu_pct = cpu / c.secs * 100 }
end

local function run_sockets(p)
  local r = parse(sh(("timeout -k 2 60 taskset -c 0 %s sockets %d"):format(p.cmd,
    cfg.sockets_n)))
  local o = r.out
  if not (o and o.per_socket) then
    local text = ""
    for k, v in pairs(o or {}) do text = text .. k .. "=" .. tostring(v) .. " " end
    return nil, "no result " .. text
  end
  return { per_socket = o.per_socket, create_ms = o.create_s * 1e3, close_ms = o.close_s * 1e3,
    total_ms = (o.create_s + o.close_s) * 1e3 }
end

local workloads = {}
for _, size in ipairs(cfg.sizes) do
  workloads[#workloads + 1] = { id = "recv-" .. size, title = ("recv-flood %d B"):format(size),
    fn = function(p) return run_recv(p, size) end, recv = true }
end
-- The flood's rate moves with the receiver (and the machine), and CPU per datagram with
-- the rate; at one fixed rate that every receiver but the slowest keeps up with, the CPU
-- figures compare like with like.
workloads[#workloads + 1] = { id = "recv-paced",
  title = ("recv-paced 64 B at %s/s"):format(cfg.paced_rate // 1000 .. "k"),
  fn = function(p) return run_recv(p, 64, cfg.paced_rate) end, recv = true }
-- What a receiveBlockList costs: dgram with 100,000 rules against dgram with none, at the
-- paced load; the ratio is the list's over no list's (`inverse`).
workloads[#workloads + 1] = { id = "recv-blocklist",
  title = ("blocklist 100k rules, recv-paced 64 B at %s/s"):format(cfg.paced_rate // 1000 .. "k"),
  fn = function(p) return run_recv(p, 64, cfg.paced_rate) end, blocklist = true,
  inverse = true }
workloads[#workloads + 1] = { id = "send-nocb", title = "send-rate, no callback",
  fn = function(p) return run_send(p, "nocb") end }
workloads[#workloads + 1] = { id = "send-cb", title = "send-rate, callback per send",
  fn = function(p) return run_send(p, "cb") end, needs_cb = true }
workloads[#workloads + 1] = { id = "echo-1", title = "echo, 1 in flight",
  fn = function(p) return run_echo(p, 1) end, echo = true }
workloads[#workloads + 1] = { id = "echo-64", title = "echo, 64 in flight",
  fn = function(p) return run_echo(p, 64) end, echo = true }
workloads[#workloads + 1] = { id = "sockets", title = ("sockets, %d bound"):format(cfg.sockets_n),
  fn = run_sockets, reps = 5 } -- a few milliseconds each: five per run

local function applies(w, p)
  if w.blocklist then return p.id == "dgram" or p.blocklist_only == true end
  if p.blocklist_only then return false end
  if p.recv_only and not w.recv then return false end
  if p.echo_only and not w.echo then return false end
  if w.needs_cb and not p.cb then return false end
  return true
end

return { parse = parse, pair = pair, raw = raw, results = results, record = record,
  workloads = workloads, applies = applies }

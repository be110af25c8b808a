-- The benchmark driver: runs every workload for dgram and for the peers a user would
-- otherwise pick, in the same run, and prints one table with absolute figures, ratios
-- and the targets. Run it through bench/run.sh (which builds the C helpers first).
-- Usage: lua5.4 bench/driver.lua quick|full
local MODE = arg[1] or "quick"
-- "report": rewrite bench/RESULTS.md from the last full run's figures (after editing
-- bench/NOTES.md), running nothing.
local REPORT = MODE == "report"
if REPORT then MODE = "full" end
if MODE ~= "quick" and MODE ~= "full" then
  io.stderr:write("usage: driver.lua quick|full|report\n")
  os.exit(2)
end
local QUICK = MODE == "quick"

local cfg = {
  runs = QUICK and 1 or 3,      -- the median of this many runs
  flood_secs = QUICK and 1 or 2, -- how long the flooder sends
  sizes = { 64, 1200 },
  paced_rate = 200000,          -- recv-paced: the same offered load for every receiver
  send_n = 200000,
  echo_secs = QUICK and 0.5 or 1.0,
  sockets_n = 1000,
  cg_k = 20000,                 -- datagrams through callgrind
  guard = 1.10,                 -- instructions may grow this much over bench/BASELINE
}

local B = "build/bench/"
local FLOOD, SINK = B .. "flood", B .. "sink"
local LUA = "lua5.4"

local dgram_functions -- defined with the profile, below

local function sh(cmd)
  local p = io.popen(cmd .. " 2>&1")
  local text = p:read("a")
  p:close()
  return text
end

local function ok(cmd)
  return os.execute(cmd .. " >/dev/null 2>&1") == true
end

local function lua_has(mod)
  return ok(LUA .. " -e 'require(\"" .. mod .. "\")'")
end

-- ---- the peers -----------------------------------------------------------------------

local peers = {
  { id = "dgram", label = "dgram", cmd = LUA .. " bench/peers/dgram_peer.lua", cb = true },
  { id = "core", label = "dgram.core", cmd = LUA .. " bench/peers/dgram_peer.lua --core",
    cb = true },
  -- dgram with dgram.setBusyPoll(0): what the busy poll after a send is worth
  { id = "nopoll", label = "dgram, busyPoll 0",
    cmd = LUA .. " bench/peers/dgram_peer.lua --busy-poll-0", echo_only = true },
  { id = "luv", label = "luv", cmd = LUA .. " bench/peers/luv_peer.lua", cb = true,
    check = function() return lua_has("luv") or "lua-luv is not installed" end },
  { id = "luvm", label = "luv (mmsgs=20)", cmd = LUA .. " bench/peers/luv_peer.lua --mmsg",
    recv_only = true,
    check = function() return lua_has("luv") or "lua-luv is not installed" end },
  { id = "socket", label = "LuaSocket", cmd = LUA .. " bench/peers/socket_peer.lua",
    check = function() return lua_has("socket") or "lua-socket is not installed" end },
  { id = "node", label = "Node.js", cmd = "node --expose-gc bench/peers/node_peer.js",
    cb = true,
    check = function() return ok("node -e 0") or "node is not installed" end },
  { id = "uv", label = "C libuv", cmd = B .. "uv_peer", cb = true,
    check = function() return ok("test -x " .. B .. "uv_peer") or "uv_peer did not build" end },
  { id = "mmsg", label = "C mmsg", cmd = B .. "mmsg_peer",
    check = function() return ok("test -x " .. B .. "mmsg_peer") or "mmsg_peer did not build" end },
  -- dgram with a receiveBlockList of 100,000 rules that do not match the sender
  { id = "bl100k", label = "dgram, 100k-rule block list",
    cmd = LUA .. " bench/peers/dgram_peer.lua --blocklist-100k", blocklist_only = true },
}
local by_id = {}
for _, p in ipairs(peers) do
  by_id[p.id] = p
  if p.check then
    local r = p.check()
    if r ~= true then p.missing = r end
  end
end

-- ---- running and parsing -------------------------------------------------------------

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

local function progress(msg)
  io.stderr:write(("[%s] %s\n"):format(os.date("%H:%M:%S"), msg))
end

-- ---- the workloads -------------------------------------------------------------------

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

-- ---- callgrind: instructions per datagram --------------------------------------------

local cg = {} -- cg[key] = { ir = per datagram, file = K run's profile, base = 0 run's }
local cg_peers = { "dgram", "core", "luv" }
local CGDIR = B .. "cg/"

local function cg_total(file)
  local f = io.open(file)
  if not f then return nil end
  local total
  for line in f:lines() do
    local n = line:match("^summary:%s*(%d+)") or line:match("^totals:%s*(%d+)")
    if n then total = tonumber(n) end
  end
  f:close()
  return total
end

local VG = "valgrind --tool=callgrind --dump-instr=no --callgrind-out-file="

local function cg_recv(p, k)
  local file = ("%srecv.%s.%d.out"):format(CGDIR, p.id, k)
  local out = parse(sh(("timeout -k 2 300 taskset -c 0 %s%s %s cg-recv %d %s 64 2>/dev/null")
    :format(VG, file, p.cmd, k, FLOOD)))
  return cg_total(file), out.out and out.out.count, file
end

local function cg_send(p, how, k)
  local file = ("%ssend-%s.%s.%d.out"):format(CGDIR, how, p.id, k)
  local r = pair(300, 1, SINK .. (k == 0 and " 0.5 3" or ""), 0,
    ("%s%s %s send {PORT} %d 64 %s"):format(VG, file, p.cmd, k, how))
  return cg_total(file), r.client and r.client.sent, file
end

local function run_callgrind()
  if not ok("command -v valgrind") then
    cg.missing = "valgrind is not installed"
    return
  end
  os.execute("mkdir -p " .. CGDIR)
  for _, id in ipairs(cg_peers) do
    local p = by_id[id]
    if not p.missing then
      progress("callgrind " .. p.label)
      local base = cg_recv(p, 0)
      local total, count, file = cg_recv(p, cfg.cg_k)
      if base and total and count and count > 0 then
        cg["recv." .. id] = { ir = (total - base) / count, n = count, file = file,
          base = ("%srecv.%s.0.out"):format(CGDIR, id) }
      end
      local sbase = cg_send(p, "nocb", 0)
      for _, how in ipairs({ "nocb", "cb" }) do
        local t, n, f = cg_send(p, how, cfg.cg_k)
        if sbase and t and n and n > 0 then
          cg["send-" .. how .. "." .. id] = { ir = (t - sbase) / n, n = n, file = f,
            base = ("%ssend-nocb.%s.0.out"):format(CGDIR, id) }
        end
      end
    end
  end
end

-- ---- the baseline (regression guard) -------------------------------------------------

local BASELINE = "bench/BASELINE"

local function read_baseline()
  local f = io.open(BASELINE)
  if not f then return nil end
  local b = {}
  for line in f:lines() do
    local k, v = line:match("^([%w%-%.]+)%s+([%d%.]+)")
    if k then b[k] = tonumber(v) end
  end
  f:close()
  return b
end

local function write_baseline()
  local f = assert(io.open(BASELINE, "w"))
  f:write("# Instructions per datagram of dgram's receive and send paths (callgrind, user space,\n",
    "# 64-byte datagrams, ", cfg.cg_k, " through the path, minus a run with none).\n",
    "# bench/run.sh fails when a figure grows more than ",
    math.floor((cfg.guard - 1) * 100 + 0.5), "% over these.\n",
    "# Rewrite with: BENCH_UPDATE_BASELINE=1 sh bench/run.sh quick   (", os.date("%Y-%m-%d"),
    ")\n")
  for _, k in ipairs({ "recv.dgram", "send-nocb.dgram", "send-cb.dgram" }) do
    if cg[k] then f:write(("%s %d\n"):format(k, math.floor(cg[k].ir + 0.5))) end
  end
  f:close()
end

-- ---- medians, ratios, targets --------------------------------------------------------

local function median(list)
  local t = {}
  for i, v in ipairs(list) do t[i] = v end
  table.sort(t)
  local n = #t
  if n == 0 then return nil end
  if n % 2 == 1 then return t[(n + 1) // 2] end
  return (t[n // 2] + t[n // 2 + 1]) / 2
end

-- The median of each figure over the runs.
local function fig(wl, peer)
  local slot = results[wl] and results[wl][peer]
  if not slot or #slot.runs == 0 then return nil end
  local m = {}
  for k in pairs(slot.runs[1]) do
    local vals = {}
    for _, r in ipairs(slot.runs) do
      if type(r[k]) == "number" then vals[#vals + 1] = r[k] end
    end
    m[k] = median(vals)
  end
  m.runs = #slot.runs
  return m
end

-- Each workload's key figure and whether more is better.
local key = {
  ["recv-64"] = { "cpu_us", false }, ["recv-1200"] = { "cpu_us", false },
  ["recv-paced"] = { "cpu_us", false }, ["recv-blocklist"] = { "cpu_us", false },
  ["send-nocb"] = { "rate", true }, ["send-cb"] = { "rate", true },
  ["echo-1"] = { "rate", true }, ["echo-64"] = { "rate", true },
  sockets = { "total_ms", false },
}

-- Targets: dgram's key figure over the peer's, compared with `limit` (op "<=" or ">=").
local targets = {
  { wl = "recv-64", peer = "luv", op = "<=", limit = 1.05, what = "CPU/dgram" },
  { wl = "recv-64", peer = "mmsg", op = "<=", limit = 1.15, what = "CPU/dgram" },
  { wl = "recv-1200", peer = "luv", op = "<=", limit = 1.05, what = "CPU/dgram" },
  { wl = "recv-1200", peer = "mmsg", op = "<=", limit = 1.15, what = "CPU/dgram" },
  { wl = "echo-1", peer = "node", op = ">=", limit = 1.5, what = "round trips/s" },
  { wl = "echo-1", peer = "luv", op = ">=", limit = 1.1, what = "round trips/s" },
  { wl = "echo-1", peer = "uv", op = ">=", limit = 0.8, what = "round trips/s" },
  { wl = "echo-64", peer = "node", op = ">=", limit = 2.0, what = "round trips/s" },
  { wl = "echo-64", peer = "uv", op = ">=", limit = 0.8, what = "round trips/s" },
  { wl = "send-cb", peer = "node", op = ">=", limit = 1.5, what = "sends/s" },
  { wl = "send-cb", peer = "luv", op = ">=", limit = 1.05, what = "sends/s" },
  -- "no loss while the plain C receiver has none": dgram's loss in percentage points over
  -- the C recvmmsg receiver's in the same run (every receiver that keeps up loses 0.3-1% of
  -- a flood here, the C one too, and a single run's loss is noisy: 1 point of slack)
  { wl = "recv-64", peer = "mmsg", figure = "loss_pct", op = "<=", diff = 1.0,
    what = "loss - C mmsg's loss (points)" },
  { wl = "recv-1200", peer = "mmsg", figure = "loss_pct", op = "<=", diff = 1.0,
    what = "loss - C mmsg's loss (points)" },
  -- the block list: CPU per received datagram with 100,000 rules at most twice none's
  { wl = "recv-blocklist", peer = "bl100k", op = "<=", limit = 2.0,
    what = "CPU/dgram, 100k rules over none" },
  { wl = "sockets", peer = "luv", op = "<=", limit = 1.0, what = "create+close time" },
  { wl = "sockets", peer = "dgram", figure = "per_socket", op = "<=", abs = 1024,
    what = "RSS per socket (bytes)" },
  -- the wrapper over the core, at most 10% more: counted in instructions (callgrind), which
  -- unlike CPU time does not move by 10% from one run to the next
  { wl = "cg-recv", peer = "core", op = "<=", limit = 1.10, what = "wrapper: instructions" },
  { wl = "cg-send-nocb", peer = "core", op = "<=", limit = 1.10, what = "wrapper: instructions" },
  { wl = "cg-send-cb", peer = "core", op = "<=", limit = 1.10, what = "wrapper: instructions" },
  { wl = "sockets", peer = "core", op = "<=", limit = 1.10, what = "wrapper: create+close" },
}

local function ratio(wl, peer)
  local what = wl:match("^cg%-(.+)$")
  if what then
    local d, p = cg[what .. ".dgram"], cg[what .. "." .. peer]
    return d and p and d.ir / p.ir
  end
  local d, p = fig(wl, "dgram"), fig(wl, peer)
  local k = key[wl][1]
  if not (d and p and d[k] and p[k]) or p[k] == 0 or d[k] == 0 then return nil end
  for _, w in ipairs(workloads) do
    if w.id == wl and w.inverse then return p[k] / d[k] end -- this row over plain dgram
  end
  return d[k] / p[k]
end

local function judge(t)
  local value
  if t.abs then
    local f = fig(t.wl, t.peer)
    value = f and f[t.figure]
  elseif t.diff then
    local d, p = fig(t.wl, "dgram"), fig(t.wl, t.peer)
    value = d and p and d[t.figure] and p[t.figure] and d[t.figure] - p[t.figure]
  else
    value = ratio(t.wl, t.peer)
  end
  if value == nil then return nil end
  local limit = t.abs or t.diff or t.limit
  local pass = (t.op == "<=" and value <= limit) or (t.op == ">=" and value >= limit)
  return pass, value
end

-- ---- formatting ----------------------------------------------------------------------

local function si(x)
  if x >= 1e6 then return ("%.2fM"):format(x / 1e6) end
  if x >= 1e3 then return ("%.1fk"):format(x / 1e3) end
  return ("%.0f"):format(x)
end

local formatters = {
  recv = function(f)
    return ("%s/s delivered, %.2f µs CPU/dgram (%.0f%% sys); flooder %s/s, loss %.1f%%")
      :format(si(f.rate), f.cpu_us, f.sys_pct, si(f.flood), f.loss_pct)
  end,
  send = function(f)
    return ("%s sends/s, %.2f µs CPU/send (%.0f%% sys); sink got %.1f%%%s"):format(si(f.rate),
      f.cpu_us, f.sys_pct, f.got_pct,
      f.errors > 0 and (", %d errors"):format(f.errors) or "")
  end,
  echo1 = function(f)
    return ("%s round trips/s, p50 %.0f µs, p99 %.0f µs; client CPU %.1f µs/trip (%.0f%%)%s")
      :format(si(f.rate), f.p50, f.p99, f.cpu_us or 0, f.cpu_pct or 0,
        f.stalled > 0 and " (stalled)" or "")
  end,
  echo = function(f)
    return ("%s round trips/s; client CPU %.2f µs/trip (%.0f%%)%s"):format(si(f.rate),
      f.cpu_us or 0, f.cpu_pct or 0, f.stalled > 0 and " (stalled)" or "")
  end,
  sockets = function(f)
    return ("%.0f B RSS/socket; create+bind %.1f ms, close %.1f ms"):format(f.per_socket,
      f.create_ms, f.close_ms)
  end,
}
local format_of = { ["recv-64"] = "recv", ["recv-1200"] = "recv", ["recv-paced"] = "recv",
  ["recv-blocklist"] = "recv",
  ["send-nocb"] = "send",
  ["send-cb"] = "send", ["echo-1"] = "echo1", ["echo-64"] = "echo", sockets = "sockets" }

local function target_text(wl, peer)
  local parts = {}
  for _, t in ipairs(targets) do
    if t.wl == wl and t.peer == peer then
      local pass, value = judge(t)
      local lim = t.abs and ("%d"):format(t.abs) or t.diff and ("%.1f"):format(t.diff)
        or ("%.2fx"):format(t.limit)
      if pass == nil then
        parts[#parts + 1] = ("%s %s %s: n/a"):format(t.what, t.op, lim)
      else
        parts[#parts + 1] = ("%s %s %s: **%s**"):format(t.what, t.op, lim,
          pass and "PASS" or "FAIL")
      end
      t.pass, t.value = pass, value
    end
  end
  return table.concat(parts, "; ")
end

local function table_lines()
  local lines = {
    "| workload | peer | figures (median of " .. cfg.runs .. ") | dgram/peer | target |",
    "|---|---|---|---|---|",
  }
  for _, w in ipairs(workloads) do
    for _, p in ipairs(peers) do
      if applies(w, p) then
        local f = fig(w.id, p.id)
        local slot = results[w.id] and results[w.id][p.id]
        local figures, r
        if p.missing then
          figures = "not run: " .. p.missing
        elseif not f then
          figures = "failed: " .. tostring(slot and slot.error or "no result")
        else
          figures = formatters[format_of[w.id]](f)
          local x = ratio(w.id, p.id)
          if x and p.id ~= "dgram" then
            r = ("%.2fx %s%s"):format(x, key[w.id][1], w.inverse and " (this row / dgram)" or "")
          end
        end
        lines[#lines + 1] = ("| %s | %s | %s | %s | %s |"):format(w.title, p.label, figures,
          r or "",
          target_text(w.id, p.id))
      end
    end
  end
  -- callgrind
  local base = read_baseline() or {}
  local cg_rows = {
    { "recv", "instructions/dgram, receive 64 B" },
    { "send-nocb", "instructions/dgram, send 64 B" },
    { "send-cb", "instructions/dgram, send 64 B + callback" },
  }
  for _, row in ipairs(cg_rows) do
    for _, id in ipairs(cg_peers) do
      local c = cg[row[1] .. "." .. id]
      local d = cg[row[1] .. ".dgram"]
      local label = by_id[id].label
      if cg.missing then
        if id == "dgram" then
          lines[#lines + 1] = ("| %s | %s | not run: %s | | |"):format(row[2], label, cg.missing)
        end
      elseif c then
        local r = (d and id ~= "dgram") and ("%.2fx instructions"):format(d.ir / c.ir) or ""
        local t = target_text("cg-" .. row[1], id)
        if id == "dgram" then
          local b = base[row[1] .. ".dgram"]
          if b then
            local pass = c.ir <= b * cfg.guard
            t = ("vs bench/BASELINE %d: %.2fx, <= %.2fx: **%s**"):format(b, c.ir / b, cfg.guard,
              pass and "PASS" or "FAIL")
            targets[#targets + 1] = { what = "instructions " .. row[1], pass = pass,
              value = c.ir / b, wl = "callgrind", peer = "BASELINE", guard = true }
          else
            t = "no baseline yet"
          end
        end
        lines[#lines + 1] = ("| %s | %s | %.0f instructions/dgram (%d datagrams) | %s | %s |")
          :format(row[2], label, c.ir, c.n, r, t)
      elseif not by_id[id].missing then
        lines[#lines + 1] = ("| %s | %s | failed | | |"):format(row[2], label)
      end
    end
  end
  return lines
end

-- ---- the profile (callgrind_annotate), for RESULTS.md --------------------------------

-- The functions defined in src/*.c.
local dgram_names
function dgram_functions() -- luacheck: ignore 211
  if dgram_names then return dgram_names end
  dgram_names = {}
  for file in sh("ls src/*.c"):gmatch("%S+") do
    local f = io.open(file)
    if f then
      for line in f:lines() do
        local name = line:match("^[%w_][%w_ %*]-[ %*]([%w_]+)%(")
        if name then dgram_names[name] = true end
      end
      f:close()
    end
  end
  return dgram_names
end

-- name -> Ir from callgrind_annotate's function list (inclusive or self).
local function annotate(file, inclusive)
  local text = sh(("callgrind_annotate --auto=no --inclusive=%s --threshold=100 %s 2>/dev/null")
    :format(inclusive and "yes" or "no", file))
  local t = {}
  for line in text:gmatch("[^\n]+") do
    local n, name = line:match("^%s*([%d,]+) %(%s*[%d%.]+%%%)%s+(.+)$")
    if n and not name:match("PROGRAM TOTALS") then
      local lib = name:match("%[(.-)%]%s*$") or ""
      name = name:gsub("%s*%[.-%]%s*$", ""):gsub("^%./", "")
      local file_part, fn = name:match("^(.*):([^:]+)$")
      if fn and not fn:match("'%d+$") then -- 'N: a recursion cycle, counted already
        if fn:match("^0x") then
          fn = "(" .. (lib:match("[^/]+$") or "?") .. " internal " .. fn:gsub("^0x0*", "0x") .. ")"
        elseif file_part:match("src/[%w_]+%.c$") or lib:match("dgram/core%.so") then
          fn = fn .. " (dgram)"
        elseif lib:match("libuv") then
          fn = fn .. " (libuv)"
        elseif lib:match("libc%.so") then
          fn = fn .. " (libc)"
        elseif lib:match("lua5%.4") then
          fn = fn .. " (lua5.4)"
        end
        n = tonumber((n:gsub(",", "")))
        -- a function listed twice (with and without debug info): keep the larger
        if not t[fn] or t[fn] < n then t[fn] = n end
      end
    end
  end
  -- callgrind lists some functions a second time without their object: merge those
  for fn, n in pairs(t) do
    if not fn:find(" (", 1, true) then
      local label = dgram_functions()[fn] and fn .. " (dgram)"
      for other in pairs(t) do
        if other:sub(1, #fn + 2) == fn .. " (" then label = other end
      end
      if label then
        t[fn] = nil
        if not t[label] or t[label] < n then t[label] = n end
      end
    end
  end
  return t
end

-- Wrappers around everything (the loop, the main chunk): no information per datagram.
local wrappers = { "^loop_run ", "^uv_run ", "^lua_pcallk ", "^main ", "^%(", "^%?%?%?",
  "libc_start", "^lua_callk ", "^queue_drain ", "^run_item " }

-- The send benchmark sends from its 'listening' callback: these wrap every send.
local send_wrappers = { "^bind_complete ", "^socket_emit ", "^loop_call " }

local function profile_lines(c, inclusive, top, extra)
  local k, b = annotate(c.file, inclusive), annotate(c.base, inclusive)
  local rows = {}
  for name, n in pairs(k) do
    local per = (n - (b[name] or 0)) / c.n
    local skip = false
    if inclusive then
      for _, list in ipairs({ wrappers, extra or {} }) do
        for _, w in ipairs(list) do
          if name:match(w) then skip = true end
        end
      end
    end
    if per >= 10 and not skip then rows[#rows + 1] = { name, per } end
  end
  table.sort(rows, function(x, y) return x[2] > y[2] end)
  local lines = {}
  for i = 1, math.min(top, #rows) do
    lines[#lines + 1] = ("| %s | %.0f |"):format(rows[i][1], rows[i][2])
  end
  return lines
end

-- ---- RESULTS.md ----------------------------------------------------------------------

local function machine()
  local model = "unknown"
  local f = io.open("/proc/cpuinfo")
  if f then
    for line in f:lines() do
      local m = line:match("^model name%s*:%s*(.+)$")
      if m then model = m; break end
    end
    f:close()
  end
  local function one(cmd) return (sh(cmd):gsub("%s+$", "")) end
  return ("%s cores, %s, Linux %s; %s, %s, Node.js %s, valgrind %s"):format(one("nproc"),
    model, one("uname -r"), one("lua5.4 -v"), "libuv " .. one("pkg-config --modversion libuv"),
    one("node --version 2>/dev/null || echo none"), one("valgrind --version 2>/dev/null"))
end

local function write_results(path, lines, started, elapsed)
  local out = {}
  local function add(s) out[#out + 1] = s end
  add("# dgram benchmark results")
  add("")
  add(("Last %s run (`make %s`): %s, %.0f s. Machine: %s."):format(MODE,
    QUICK and "bench-quick" or "bench", started, elapsed, machine()))
  add("")
  add("Each figure is the median of " .. cfg.runs .. " runs. The two sides of every " ..
    "measurement are pinned to different cores with taskset (the side under test on core 0). " ..
    "`dgram/peer` is dgram's key figure over the peer's: for CPU per datagram and times, " ..
    "lower is better; for rates, higher is better. How each workload is run: " ..
    "`bench/README.md`.")
  add("")
  for _, l in ipairs(lines) do add(l) end
  add("")
  local fails = {}
  for _, t in ipairs(targets) do
    if t.pass == false then
      if t.abs then
        fails[#fails + 1] = ("%s %s: %.0f"):format(t.wl, t.what, t.value)
      elseif t.diff then
        fails[#fails + 1] = ("%s %s: %.1f"):format(t.wl, t.what, t.value)
      else
        fails[#fails + 1] = ("%s %s vs %s: %.2fx"):format(t.wl, t.what,
          by_id[t.peer] and by_id[t.peer].label or t.peer, t.value)
      end
    end
  end
  add(("Targets failing: %d. %s"):format(#fails, table.concat(fails, "; ")))
  add("")
  add("## Profile: where dgram's instructions go, per datagram")
  add("")
  add("From callgrind (user space only; the kernel's share is in the `sys` column of " ..
    "recv-flood), " .. cfg.cg_k .. " datagrams of 64 bytes, minus a run with none, divided " ..
    "by the count. lua5.4 ships without symbols, so its internal functions show as addresses; " ..
    "the `lua_*` API calls are named and include what they call.")
  for _, spec in ipairs({ { "recv.dgram", "Receive path" }, { "send-cb.dgram",
    "Send path, with a callback per send" }, { "send-nocb.dgram", "Send path, no callback" } }) do
    local c = cg[spec[1]]
    if c then
      add("")
      add(("### %s: %.0f instructions/datagram"):format(spec[2], c.ir))
      add("")
      add("Inclusive (the function and what it calls):")
      add("")
      add("| function | instructions/dgram |")
      add("|---|---|")
      local extra = spec[1]:match("^send") and send_wrappers
      for _, l in ipairs(profile_lines(c, true, 18, extra)) do add(l) end
      add("")
      add("Self (the function's own instructions):")
      add("")
      add("| function | instructions/dgram |")
      add("|---|---|")
      for _, l in ipairs(profile_lines(c, false, 12)) do add(l) end
    end
  end
  local nf = io.open("bench/NOTES.md")
  if nf then
    add("")
    add(nf:read("a"))
    nf:close()
  end
  local f = assert(io.open(path, "w"))
  f:write(table.concat(out, "\n"), "\n")
  f:close()
end

-- ---- main ----------------------------------------------------------------------------

-- Reads a raw-MODE.txt back (the "report" mode).
local function reload(path)
  local f = io.open(path)
  if not f then
    io.stderr:write("bench: no " .. path .. ": run the full benchmark first\n")
    os.exit(2)
  end
  local meta = {}
  for line in f:lines() do
    local wl, peer, rest = line:match("^(%S+) (%S+) ?(.*)$")
    local kv = {}
    for k, v in (rest or ""):gmatch("([%w_]+)=(%S+)") do kv[k] = tonumber(v) or v end
    if wl == "meta" then
      meta[peer] = rest
    elseif wl == "cg" then
      cg[peer] = kv
    elseif wl and kv.error then
      record(wl, peer, nil, rest:match("^error=(.*)$"))
    elseif wl then
      record(wl, peer, kv)
    end
  end
  f:close()
  raw = {}
  return meta
end

local t_start = os.time()
local started = os.date("%Y-%m-%d %H:%M %Z")
local clock0 = sh("date +%s.%N")
if REPORT then
  local meta = reload("bench/results/raw-full.txt")
  started = meta.started or started
  local lines = table_lines()
  for _, l in ipairs(lines) do print(l) end
  write_results("bench/RESULTS.md", lines, started, tonumber(meta.elapsed) or 0)
  progress("wrote bench/RESULTS.md from bench/results/raw-full.txt")
  os.exit(0)
end
for _, p in ipairs(peers) do
  if p.missing then progress(("peer %s not run: %s"):format(p.label, p.missing)) end
end
-- BENCH_ONLY=id[,id...] (e.g. recv-blocklist): those workloads only, no callgrind, and
-- the table is printed, not written to RESULTS.md.
local ONLY = os.getenv("BENCH_ONLY")
for run = 1, cfg.runs do
  for _, w in ipairs(workloads) do
    if ONLY and not ("," .. ONLY .. ","):find("," .. w.id .. ",", 1, true) then
      goto next_workload
    end
    progress(("run %d/%d: %s"):format(run, cfg.runs, w.title))
    for _, p in ipairs(peers) do
      for _ = 1, (applies(w, p) and not p.missing) and (w.reps or 1) or 0 do
        local figures, err = w.fn(p)
        record(w.id, p.id, figures, err)
      end
    end
    ::next_workload::
  end
end
if ONLY then
  for _, l in ipairs(table_lines()) do
    if not l:find("| failed", 1, true) then print(l) end
  end
  os.exit(0)
end
run_callgrind()
if not cg.missing then
  local b = read_baseline()
  if not b or os.getenv("BENCH_UPDATE_BASELINE") == "1" then
    write_baseline()
    progress("wrote " .. BASELINE)
  end
end

local lines = table_lines()
print("")
print(("dgram benchmark (%s): median of %d run(s)"):format(MODE, cfg.runs))
print("")
for _, l in ipairs(lines) do print(l) end
local npass, nfail, guard_fail = 0, 0, false
for _, t in ipairs(targets) do
  if t.pass == true then npass = npass + 1 end
  if t.pass == false then
    nfail = nfail + 1
    if t.guard then guard_fail = true end
  end
end
print("")
print(("targets: %d pass, %d fail"):format(npass, nfail))

local elapsed = tonumber(sh("date +%s.%N")) - tonumber(clock0)
os.execute("mkdir -p bench/results")
local rf = io.open("bench/results/raw-" .. MODE .. ".txt", "w")
if rf then
  rf:write("meta started ", started, "\nmeta elapsed ", ("%.0f"):format(elapsed), "\n")
  for k, c in pairs(cg) do
    if type(c) == "table" then
      rf:write(("cg %s ir=%.1f n=%d file=%s base=%s\n"):format(k, c.ir, c.n, c.file, c.base))
    end
  end
  rf:write(table.concat(raw, "\n"), "\n")
  rf:close()
end
-- the full run's results are kept in the repository, a quick run's only locally
local results_md = QUICK and "bench/results/RESULTS-quick.md" or "bench/RESULTS.md"
write_results(results_md, lines, started, elapsed)
progress("wrote " .. results_md)
progress(("done in %.0f s (%d s wall)"):format(elapsed, os.time() - t_start))
if guard_fail then
  io.stderr:write("bench: instructions per datagram grew past bench/BASELINE\n")
  os.exit(1)
end

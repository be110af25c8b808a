-- Medians over the runs, each workload's key figure, the targets and how they are judged.
local W = require("bench.workloads")
local CG = require("bench.callgrind")
local results, workloads, cg = W.results, W.workloads, CG.cg

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

return { median = median, fig = fig, key = key, targets = targets, ratio = ratio, judge = judge }

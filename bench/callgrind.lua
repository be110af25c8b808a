-- Instructions per datagram under callgrind (dgram, dgram.core, luv), and bench/BASELINE,
-- the regression guard on dgram's figures.
local setup = require("bench.setup")
local W = require("bench.workloads")
local cfg, sh, ok, progress, by_id = setup.cfg, setup.sh, setup.ok, setup.progress, setup.by_id
local B, FLOOD, SINK = setup.B, setup.FLOOD, setup.SINK
local parse, pair = W.parse, W.pair

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

return { cg = cg, cg_peers = cg_peers, run_callgrind = run_callgrind, BASELINE = BASELINE,
  read_baseline = read_baseline, write_baseline = write_baseline }

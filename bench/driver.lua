-- The benchmark driver: runs every workload for dgram and for the peers a user would
-- otherwise pick, in the same run, and prints one table with absolute figures, ratios
-- and the targets. Run it through bench/run.sh (which builds the C helpers first).
-- Usage: lua5.4 bench/driver.lua quick|full
-- The parts: bench/setup.lua (mode, configuration, peers), bench/workloads.lua,
-- bench/callgrind.lua (and the baseline), bench/figures.lua (medians, targets),
-- bench/report.lua (the table) and bench/results_md.lua (RESULTS.md with the profile).
local setup = require("bench.setup")
local W = require("bench.workloads")
local CG = require("bench.callgrind")
local F = require("bench.figures")
local MODE, REPORT, QUICK, cfg = setup.MODE, setup.REPORT, setup.QUICK, setup.cfg
local sh, progress, peers = setup.sh, setup.progress, setup.peers
local raw, record, workloads, applies = W.raw, W.record, W.workloads, W.applies
local cg, run_callgrind, BASELINE = CG.cg, CG.run_callgrind, CG.BASELINE
local read_baseline, write_baseline = CG.read_baseline, CG.write_baseline
local targets = F.targets
local table_lines = require("bench.report").table_lines
local write_results = require("bench.results_md").write_results

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
  for i = #raw, 1, -1 do raw[i] = nil end
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

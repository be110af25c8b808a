-- The results table: one line per workload and peer (figures, ratio, targets), then the
-- callgrind rows against bench/BASELINE.
local setup = require("bench.setup")
local W = require("bench.workloads")
local CG = require("bench.callgrind")
local F = require("bench.figures")
local cfg, peers, by_id = setup.cfg, setup.peers, setup.by_id
local results, workloads, applies = W.results, W.workloads, W.applies
local cg, cg_peers, read_baseline = CG.cg, CG.cg_peers, CG.read_baseline
local fig, key, targets, ratio, judge = F.fig, F.key, F.targets, F.ratio, F.judge

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

return { table_lines = table_lines }

-- RESULTS.md: the table, the failing targets, and where dgram's instructions go per
-- datagram (callgrind_annotate's inclusive and self profiles), then bench/NOTES.md.
local setup = require("bench.setup")
local CG = require("bench.callgrind")
local F = require("bench.figures")
local MODE, QUICK, cfg, sh, by_id = setup.MODE, setup.QUICK, setup.cfg, setup.sh, setup.by_id
local cg, targets = CG.cg, F.targets

-- The functions defined in src/*.c.
local dgram_names
local function dgram_functions()
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
    add(nf:read("*a"))
    nf:close()
  end
  local f = assert(io.open(path, "w"))
  f:write(table.concat(out, "\n"), "\n")
  f:close()
end

return { write_results = write_results }

-- What the Lua peers share: the clocks (build/bench/benchclock.so), the receive meter
-- (the same logic as bench/c/common.h and node.js), output and percentiles.
local clock = require("benchclock")

local M = { now = clock.now, cpu = clock.cpu, rss = clock.rss }

M.TICK_MS = 20
local IDLE, START, LIMIT = 0.300, 15.0, 60.0

local function sample(count)
  local user, sys = clock.cpu()
  return { wall = clock.now(), user = user, sys = sys, count = count }
end

-- The receive meter: tick(count) every TICK_MS; true when the measurement is over.
-- The window runs from the first sample that saw a datagram to the last sample before
-- the one that saw the last datagram (the partial intervals at both ends are dropped).
function M.meter()
  local m = { born = clock.now(), next = 0 }
  function m.tick(count)
    local s = sample(count)
    if s.wall - m.born > LIMIT then return true end
    if not m.first then
      if count == 0 then return s.wall - m.born > START end
      m.first, m.e0, m.e1 = s, s, s
      return false
    end
    if count > m.e1.count then
      m.e0, m.e1 = m.e1, s
      return false
    end
    return s.wall - m.e1.wall > IDLE
  end
  -- For loops without a timer: ticks when a tick is due.
  function m.poll(count)
    local t = clock.now()
    if t < m.next then return false end
    m.next = t + M.TICK_MS / 1000
    return m.tick(count)
  end
  function m.report(count, bytes)
    local f = m.first
    local e = f and (m.e0.count > f.count and m.e0 or m.e1)
    M.out({
      count = count, bytes = bytes,
      win_count = f and e.count - f.count or 0,
      win_wall = f and e.wall - f.wall or 0,
      win_user = f and e.user - f.user or 0,
      win_sys = f and e.sys - f.sys or 0,
    })
  end
  return m
end

local function fmt(v)
  if math.type(v) == "float" then return ("%.6f"):format(v) end
  return tostring(v)
end

-- Prints k=v pairs on one line, keys sorted, and flushes.
function M.out(kv)
  local keys = {}
  for k in pairs(kv) do keys[#keys + 1] = k end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do parts[#parts + 1] = k .. "=" .. fmt(kv[k]) end
  io.stdout:write(table.concat(parts, " "), "\n")
  io.stdout:flush()
end

-- The p-th percentile (0..100) of a list of numbers (sorted in place).
function M.percentile(list, p)
  if #list == 0 then return 0 end
  table.sort(list)
  local i = math.max(1, math.min(#list, math.ceil(#list * p / 100)))
  return list[i]
end

-- Parses "--flag" options out of arg; returns the positional arguments and the flags.
function M.args(argv)
  local pos, flags = {}, {}
  for i = 1, #argv do
    local f = argv[i]:match("^%-%-(.+)$")
    if f then flags[f] = true else pos[#pos + 1] = argv[i] end
  end
  return pos, flags
end

return M

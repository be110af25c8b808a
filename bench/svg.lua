-- Draws bench/RESULTS.md's table as bench/results.svg: one bar chart per workload, the
-- workload's key figure for dgram beside each peer (longer bar: the larger figure; the
-- caption says whether more or less is better). A small SVG writer, no dependencies.
--   lua5.4 bench/svg.lua [bench/RESULTS.md] [bench/results.svg]
local input = arg[1] or "bench/RESULTS.md"
local output = arg[2] or "bench/results.svg"

-- "713.4k sends/s, ..." -> 713400, "sends/s"; the first figure of a row and its unit.
local function key_figure(text)
  local num, scale, unit = text:match("^%s*([%d%.]+)([kM]?)%s*([^,;%(]*)")
  if not num then return nil end
  local n = tonumber(num) * (scale == "k" and 1e3 or scale == "M" and 1e6 or 1)
  return n, (unit:gsub("%s+$", ""))
end

-- The workloads in their order, each with its rows { peer=, value=, label= }.
local function read_rows(path)
  local workloads, by_name = {}, {}
  for line in io.lines(path) do
    local workload, peer, figures = line:match("^| ([^|]-) | ([^|]-) | ([^|]-) |")
    local value, unit
    if figures then value, unit = key_figure(figures) end
    if value and workload ~= "workload" then
      local w = by_name[workload]
      if not w then
        w = { name = workload, unit = unit, rows = {} }
        by_name[workload] = w
        workloads[#workloads + 1] = w
      end
      w.rows[#w.rows + 1] = { peer = peer, value = value, label = figures:match("^[^,;]+") }
    end
  end
  return workloads
end

-- Whether less is better for this unit (CPU, memory, instructions).
local function less_is_better(unit)
  return unit:find("CPU") or unit:find("RSS") or unit:find("instructions") or unit:find("µs")
end

local function escape(text)
  return (text:gsub("&", "&amp;"):gsub("<", "&lt;"):gsub(">", "&gt;"))
end

local WIDTH, BAR_H, GAP, LEFT = 760, 16, 4, 170

local function chart(out, w, y)
  local max = 0
  for _, r in ipairs(w.rows) do max = math.max(max, r.value) end
  local better = less_is_better(w.unit) and "less is better" or "more is better"
  out[#out + 1] = ('<text x="0" y="%d" class="title">%s (%s)</text>'):format(y + 12,
    escape(w.name), better)
  y = y + 20
  for _, r in ipairs(w.rows) do
    local len = max > 0 and math.floor((WIDTH - LEFT - 200) * r.value / max + 0.5) or 0
    local class = r.peer:match("^dgram") and "ours" or "theirs"
    out[#out + 1] = ('<text x="%d" y="%d" class="name">%s</text>'):format(LEFT - 6,
      y + BAR_H - 4, escape(r.peer))
    out[#out + 1] = ('<rect x="%d" y="%d" width="%d" height="%d" class="%s"/>'):format(LEFT, y,
      math.max(len, 1), BAR_H, class)
    out[#out + 1] = ('<text x="%d" y="%d" class="value">%s</text>'):format(LEFT + len + 6,
      y + BAR_H - 4, escape(r.label))
    y = y + BAR_H + GAP
  end
  return y + 14
end

local workloads = read_rows(input)
assert(#workloads > 0, "no table rows in " .. input)
local body, y = {}, 0
for _, w in ipairs(workloads) do y = chart(body, w, y) end
local f = assert(io.open(output, "w"))
f:write(('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" ' ..
  'viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">\n'):format(WIDTH, y, WIDTH, y))
f:write("<style>.title{font-weight:bold}.name{text-anchor:end;fill:#333}" ..
  ".ours{fill:#2a7ab9}.theirs{fill:#b0b0b0}.value{fill:#333}</style>\n")
f:write('<rect width="100%" height="100%" fill="white"/>\n')
f:write(table.concat(body, "\n"), "\n</svg>\n")
f:close()
print(("svg: %d workloads drawn in %s"):format(#workloads, output))

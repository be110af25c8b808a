-- bench/svg.lua draws bench/RESULTS.md's table (what `make bench` wrote) as an SVG: one
-- chart per workload, one bar per row, dgram's bars apart from the peers'.
describe("bench/svg.lua", function()
  it("draws every workload and every row of bench/RESULTS.md", function()
    local out = os.tmpname()
    assert.is_true(os.execute(("lua5.4 bench/svg.lua bench/RESULTS.md %s >/dev/null"):format(out)))
    local f = assert(io.open(out))
    local svg = f:read("*a")
    f:close()
    os.remove(out)
    local workloads, rows = {}, 0
    for line in io.lines("bench/RESULTS.md") do
      local workload = line:match("^| ([^|]-) | [^|]- | [%d%.]+[kM]?[^|]- |")
      if workload and workload ~= "workload" then
        workloads[workload] = true
        rows = rows + 1
      end
    end
    assert.is_true(rows >= 20, "rows in RESULTS.md: " .. rows)
    assert.truthy(svg:find("^<svg "))
    assert.truthy(svg:find("</svg>\n$"))
    for name in pairs(workloads) do
      assert.truthy(svg:find('class="title">' .. name:gsub("%p", "%%%0"), 1), name)
    end
    local _, bars = svg:gsub('<rect x="%d+" y="%d+" width="%d+" height="%d+" class="', "")
    assert.equals(rows, bars)
    assert.truthy(svg:find('class="ours"') and svg:find('class="theirs"'))
  end)
end)

-- make faults: fault injection inside a private network namespace (tools/netns.sh):
-- ICMP port unreachable, unreachable/prohibited/blackhole routes, no route, an address
-- not on the machine, 30% loss by nft with recv retries, EMFILE, a full libuv send queue.
-- Prints each case's documented outcome, what happened, and whether the socket still
-- worked; exit status 1 when a case failed that is not a known open item.
local dir = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = dir .. "/?.lua;" .. package.path
local problem = dofile(dir .. "/../spec/helper.lua").netns_problem()
if problem then
  io.stderr:write("faults: refusing to run outside a private network namespace: ", problem,
    "\n")
  os.exit(2)
end

local dgram = require("dgram")
local cases = require("faults.cases")
local heavy = require("faults.heavy")

local results = {}
local function add(r)
  if r.name then results[#results + 1] = r else for _, x in ipairs(r) do add(x) end end
end
for _, name in ipairs({ "icmp_refused", "unreachable", "prohibit", "blackhole", "no_route",
  "addr_not_avail" }) do
  add(cases[name](dgram))
end
add(heavy.loss(dgram, { requests = 1000 }))
add(heavy.emfile())
add(heavy.send_queue(dgram, { count = 2000 }))

local failed, injected = 0, 0
for _, r in ipairs(results) do
  if r.skipped then
    print(("SKIP  %s: %s"):format(r.name, r.skipped))
  else
    injected = injected + 1
    local tag = r.ok and "ok  " or (r.item and "OPEN" or "FAIL")
    if not r.ok and not r.item then failed = failed + 1 end
    print(("%s  %s: expected %s, got %s; usable afterwards: %s%s"):format(tag, r.name,
      r.expected, r.outcome, tostring(r.usable),
      r.item and not r.ok and (" (open: issue 10, %s)"):format(tostring(r.item)) or ""))
    if r.detail and r.detail ~= "" then print("      " .. r.detail) end
  end
end
print(("faults: %d injected, %d failed"):format(injected, failed))
os.exit(failed == 0 and 0 or 1)

-- Run by spec/host_ways_spec.lua inside build/embed-host with the arguments "a b": prints
-- what the host gave the script, and stops the host from on_frame(5).
local args = { n = select("#", ...), ... } -- (table.pack: not in Lua 5.1)
print(("HOSTED=%s arg0=%s arg1=%s arg2=%s ...=%s"):format(tostring(HOSTED), arg[0], arg[1],
  arg[2], table.concat(args, ",", 1, args.n)))

local seen = {}
function on_frame(n)
  seen[#seen + 1] = n
  if n == 5 then
    print("frames: " .. table.concat(seen, ","))
    return false
  end
end

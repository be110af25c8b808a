-- Lua skips a finalizer that fails: one called at a full Lua stack (or deep in nested C
-- calls) raises "stack overflow" before it starts; Lua 5.4 warns "error in __gc", 5.3
-- raises "error in __gc metamethod" where the collection ran, and both free the object
-- later all the same. The module's objects must stay memory-safe without
-- their __gc: the child runs under valgrind (or ASan under `make asan`), which turns a
-- use of the freed socket into a failing exit status.
local H = require("helper")

local CHILD = [[
if warn then warn("@on") end -- Lua 5.4 reports a failed finalizer as a warning
local dgram = require("dgram")
local big = {}
for i = 1, 1000000 do big[i] = false end
-- Calls fn with only `room` free slots on the Lua stack (a vararg frame holds the rest).
local function at_full_stack(room, fn)
  local frame = function(...) -- luacheck: ignore 212
    local r = fn()
    return r
  end
  return pcall(function() return frame(table.unpack(big, 1, 1000000 - room)) end)
end
for room = 36, 70 do
  do -- garbage whose finalizers the collection below runs at a nearly full stack
    local _ = dgram.createSocket({ type = "udp4", receiveBlockList = { "10.0.0.0/8" },
      sendBlockList = { "10.0.0.1", "::1" } })
    local t = dgram.setTimeout(60000, print)
    dgram.clearTimeout(t)
  end
  local _, err = at_full_stack(room, function() collectgarbage() return 1 end)
  if tostring(err):find("error in __gc", 1, true) then print(err) end -- Lua 5.3
end
collectgarbage()
collectgarbage() -- frees what the skipped finalizers left
local r = dgram.createSocket("udp4")
r:on("message", function(msg)
  print("received " .. msg)
  r:close()
end)
r:bind(0, "127.0.0.1", function() r:send("after", r:address().port, "127.0.0.1") end)
dgram.run()
io.stdout:flush()
os.exit(0, true) -- the loop's __gc closes what the skipped finalizers left open
]]

local function checker()
  if os.getenv("DGRAM_ASAN") then return "" end -- H.lua_child preloads ASan then
  assert.truthy(H.sh("command -v valgrind") ~= "", "valgrind is needed (make deps)")
  return "valgrind -q --error-exitcode=99 --leak-check=full "
    .. "--show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect "
end

-- The attack fills the stack with table.unpack, up to 5.3 and 5.4's 1,000,000 slots.
local unfillable = _VERSION == "Lua 5.1"
  and "Lua 5.1 and LuaJIT: table.unpack cannot fill the Lua stack (8000 values at most)"

describe("objects whose finalizer Lua skipped (it failed at a full stack)", function()
  it("are freed without a use of freed memory or a leak, and the module goes on", function()
    if unfillable then return pending(unfillable) end
    local prefix = checker()
    local out, status = H.lua_child(CHILD, nil, prefix)
    assert.truthy(out:find("error in __gc[^\n]*stack overflow"),
      "no finalizer was skipped: the attack did not happen\n" .. out)
    assert.truthy(out:find("received after\n", 1, true), out)
    assert.equals(0, status, out)
  end)
end)

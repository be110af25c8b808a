-- Lua skips a finalizer that fails: one called at a full Lua stack (or deep in nested C
-- calls) raises "stack overflow" before it starts, Lua warns "error in __gc", and frees
-- the object later all the same. The module's objects must stay memory-safe without
-- their __gc: the child runs under valgrind (or ASan under `make asan`), which turns a
-- use of the freed socket into a failing exit status.
local H = require("helper")

local CHILD = [[
warn("@on")
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
  at_full_stack(room, function() collectgarbage() return 1 end)
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

describe("objects whose finalizer Lua skipped (it failed at a full stack)", function()
  it("are freed without a use of freed memory or a leak, and the module goes on", function()
    local prefix = checker()
    local out, status = H.lua_child(CHILD, nil, prefix)
    assert.truthy(out:find("Lua warning: error in __gc (stack overflow)", 1, true),
      "no finalizer was skipped: the attack did not happen\n" .. out)
    assert.truthy(out:find("received after\n", 1, true), out)
    assert.equals(0, status, out)
  end)
end)

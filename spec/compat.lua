-- The specs' own Lua 5.2/5.3 idioms on Lua 5.1 and LuaJIT (`make test LUA=lua5.1` or
-- `LUA=luajit`), loaded before every spec file (.busted's helper). Only in the specs'
-- process: the module's files do without them (lua/dgram/coro.lua), and the children the
-- specs start run without them.
if _VERSION ~= "Lua 5.1" then return end

table.unpack = table.unpack or unpack -- luacheck: ignore 122 143
table.pack = table.pack or function(...) return { n = select("#", ...), ... } end -- luacheck: ignore 122

-- 5.1's os.execute returns the wait status alone: as 5.2 does, true or nil, then "exit"
-- and the exit code, or "signal" and the signal.
local execute = os.execute
os.execute = function(cmd) -- luacheck: ignore 122
  if cmd == nil then return execute() ~= 0 end
  local status = execute(cmd)
  if status == 0 then return true, "exit", 0 end
  if status % 256 == 0 then return nil, "exit", status / 256 end
  return nil, "signal", status % 256
end

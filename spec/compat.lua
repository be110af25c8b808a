-- The specs' own Lua 5.2/5.3 idioms on Lua 5.1 and LuaJIT (`make test LUA=lua5.1` or
-- `LUA=luajit`): loaded before every spec file (.busted's helper) and, through LUA_INIT
-- (spec/run.sh), in the children the specs start; once. The module's own files do
-- without them (luacheck's std "min" holds them to what every Lua has).
if _VERSION ~= "Lua 5.1" or math.type then return end -- (busted may add table.pack)

-- luacheck: push ignore 113 121 122 143
table.unpack = table.unpack or unpack
table.pack = table.pack or function(...) return { n = select("#", ...), ... } end

-- 5.1's os.execute returns the wait status alone: as 5.2 does, true or nil, then "exit"
-- and the exit code, or "signal" and the signal.
local execute = os.execute
os.execute = function(cmd)
  if cmd == nil then return execute() ~= 0 end
  local status = execute(cmd)
  if status == 0 then return true, "exit", 0 end
  if status % 256 == 0 then return nil, "exit", status / 256 end
  return nil, "signal", status % 256
end

-- Numbers are doubles alone there: math.type says "integer" for an integral value, which is
-- what the module gives where 5.3 and 5.4 give an integer (docs/API.md, "Lua versions").
math.type = function(x)
  if type(x) ~= "number" then return nil end
  return (x == math.floor(x) and x ~= math.huge and x ~= -math.huge) and "integer" or "float"
end
math.tointeger = function(x)
  if math.type(x) == "integer" then return x end
end
math.maxinteger = 2 ^ 53 - 1 -- the largest that doubles count to
math.mininteger = -(2 ^ 53 - 1)

-- load and loadfile with a mode and an environment (LuaJIT has them already).
if not jit then
  local loadfile51, load51, loadstring51 = loadfile, load, loadstring
  local function with_env(f, err, env)
    if f and env then setfenv(f, env) end
    return f, err
  end
  loadfile = function(path, _, env)
    local f, err = loadfile51(path)
    return with_env(f, err, env)
  end
  load = function(chunk, name, _, env)
    local f, err
    if type(chunk) == "string" then f, err = loadstring51(chunk, name) else
      f, err = load51(chunk, name) end
    return with_env(f, err, env)
  end
end

-- coroutine.running() in the main thread: nil there, (nil, true) here as (main, true) in
-- 5.2 and later.
local running = coroutine.running
coroutine.running = function()
  local co = running()
  return co, co == nil
end
-- luacheck: pop

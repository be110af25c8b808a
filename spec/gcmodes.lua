-- The collector settings and finalizers the specs use, on every Lua (children load it
-- too: require("gcmodes")). Lua 5.4 has two collector modes; 5.3, 5.1 and LuaJIT only
-- the incremental one, and 5.1 and LuaJIT run __gc for userdata alone.
local G = {}
local V54 = _VERSION == "Lua 5.4"

-- setmetatable(t, mt); when mt has __gc, on 5.1 and LuaJIT a proxy userdata that t holds
-- calls mt.__gc(t) when t is collected (the finalizer keeps t alive while it runs).
function G.setmetatable(t, mt)
  if _VERSION == "Lua 5.1" and mt.__gc then
    local proxy = newproxy(true) -- luacheck: ignore 113
    getmetatable(proxy).__gc = function() mt.__gc(t) end
    rawset(t, G, proxy)
  end
  return setmetatable(t, mt)
end

-- A collector that, restarted after collectgarbage("stop"), runs every pending finalizer
-- at the next allocation: 5.4's generational mode (entered with a full collection; a
-- minor collection there); elsewhere a full collection, then an incremental collector
-- with no pause whose one step is a whole cycle.
function G.eager(...)
  if V54 then return collectgarbage("generational", ...) end
  collectgarbage("collect")
  collectgarbage("setpause", 0)
  collectgarbage("setstepmul", 100000000) -- a step of 100 MB of work: any heap of the specs
end

-- The incremental collector (pause, step multiplier; each as it was when absent or 0).
function G.incremental(pause, stepmul)
  if V54 then return collectgarbage("incremental", pause, stepmul) end
  if pause and pause > 0 then collectgarbage("setpause", pause) else
    collectgarbage("setpause", 200) end
  if stepmul and stepmul > 0 then collectgarbage("setstepmul", stepmul) else
    collectgarbage("setstepmul", 200) end
end

-- collectgarbage(mode, a, b) for mode "incremental" or "generational"; before 5.4 the
-- generational mode is an incremental collector that collects often, in large steps.
function G.mode(mode, a, b)
  if V54 then return collectgarbage(mode, a, b) end
  if mode == "generational" then return G.incremental(100, 1000) end
  return G.incremental(a, b)
end

return G

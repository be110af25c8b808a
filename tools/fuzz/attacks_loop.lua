-- Attack kinds on the module functions: the loop calls, timers, batch, watch and
-- onSignal, with junk and with callbacks that call back into the loop.
local V = require("fuzz.values")

local A = {}

-- A referenced timer that stops a dgram.run which would otherwise block for good.
local function guard(F)
  local t = F.dgram.setTimeout(20, function() error(F.BOOM) end)
  return function() pcall(F.dgram.clearTimeout, t) end
end

-- loop-fns: run with junk modes (a guard timer ends one that blocks), the clocks, the
-- backend calls, nextTick with junk (item 13), busy-poll settings; run inside a callback.
A["loop-fns"] = function(F)
  local dgram = F.dgram
  local r = math.random(1, 9)
  if r == 1 then
    local mode = V.any()
    if mode == nil or mode == "default" then mode = "nowait" end
    local unguard = guard(F)
    F:call("dgram.run", dgram.run, mode)
    unguard()
  elseif r == 2 then
    F:call("nextTick", dgram.nextTick, V.any(), V.any(), V.any())
  elseif r == 3 then
    F:call("nextTick(run)", dgram.nextTick, function()
      local ok, err = pcall(dgram.run, V.pick({ "nowait", "once", "default" }))
      if ok then
        F:violation("other", "dgram.run inside a callback did not raise", "")
      else
        F:check_error(err, "run inside a callback")
      end
    end)
  elseif r == 4 then
    F:call("setBusyPoll", dgram.setBusyPoll, V.any())
    F:call("getBusyPoll", dgram.getBusyPoll, V.any())
  elseif r == 5 then
    local ok, t = F:call("backendTimeout", dgram.backendTimeout, V.any())
    if ok and math.type(t) ~= "integer" then
      F:violation("other", "backendTimeout not an integer", t)
    end
  else
    local name = V.pick({ "backendFd", "alive", "now", "hrtime", "version" })
    local fn = dgram[name]
    if type(fn) == "function" then F:call("dgram." .. name, fn, V.any(), V.any()) end
  end
end

local timer_ctors = { "setTimeout", "setInterval", "setFixedInterval" }

-- timers: junk arguments, clears from inside callbacks, clears twice, methods with
-- junk receivers.
function A.timers(F)
  local dgram = F.dgram
  local ctor = V.pick(timer_ctors)
  local ms = V.chance(0.7) and math.random(0, 30) + (V.chance(0.2) and 0.5 or 0) or V.any()
  local t
  local fn = V.chance(0.85) and function(...)
    if t and V.chance(0.7) then F:call("clearInterval", dgram.clearInterval, t) end
    if V.chance(0.2) then F:call("clearTimeout", dgram.clearTimeout, V.any()) end
    return ...
  end or V.any()
  local ok, timer = F:call("dgram." .. ctor, dgram[ctor], ms, fn, V.any(), V.any())
  if not ok then return end
  t = timer
  F:keep_handle(F.keep, t, dgram.clearInterval)
  local r = math.random(1, 6)
  if r == 1 then
    F:call("clearTimeout", dgram.clearTimeout, t)
    F:call("clearTimeout again", dgram.clearTimeout, t)
  elseif r == 2 then
    F:call("timer:unref", t.unref, t)
  elseif r == 3 then
    F:call("timer:ref", t.ref, V.any())
  elseif r == 4 and t.missed then
    F:call("timer:missed", t.missed, V.chance(0.8) and t or V.any())
  elseif r == 5 then
    F:call("clearInterval(junk)", dgram.clearInterval, V.any())
  end
end

-- batch: fn that sends (tracked), nests batch, closes the socket, raises, calls run.
function A.batch(F)
  local dgram = F.dgram
  if V.chance(0.2) then
    F:call("dgram.batch", dgram.batch, V.any(), V.any())
    return
  end
  local s = F:any_socket()
  if not s then return end
  local host = F.family[s] == "udp6" and "::1" or "127.0.0.1"
  local function sends(n)
    for _ = 1, n do
      local id, cb = F:send_cb()
      F:sent(id, F:call("socket:send", s.send, s, V.bytes(64), F:port(), host, cb))
    end
  end
  F:call("dgram.batch", dgram.batch, function(x)
    sends(math.random(0, 6))
    local r = math.random(1, 6)
    if r == 1 then
      F:call("nested batch", dgram.batch, sends, math.random(1, 3))
    elseif r == 2 then
      F:call("socket:close", s.close, s)
      sends(1)
    elseif r == 3 then
      error(V.chance(0.5) and F.BOOM or "fuzz boom in batch")
    elseif r == 4 then
      local ok, err = pcall(dgram.run, "nowait")
      if not ok then F:check_error(err, "run inside batch") end
    end
    return x
  end, V.any())
end

-- watch: junk descriptors and event strings; stdout ("w", always ready) and the loop's
-- own backend descriptor; stop twice, stop inside the callback.
function A.watch(F)
  local dgram = F.dgram
  local fd, events
  local r = math.random()
  if r < 0.4 then
    fd, events = V.any(), V.any()
  elseif r < 0.7 then
    fd, events = 1, V.pick({ "w", "rw" })
  else
    fd, events = dgram.backendFd(), V.pick({ "r", "rw", "w" })
  end
  local w
  local ok, handle = F:call("dgram.watch", dgram.watch, fd, events, function(ev)
    if type(ev) ~= "string" then F:violation("other", "watch callback events not a string", ev) end
    if w then F:call("watcher:stop", w.stop, w) end
  end)
  if not ok then return end
  w = handle
  F:keep_handle(F.handles, w, w.stop)
  local m = V.pick({ "stop", "ref", "unref", "stop" })
  F:call("watcher:" .. m, w[m], V.chance(0.9) and w or V.any())
  if V.chance(0.3) then F:call("watcher:stop again", w.stop, w) end
end

local function self_pid()
  local f = io.open("/proc/self/stat")
  local pid = f and f:read("*n")
  if f then f:close() end
  return pid
end

-- signals: onSignal with junk, valid handles stopped once or twice; now and then a real
-- SIGHUP while a handle for it is active (never otherwise: it would end the process).
function A.signals(F)
  local dgram = F.dgram
  if V.chance(0.3) then
    F:call("onSignal", dgram.onSignal, V.any(), V.any())
    return
  end
  local name = V.pick({ "SIGINT", "SIGTERM", "SIGHUP" })
  local ok, h = F:call("onSignal", dgram.onSignal, name, function(got)
    if got ~= name then
      F:violation("other", "onSignal callback got another name", tostring(got))
    end
  end)
  if not ok then return end
  if name == "SIGHUP" and V.chance(0.05) then
    F.pid = F.pid or self_pid()
    if F.pid then os.execute("env -u LD_PRELOAD kill -HUP " .. F.pid) end
    F:pump("nowait")
  end
  F:call("signal:stop", h.stop, h)
  if V.chance(0.3) then F:call("signal:stop again", h.stop, V.chance(0.8) and h or V.any()) end
end

return A

-- Attack kinds on the flow of callbacks: closing inside one's own callbacks, hostile
-- `lookup` functions, the coroutine style, errors raised inside callbacks, and the
-- coroutine calls made where a coroutine cannot yield.
local V = require("fuzz.values")

local A = {}

local function loopback(F, s)
  return F.family[s] == "udp6" and "::1" or "127.0.0.1"
end

-- A tracked send from s to itself (or a live port); returns whether send returned.
local function send_tracked(F, s, msg, extra)
  local ok, a = pcall(s.address, s)
  local port = ok and a.port or F:port()
  local id, cb = F:send_cb(extra)
  local sent = F:call("socket:send", s.send, s, msg or "x", port, loopback(F, s), cb)
  F:sent(id, sent)
  return sent
end

-- close-reentry: a socket closed from inside its own callbacks and listeners.
A["close-reentry"] = function(F)
  local s = F:bound()
  if not s then return end
  local close = function() F:call("socket:close", s.close, s) end
  local r = math.random(1, 7)
  if r == 1 then
    s:on("message", function()
      close()
      send_tracked(F, s, "after close")
    end)
    send_tracked(F, s)
  elseif r == 2 then
    send_tracked(F, s, "x", function()
      close()
      send_tracked(F, s, "after close")
    end)
    send_tracked(F, s)
  elseif r == 3 then
    local u = F:socket(F.family[s])
    if not u then return end
    u:on("listening", function() F:call("socket:close", u.close, u) end)
    send_tracked(F, u)
    send_tracked(F, u)
  elseif r == 4 then
    F:call("socket:close", s.close, s, function()
      send_tracked(F, s, "from close cb")
      close()
    end)
    send_tracked(F, s, "after close")
  elseif r == 5 then
    do -- what `local t <close> = s` does, written so that every Lua loads the fuzzer
      local t = s
      send_tracked(F, t)
      send_tracked(F, t)
      debug.getmetatable(t).__close(t)
    end
    send_tracked(F, s)
  elseif r == 6 then
    s:on("close", close)
    send_tracked(F, s)
    close()
  else
    F:call("socket:unref", s.unref, s)
    send_tracked(F, s)
    close()
    F:call("socket:ref", s.ref, s)
  end
end

-- A lookup that misbehaves in one of several ways; `stash` keeps callbacks it sits on.
local function hostile_lookup(F, mode)
  local dgram = F.dgram
  return function(host, family, cb)
    local address = family == 6 and "::1" or "127.0.0.1"
    if mode == "never" then
      F.stash[#F.stash + 1] = cb
    elseif mode == "twice" then
      cb(nil, address, family)
      dgram.nextTick(function() cb(nil, address, family) end)
    elseif mode == "raise" then
      error(V.chance(0.5) and F.BOOM or "fuzz boom in lookup")
    elseif mode == "junk" then
      cb(V.any(), V.any(), V.any())
    elseif mode == "late" then
      dgram.setTimeout(math.random(0, 20), function() cb(nil, address, family) end)
    else -- "passthrough": whatever came in goes back, literal or not
      cb(nil, host, family)
    end
  end
end

local lookup_modes = { "twice", "raise", "passthrough" }

-- lookup: sends, binds and connects through a hostile lookup, then maybe a close.
-- lookup-pending: through one that never calls back or does so late, after a close that
-- must still have given every waiting send its callback (item 5).
local function lookup_attack(F, mode)
  local s = F:socket(nil, { lookup = hostile_lookup(F, mode) }, true)
  if not s then return end
  F.lookup_modes[mode] = (F.lookup_modes[mode] or 0) + 1
  F.note = "lookup " .. mode
  local host = V.chance(0.5) and "localhost" or V.address()
  for _ = 1, math.random(1, 3) do
    local r = math.random()
    if r < 0.7 then
      local id, cb = F:send_cb()
      F:sent(id, F:call("socket:send", s.send, s, "via lookup", F:port(), host, cb))
    elseif r < 0.85 then
      F:call("socket:bind", s.bind, s, 0, host)
    else
      F:call("socket:connect", s.connect, s, F:port(), host, function() end)
    end
  end
  if V.chance(0.5) then F:call("socket:close", s.close, s) end
end

A.lookup = function(F) lookup_attack(F, V.pick(lookup_modes)) end
A["lookup-pending"] = function(F) lookup_attack(F, V.pick({ "never", "late" })) end
-- lookup-junk: a lookup answering cb(junk, junk, junk); the send's err is then the junk
A["lookup-junk"] = function(F) lookup_attack(F, "junk") end

-- Spawns fn as a coroutine the engine waits for at the end.
local function spawn(F, fn, note)
  local ok, co = F:call("dgram.spawn", F.dgram.spawn, fn)
  if ok then
    F.coros[co] = F.kind
    F.coro_notes[co] = note
  end
end

-- dgram.sleep(ms) must not return much earlier than asked (a stale waiter would).
local function checked_sleep(F)
  local dgram = F.dgram
  local ms = math.random(150, 250)
  local t0 = dgram.now()
  dgram.sleep(ms)
  local took = dgram.now() - t0
  if took < ms / 2 then
    F:violation("stale-waiter", "sleep returned early (a stale waiter resumed it)",
      ("sleep(%d) returned after %.1f ms"):format(ms, took))
  end
end

local function check_recv(F, msg, info)
  if msg == nil then
    if type(info) ~= "table" or type(info.code) ~= "string" then
      F:violation("error-object", "recv failed without an error object", tostring(info))
    end
  elseif type(msg) ~= "string" or type(info) ~= "table" then
    F:violation("other", "recv returned something else than msg, rinfo",
      type(msg) .. ", " .. type(info))
  end
end

-- coroutines: recv (with and without timeout), sendAsync and sleep in spawned
-- coroutines, on open and closing sockets.
function A.coroutines(F)
  local s = F:any_socket()
  if not s then return end
  local r = math.random(1, 3)
  spawn(F, function()
    if r == 1 then
      check_recv(F, s:recv(V.chance(0.8) and math.random(0, 30) or nil))
    elseif r == 2 then
      local bytes, err = s:sendAsync("async", F:port(), V.chance(0.8) and loopback(F, s) or
        V.address())
      if bytes == nil and (type(err) ~= "table" or type(err.code) ~= "string") then
        F:violation("error-object", "sendAsync failed without an error object", tostring(err))
      end
    else
      checked_sleep(F)
    end
  end, ({ "recv", "sendAsync", "sleep" })[r])
  if V.chance(0.2) then send_tracked(F, s) end
  if V.chance(0.1) then F:call("socket:close", s.close, s) end
end

-- sleep-junk: dgram.sleep with junk raises an error object or sleeps (not long: the
-- coroutine has to end with the run).
A["sleep-junk"] = function(F)
  local ms = V.any()
  local n = tonumber(ms)
  if n and (n > 50 or n ~= n) then ms = 5 end
  spawn(F, function() F.dgram.sleep(ms) end, "sleep(" .. F:describe(ms) .. ")")
end

-- callback-errors: errors raised inside message handlers, send callbacks, listeners,
-- timers and ticks come out of dgram.run as they were raised.
A["callback-errors"] = function(F)
  local dgram = F.dgram
  local boom = V.chance(0.5) and F.BOOM or "fuzz boom in a callback"
  local raise = function() error(boom) end
  local r = math.random(1, 5)
  if r == 1 then
    local s = F:bound()
    if not s then return end
    s:on("message", raise)
    send_tracked(F, s)
  elseif r == 2 then
    local s = F:bound()
    if s then send_tracked(F, s, "x", raise) end
  elseif r == 3 then
    local s = F:socket()
    if not s then return end
    s:on("listening", raise)
    F:call("socket:bind", s.bind, s, 0)
  elseif r == 4 then
    F:call("setTimeout", dgram.setTimeout, math.random(0, 3), raise)
  else
    F:call("nextTick", dgram.nextTick, raise)
  end
end

-- nonyield (item 6): recv, sendAsync and sleep where the coroutine cannot yield (a
-- table.sort comparator, a finalizer) must raise an error object at once and leave no
-- waiter behind; the coroutine's next sleep must take its time.
function A.nonyield(F)
  local s = F:bound()
  if not s then return end
  local dgram = F.dgram
  local ops = {
    function() return s:recv(math.random(1, 20)) end,
    function() return s:sendAsync("x", F:port(), loopback(F, s)) end,
    function() return dgram.sleep(math.random(1, 20)) end,
  }
  local op = V.pick(ops)
  spawn(F, function()
    if V.chance(0.6) then
      F:call("coroutine call in a sort comparator", table.sort, { 3, 1, 2 }, function(a, b)
        op()
        return a < b
      end)
    else
      V.finalized({}, { __gc = function() pcall(op) end })
      collectgarbage()
    end
    if V.chance(0.3) then send_tracked(F, s) end
    checked_sleep(F)
  end)
end

return A

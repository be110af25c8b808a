-- Attack kinds that run Lua inside the module's own calls: metamethods of arguments that
-- close, send to or bind the socket being called (items 2), finalizers that use the
-- module during calls (item 1) and at state close (item 3), and a nearly full Lua stack
-- (item 7).
local V = require("fuzz.values")

local A = {}

local function loopback(F, s)
  return F.family[s] == "udp6" and "::1" or "127.0.0.1"
end

-- What a metamethod or finalizer does to the socket `s`.
local actions = {
  close = function(_, s) pcall(s.close, s) end,
  send = function(F, s)
    local id, cb = F:send_cb()
    F:sent(id, (pcall(s.send, s, "from a metamethod", F:port(), loopback(F, s), cb)))
  end,
  bind = function(_, s) pcall(s.bind, s, 0) end,
  connect = function(F, s) pcall(s.connect, s, F:port(), loopback(F, s)) end,
  gc = function() collectgarbage() end,
  run = function(F) -- inside a callback it must raise; elsewhere it may run
    local ok, err = pcall(F.dgram.run, "nowait")
    if not ok then F:check_error(err, "run in a finalizer") end
  end,
}

-- A table whose every metamethod runs `act` (once, or every time) and then answers like
-- a plausible value: options get a port/address, arrays get strings, text gets text.
local function hostile(F, s, act, every)
  local done = false
  local function run()
    if every or not done then
      done = true
      act(F, s)
    end
  end
  local answers = { port = 0, address = loopback(F, s), exclusive = false, type = "udp4",
    lookup = function(...) return F:lookup(...) end }
  return setmetatable({}, {
    __index = function(_, k)
      run()
      if type(k) == "number" then return k <= 3 and "part" .. k or nil end
      return answers[k]
    end,
    __len = function() run() return 3 end,
    __tostring = function() run() return "hostile" end,
    __eq = function() run() return false end,
    __lt = function() run() return false end,
    __concat = function() run() return "hostile" end,
    __call = function() run() end,
    __name = "hostile",
  })
end

-- Calls a method of s with the hostile value in one argument position.
local function attack_with(F, act_name)
  local s = F:any_socket()
  if not s then return end
  local h = hostile(F, s, actions[act_name], V.chance(0.3))
  local r = math.random(1, 9)
  if r == 1 then
    F:call("bind(hostile options)", s.bind, s, h)
  elseif r == 2 then
    F:call("bind(port, hostile)", s.bind, s, 0, h)
  elseif r == 3 then
    local id, cb = F:send_cb()
    F:sent(id, F:call("send(hostile msg)", s.send, s, h, F:port(), loopback(F, s), cb))
  elseif r == 4 then
    local id, cb = F:send_cb()
    F:sent(id, F:call("send(msg, hostile port)", s.send, s, "x", h, loopback(F, s), cb))
  elseif r == 5 then
    local id, cb = F:send_cb()
    F:sent(id, F:call("send(msg, port, hostile)", s.send, s, "x", F:port(), h, cb))
  elseif r == 6 then
    F:call("createSocket(hostile)", F.dgram.createSocket, h)
  elseif r == 7 then
    F:call("createSocket(blocklist)", F.dgram.createSocket,
      { type = "udp4", lookup = function(...) return F:lookup(...) end, receiveBlockList = h })
  elseif r == 8 then
    F:call("connect(hostile)", s.connect, s, h, loopback(F, s))
  else
    local m = V.pick({ "setTTL", "setMulticastTTL", "setBroadcast", "setMulticastInterface",
      "addMembership", "setRecvBufferSize", "on", "close", "emit" })
    F:call("socket:" .. m .. "(hostile)", s[m], s, h, h)
  end
end

A["meta-close"] = function(F) attack_with(F, "close") end
A["meta-send"] = function(F) attack_with(F, V.chance(0.5) and "send" or "connect") end
A["meta-bind"] = function(F) attack_with(F, "bind") end
A["meta-gc"] = function(F) attack_with(F, "gc") end

-- The incremental collector's pause and step multiplier (Lua 5.4's call, or the older one).
local function incremental(pause, stepmul)
  if _VERSION == "Lua 5.4" then return collectgarbage("incremental", pause, stepmul) end
  collectgarbage("setpause", pause)
  collectgarbage("setstepmul", stepmul)
end

-- Makes finalizers run as often as possible: every allocation does collection work.
local function with_eager_gc(fn)
  incremental(1, 1000)
  local ok, err = pcall(fn)
  incremental(200, _VERSION == "Lua 5.4" and 100 or 200) -- the defaults
  if not ok then error(err, 0) end
end

-- Garbage wrappers around s whose finalizers do `act`, then calls on s that allocate.
local function finalizer_attack(F, act_name)
  local s
  if V.chance(0.7) then -- a fresh socket: its first close is the one to hit
    s = V.chance(0.5) and F:bound() or F:socket()
  else
    s = F:any_socket()
  end
  if not s then return end
  local act = actions[act_name]
  with_eager_gc(function()
    for _ = 1, math.random(1, 8) do
      V.finalized({ sock = s }, { __gc = function(o) act(F, o.sock) end })
    end
    for i = 1, math.random(1, 4) do
      local r = i == 1 and V.chance(0.5) and 1 or math.random(1, 4)
      if r == 1 then
        F:call("socket:close", s.close, s)
      elseif r == 2 then
        local id, cb = F:send_cb()
        F:sent(id, F:call("socket:send", s.send, s, V.bytes(200), F:port(), loopback(F, s), cb))
      elseif r == 3 then
        F:call("socket:bind", s.bind, s, { port = 0, address = loopback(F, s) })
      else
        F:call("socket:connect", s.connect, s, F:port(), loopback(F, s))
      end
    end
  end)
end

A["gc-close"] = function(F) finalizer_attack(F, "close") end
A["gc-use"] = function(F) finalizer_attack(F, V.pick({ "send", "bind", "connect" })) end
A["gc-run"] = function(F) finalizer_attack(F, "run") end

-- gc-exit (item 3): objects whose finalizers use the module when the Lua state closes
-- (they are kept to the end; the fuzzer's command line also makes some before
-- require("dgram")). A crash there happens after the report, at exit.
A["gc-exit"] = function(F)
  local dgram = F.dgram
  local s = F:any_socket()
  F.at_exit[#F.at_exit + 1] = V.finalized({ sock = s }, { __gc = function(o)
    if o.sock then pcall(o.sock.send, o.sock, "at exit", 9, "127.0.0.1", function() end) end
    pcall(dgram.setTimeout, 1, function() end)
    local ok, t = pcall(dgram.createSocket, "udp4")
    if ok then pcall(t.bind, t, 0) end
    pcall(dgram.run, "nowait")
  end })
  F.calls = F.calls + 1
end

-- Calls fn with only `room` free slots left on the Lua stack (a vararg frame holds the
-- rest); returns pcall's results.
local big
local function with_room(room, fn)
  if not big then
    big = {}
    for i = 1, 1000000 do big[i] = false end
  end
  -- `...` stays where it is, unread; not a tail call, which would drop it
  local frame = function(...) -- luacheck: ignore 212
    local a, b = fn()
    return a, b
  end
  return pcall(function() return frame(table.unpack(big, 1, 1000000 - room)) end)
end

-- deep-stack (item 7): dgram.run and socket calls with the Lua stack nearly full: each
-- works or raises an error (Lua's own "stack overflow" is counted apart), and no
-- callback is lost for it (the engine counts the send callbacks at the end).
A["deep-stack"] = function(F)
  local s = F:bound()
  if not s then return end
  local dgram = F.dgram
  local id, cb = F:send_cb()
  F:sent(id, F:call("socket:send", s.send, s, "deep", F:port(), loopback(F, s), cb))
  local bound, a = pcall(s.address, s)
  if not bound then return end
  local ran, port = false, a.port
  -- a send to itself, then a round at a nearly full stack: its callback is due then
  local sent = pcall(s.send, s, "deep", port, loopback(F, s), function() ran = true end)
  local run3 = function()
    return dgram.run("nowait")
  end
  local calls = {
    run3,
    function() return dgram.run("nowait") end,
    function() return s:send("deep", F:port(), loopback(F, s)) end,
    function() return s:close() end,
    function() return dgram.createSocket("udp4") end,
    function() return s:address() end,
  }
  local fn = V.chance(0.5) and run3 or V.pick(calls)
  local room = math.random(35, 300)
  local ok, err
  if V.chance(0.5) then -- a fresh thread: its stack has never been grown
    local co = coroutine.create(function() return with_room(room, fn) end)
    local resumed, r1, r2 = coroutine.resume(co)
    ok, err = resumed and r1, resumed and r2 or r1
  else
    ok, err = with_room(room, fn)
  end
  F.calls = F.calls + 1
  if ok then
    F.ok = F.ok + 1
    if fn == run3 and sent and not ran then
      F:violation("full-stack", "dgram.run skipped the callbacks at a nearly full stack", "")
    end
  elseif tostring(err):find("too many results", 1, true) then
    F.lua_limits = F.lua_limits + 1
  else
    local code = F:check_error(err, "at a nearly full stack")
    F.errors[code] = (F.errors[code] or 0) + 1
  end
end

return A

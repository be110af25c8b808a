-- Attack kinds on the socket methods: junk arguments, sends of every shape, address-like
-- strings, block lists, the other family, options, stats and the EventEmitter methods.
-- Each kind is a function(F) making a few calls through F:call (see engine.lua).
local V = require("fuzz.values")

local A = {}

-- Public methods (no leading underscore), sorted so that a seed replays the same calls.
local function method_names(Socket)
  local names = {}
  for name, fn in pairs(Socket) do
    if type(fn) == "function" and not name:find("^_") then names[#names + 1] = name end
  end
  table.sort(names)
  return names
end

local destinations = {
  "127.0.0.1", "::1", "localhost", "224.0.0.1", "239.255.0.1", "255.255.255.255",
  "127.255.255.255", "ff02::1", "::ffff:127.0.0.1", "0.0.0.0", "::", "fe80::1%lo",
}

local function message()
  local r = math.random()
  if r < 0.6 then return V.string() end
  if r < 0.8 then return { V.string(), V.bytes(8), "" } end
  if r < 0.9 then return {} end
  local parts = {}
  for i = 1, math.random(1, 2000) do parts[i] = V.bytes(2) end
  return parts
end

-- socket-junk: any public method with 0..4 hostile arguments.
local names
A["socket-junk"] = function(F)
  names = names or method_names(F.dgram.Socket)
  local s = F:any_socket()
  if not s then return end
  local name = V.pick(names)
  local args = V.args(math.random(0, 4), function() return V.chance(0.5) and s or F:port() end)
  F:call("socket:" .. name, s[name], s, table.unpack(args, 1, args.n))
end

-- send: mostly well formed, to live ports, loopback, multicast and broadcast; a tracked
-- callback most of the time, slices and arrays sometimes.
function A.send(F)
  local s = F:any_socket()
  if not s then return end
  local msg = message()
  local args = { msg }
  if type(msg) == "string" and V.chance(0.2) then
    args[#args + 1] = math.random(-2, #msg + 2)
    args[#args + 1] = math.random(-2, #msg + 2)
  end
  if V.chance(0.85) then args[#args + 1] = F:port() end
  if V.chance(0.8) then args[#args + 1] = V.pick(destinations) end
  local id
  if V.chance(0.8) then
    local cb
    id, cb = F:send_cb()
    args[#args + 1] = cb
  end
  local ok = F:call("socket:send", s.send, s, table.unpack(args))
  if id then F:sent(id, ok) end
end

-- address-strings: address-like text to send, connect and bind. Nothing with a "\0"
-- may ever be accepted (item 10: the bytes before the NUL would be used).
A["address-strings"] = function(F)
  local s = F:any_socket()
  if not s then return end
  local addr = V.address()
  local has_nul = addr:find("\0", 1, true) ~= nil
  local op = math.random(1, 6)
  if op <= 3 then
    local id, cb = F:send_cb(function(err)
      if err == nil and has_nul then
        F:violation("nul-address", "send to an address with NUL succeeded", addr)
      end
    end)
    F:sent(id, F:call("socket:send", s.send, s, "a", F:port(), addr, cb))
  elseif op == 4 then
    F:call("socket:connect", s.connect, s, F:port(), addr, function(err)
      if err == nil and has_nul then
        F:violation("nul-address", "connect to an address with NUL", addr)
      end
    end)
  elseif op == 5 then
    F:call("socket:bind", s.bind, s, 0, addr, function()
      if has_nul then F:violation("nul-address", "bind to an address with NUL", addr) end
    end)
  else
    local m = V.pick({ "addMembership", "dropMembership", "setMulticastInterface",
      "addSourceSpecificMembership", "dropSourceSpecificMembership" })
    F:call("socket:" .. m, s[m], s, addr, V.chance(0.5) and V.address() or nil, V.address())
  end
end

-- blocklist: junk entries must be refused with ERR_INVALID_ARG_VALUE (a NUL inside one
-- may not be cut); a mapped entry must block the plain IPv4 address (item 8).
function A.blocklist(F)
  if V.chance(0.25) then
    local s = F:socket("udp4", { sendBlockList = { V.pick({ "::ffff:127.0.0.1",
      "::ffff:127.0.0.0/104" }) } })
    if not s then return end
    local id, cb = F:send_cb(function(err)
      -- only a send that left is a pass-through (another attack may have closed the
      -- socket meanwhile, a udp6 socket with ipv6Only refuses IPv4 with EINVAL)
      if not err then
        F:violation("mapped-blocklist", "a mapped block entry let a send to 127.0.0.1 through",
          "sent")
      end
    end)
    F:sent(id, F:call("socket:send", s.send, s, "blocked?", 9, "127.0.0.1", cb))
    return
  end
  local list, nul = {}, false
  for i = 1, math.random(0, 6) do list[i] = V.chance(0.8) and V.address() or V.any() end
  for _, entry in ipairs(list) do -- (an array ends at its first nil, as the core reads it)
    if type(entry) == "string" and entry:find("\0", 1, true) then nul = true end
  end
  local key = V.pick({ "receiveBlockList", "sendBlockList" })
  local value = V.chance(0.9) and list or V.any()
  local s = F:socket(nil, { [key] = value })
  if s and nul and value == list then
    F:violation("nul-address", "a block list entry with NUL was accepted", key)
  end
  if s then
    local id, cb = F:send_cb()
    F:sent(id, F:call("socket:send", s.send, s, "x", F:port(), V.pick(destinations), cb))
  end
end

-- connected-port0: a connected socket's send with port 0 (or -0.0) and a callback must
-- raise or call back once; today it does neither (found by this fuzzer).
A["connected-port0"] = function(F)
  local s = F:bound()
  if not s then return end
  local ok, a = pcall(s.address, s)
  if not ok then return end
  local host = F.family[s] == "udp6" and "::1" or "127.0.0.1"
  if not F:call("socket:connect", s.connect, s, a.port, host) then return end
  if V.chance(0.5) then F:pump("nowait") end
  local id, cb = F:send_cb()
  local port = V.pick({ 0, -0.0, "0" })
  if V.chance(0.5) then
    F:sent(id, F:call("socket:send", s.send, s, "p0", port, cb))
  else
    F:sent(id, F:call("socket:send", s.send, s, "p0", port, V.address(), cb))
  end
end

-- family-mix: a destination of the other family fails with EINVAL; the error must carry
-- the destination (item 14), which the engine checks on every send callback.
A["family-mix"] = function(F)
  local kind = V.chance(0.5) and "udp4" or "udp6"
  local s = F:socket(kind)
  if not s then return end
  local dest = kind == "udp4" and V.pick({ "::1", "ff02::1", "::" }) or
    V.pick({ "127.0.0.1", "224.0.0.1", "255.255.255.255" })
  local id, cb = F:send_cb()
  F:sent(id, F:call("socket:send", s.send, s, "other family", F:port(), dest, cb))
end

local option_keys = { "type", "reuseAddr", "ipv6Only", "recvBufferSize", "sendBufferSize",
  "lookup", "reusePort", "receiveBlockList", "sendBlockList", "recvQueueSize" }

-- options: createSocket with junk options and junk string forms.
function A.options(F)
  local dgram = F.dgram
  if V.chance(0.3) then
    local ok, s = F:call("createSocket", dgram.createSocket, V.any(), V.any())
    if ok and type(s) == "userdata" then F:track(s) end
    return
  end
  local o = { type = V.chance(0.8) and V.pick({ "udp4", "udp6" }) or V.any() }
  for _ = 1, math.random(0, 4) do o[V.pick(option_keys)] = V.any() end
  if o.lookup == nil or V.chance(0.7) then o.lookup = function(...) return F:lookup(...) end end
  local ok, s = F:call("createSocket", dgram.createSocket, o, V.any())
  if ok and type(s) == "userdata" then
    s:on("error", function() end)
    F:track(s)
    F:call("socket:bind", s.bind, s, V.chance(0.5) and 0 or V.port(), nil)
  end
end

-- stats: the counters and queue sizes, on open and closed sockets.
function A.stats(F)
  local s = F:any_socket()
  if not s then return end
  local m = V.pick({ "stats", "recvDropped", "getSendQueueCount", "getSendQueueSize",
    "getRecvBufferSize", "getSendBufferSize", "address", "remoteAddress" })
  local ok, r = F:call("socket:" .. m, s[m], s)
  if ok and m == "stats" then
    for _, k in ipairs({ "received", "sent", "sendErrors", "queueDrops" }) do
      if math.type(r[k]) ~= "integer" then F:violation("other", "stats field not an integer", k) end
    end
  end
end

local emitter_methods = { "on", "once", "off", "addListener", "removeListener",
  "removeAllListeners", "emit", "listeners", "rawListeners", "listenerCount", "eventNames",
  "prependListener", "prependOnceListener" }
local events = { "message", "error", "close", "listening", "connect", "newListener",
  "removeListener", "x" }

-- emitter: EventEmitter methods with junk, on sockets, on plain emitters, and on things
-- that are not emitters (every error must be an error object: item 13).
function A.emitter(F)
  local EE = F.dgram.EventEmitter
  local m = V.pick(emitter_methods)
  local r = math.random()
  local target
  if r < 0.5 then
    target = F:any_socket()
  elseif r < 0.7 then
    target = EE.new()
  else
    target = V.any()
  end
  if target == nil then return end
  local name = V.chance(0.8) and V.pick(events) or V.any()
  local fn = V.chance(0.8) and function() end or V.any()
  if m == "emit" and name == "error" and V.chance(0.5) then
    local err = F.dgram.core.error("EFUZZ", "fuzz emit")
    F:call("EventEmitter.emit(error)", EE.emit, target, name, err)
    return
  end
  if m == "emit" and (name == "message" or name == "close") then name = "x" end
  F:call("EventEmitter." .. m, EE[m], target, name, fn)
end

return A

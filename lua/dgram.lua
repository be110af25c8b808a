-- dgram: Node.js's dgram UDP sockets for Lua (5.1 to 5.4, LuaJIT).
--
-- The socket a script holds is the C core's userdata; this wrapper adds the
-- EventEmitter methods to its metatable and the callback forms of bind, close and
-- connect. `send` and every option setter are the core's own C functions.

local core = require("dgram.core")
local EventEmitter = require("dgram.emitter")
local coro = require("dgram.coro")

local dgram = {
  EventEmitter = EventEmitter,
  core = core,
  run = core.run,
  backendFd = core.backendFd,
  backendTimeout = core.backendTimeout,
  setTimeout = core.setTimeout,
  setInterval = core.setInterval,
  clearTimeout = core.clearTimeout,
  clearInterval = core.clearInterval,
  version = core.version,
  features = core.features,
  nextTick = core.nextTick,
  setFixedInterval = core.setFixedInterval,
  alive = core.alive,
  now = core.now,
  hrtime = core.hrtime,
  batch = core.batch,
  watch = core.watch,
  onSignal = core.onSignal,
  setBusyPoll = core.setBusyPoll,
  getBusyPoll = core.getBusyPoll,
  spawn = coro.spawn,
  sleep = coro.sleep,
}

local Socket = core.Socket
dgram.Socket = Socket

local function raise(code, message)
  error(core.error(code, message), 3)
end

for name, fn in pairs(EventEmitter) do
  if type(fn) == "function" and name ~= "new" and name:sub(1, 1) ~= "_" then Socket[name] = fn end
end

-- The core calls one function per event: the listener itself when there is exactly one
-- (no Lua loop on the receive path), else a dispatcher that emits to all of them.
local core_events = { message = true, listening = true, close = true, error = true, connect = true }
local private = core._private

-- A socket's listeners: kept by the core alone while each core event has at most one
-- (most sockets: a 'message' listener, a bind callback); the EventEmitter's table is made
-- from the core's handlers when another call needs it, and kept here from then on.
local listener_tables = setmetatable({}, { __mode = "k" })

EventEmitter._setBackend({
  events = function(object)
    local events = listener_tables[object]
    if events or getmetatable(object) ~= "dgram.socket" then return events end
    events = private.handlers(object)
    listener_tables[object] = events
    return events
  end,
  changed = function(socket, name, entry)
    if not core_events[name] then return end
    local handler = entry
    if type(entry) == "table" then
      local emit = EventEmitter.emit
      handler = function(...) return emit(socket, name, ...) end
    end
    private.setHandler(socket, name, handler)
  end,
})

local emitter_on, firsthandler = EventEmitter.on, private.firsthandler
function Socket:on(name, fn)
  if firsthandler(self, name, fn) then return self end
  return emitter_on(self, name, fn)
end
Socket.addListener = Socket.on

-- A one-time listener (a bind or close callback) goes to the core alone in the same way:
-- the core drops it before it runs, so it leaves nothing behind, not even a wrapper. Made
-- into the EventEmitter's once-wrapper if a listener table is made while it waits.
local emitter_once = EventEmitter.once
function Socket:once(name, fn)
  if firsthandler(self, name, fn, true) then return self end
  return emitter_once(self, name, fn)
end
private.setOnceWrapper(EventEmitter._oncewrapper)

-- bind([port][, address][, cb]) / bind(options[, cb]): cb is a one-time 'listening'
-- listener, added once the arguments have been accepted.
local core_bind = Socket.bind
function Socket:bind(a, b, c)
  local cb
  if type(c) == "function" then
    cb, c = c, nil
  elseif type(b) == "function" and c == nil then
    cb, b = b, nil
  elseif type(a) == "function" and b == nil and c == nil then
    cb, a = a, nil
  end
  core_bind(self, a, b, c)
  if cb then self:once("listening", cb) end
  return self
end

local core_close = Socket.close
function Socket:close(cb)
  if cb ~= nil and type(cb) ~= "function" then
    raise("ERR_INVALID_ARG_TYPE",
      ('The "callback" argument must be of type function. Received type %s'):format(type(cb)))
  end
  core_close(self)
  if cb then self:once("close", cb) end
  return self
end

-- connect(port[, address][, cb]): cb is a one-time 'connect' listener that also gets a
-- failure (instead of 'error'), as in Node.
local core_connect = Socket.connect
function Socket:connect(port, address, cb)
  if type(address) == "function" then address, cb = nil, address end
  local onerror = cb and function(err)
    self:removeListener("connect", cb)
    cb(err)
  end
  core_connect(self, port, address, onerror)
  if cb then self:once("connect", cb) end
  return self
end

-- stats(): the core's counters, and the datagrams the coroutine queue dropped.
local core_stats = Socket.stats
function Socket:stats()
  local t = core_stats(self)
  t.queueDrops = coro.recvDropped(self)
  return t
end

Socket.recv = coro.recv
Socket.recvDropped = coro.recvDropped
Socket.sendAsync = coro.sendAsync

function dgram.createSocket(options, cb)
  local socket = core.createSocket(options) -- a bad type is the first error, as in Node
  -- A bad queue option drops the socket (unbound, it is collected).
  local queue_limits = coro.checkQueueLimits(options)
  if queue_limits then coro.setQueueLimits(socket, queue_limits) end
  if type(cb) == "function" then socket:on("message", cb) end
  return socket
end

return dgram

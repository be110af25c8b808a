-- The coroutine style: dgram.spawn, socket:recv, socket:sendAsync, dgram.sleep.
--
-- A spawned coroutine yields inside recv/sendAsync/sleep and is resumed by the loop. Once
-- recv or sendAsync has been called on a socket (so that the answer to a request is never
-- lost before its recv), its datagrams are also kept in a queue so that none is lost
-- between two recv calls. The queue is bounded in datagrams (`recvQueueSize`, default
-- 1024) and in bytes (`recvQueueBytes`, default 4 MiB); a datagram that would go past
-- either bound is dropped (as a full kernel buffer would drop it) and counted by
-- socket:recvDropped() and socket:stats().queueDrops.
--
-- Wait tokens: a coroutine waits for one thing at a time, and `armed[co]` is the token of
-- that wait. A wake-up (a datagram, a timer, a send callback, a close) carries the token
-- of the wait it was made for and resumes nothing when the wait is over: ended by the
-- script resuming the coroutine by hand, or by coroutine.close. Waiting calls made where
-- the coroutine cannot yield raise before anything is armed.

local core = require("dgram.core")

local M = {}

local DEFAULT_QUEUE = 1024
local DEFAULT_QUEUE_BYTES = 4 * 1024 * 1024

local socket_closed = core._private.closed -- checks that it is given a socket
local set_tap = core._private.setTap

local armed = setmetatable({}, { __mode = "k" })

-- Lua 5.1 and LuaJIT lack table.pack, table.unpack and math.tointeger (5.2, 5.3); 5.1's
-- coroutine.running gives nil in the main thread and it has no coroutine.isyieldable:
-- there a coroutine cannot yield through a C call, so a waiting call made inside one
-- raises "attempt to yield across" instead of ERR_INVALID_STATE (docs/API.md, "Lua
-- versions").
-- (`make lint` checks lua/ against what every Lua has: luacheck's std "min".)
local unpack = table.unpack or unpack -- luacheck: ignore 113 143
-- luacheck: push ignore 143
local pack = table.pack or function(...) return { n = select("#", ...), ... } end
-- luacheck: pop
local tointeger = math.tointeger or function(n) -- luacheck: ignore 143
  if n == math.floor(n) and n > -2 ^ 53 and n < 2 ^ 53 then return n end
end
local isyieldable = coroutine.isyieldable or function() return true end -- luacheck: ignore 143
local function running()
  local co, main = coroutine.running()
  return co, main or co == nil
end

-- Resumes co; an error inside it leaves dgram.run() with the coroutine's traceback.
local function resume(co, ...)
  local ok, err = coroutine.resume(co, ...)
  if not ok then
    if type(err) == "string" then err = debug.traceback(co, err) end
    error(err, 0)
  end
end

-- Resumes co if it is still in the wait that `token` armed; returns whether it did.
local function wake(co, token, ...)
  if armed[co] ~= token then return false end
  armed[co] = nil
  if coroutine.status(co) ~= "suspended" then return false end -- closed meanwhile
  resume(co, ...)
  return true
end

-- What the yield of a wait returns. If the wait is still armed, the coroutine was resumed
-- by someone else: the wait is given up, and its timer with it.
local function settle(co, token, ...)
  if armed[co] == token then
    armed[co] = nil
    if token.timer then core.clearTimeout(token.timer) end
  end
  return ...
end

-- Arms the wait `token` for co and yields until it is woken (or given up).
local function await(co, token)
  armed[co] = token
  return settle(co, token, coroutine.yield())
end

-- The running coroutine, if a waiting call made now could yield to the loop.
local function current(what)
  local co, main = running()
  if main then
    error(core.error("ERR_INVALID_STATE", what .. " must be called inside a coroutine "
      .. "(see dgram.spawn)"), 3)
  end
  if not isyieldable() then
    error(core.error("ERR_INVALID_STATE", what .. " cannot wait here: the coroutine "
      .. "cannot yield (inside a metamethod such as __gc, a function called by C such as "
      .. "a table.sort comparator, or a dgram callback); call it from the coroutine's own "
      .. "code"), 3)
  end
  return co
end

function M.spawn(fn, ...)
  if type(fn) ~= "function" then
    error(core.error("ERR_INVALID_ARG_TYPE",
      'The "fn" argument must be of type function. Received ' .. type(fn)), 2)
  end
  -- The start is a wait too: a coroutine the script starts by hand before the loop does
  -- is not started (resumed) a second time.
  local token, co = {}, nil
  co = coroutine.create(function(...)
    if armed[co] == token then armed[co] = nil end
    return fn(...)
  end)
  armed[co] = token
  local args = pack(...)
  core.nextTick(function() wake(co, token, unpack(args, 1, args.n)) end)
  return co
end

function M.sleep(ms)
  if ms ~= nil and type(ms) ~= "number" then -- (a function would be Node's setTimeout(fn, ms))
    error(core.error("ERR_INVALID_ARG_TYPE",
      ('The "ms" argument must be of type number. Received type %s'):format(type(ms))), 2)
  end
  local co = current("dgram.sleep")
  local token = {}
  token.timer = core.setTimeout(ms, function() wake(co, token) end)
  await(co, token)
end

-- Per-socket receive state, created by the first recv: a ring of {msg, rinfo} and the
-- waits of the coroutines waiting, oldest first.
local states = setmetatable({}, { __mode = "k" })
local limits = setmetatable({}, { __mode = "k" }) -- socket -> { count, bytes }

-- An option of createSocket that must be an integer >= 1; nil when absent.
local function check_limit(options, name)
  local n = options[name]
  if n == nil then return nil end
  if type(n) ~= "number" then
    error(core.error("ERR_INVALID_ARG_TYPE",
      ('The "options.%s" property must be of type number. Received %s'):format(name,
        type(n))), 4)
  end
  local limit = tointeger(n)
  if not limit or limit < 1 then
    error(core.error("ERR_OUT_OF_RANGE",
      ('The value of "options.%s" is out of range. It must be an integer >= 1. '
        .. "Received %s"):format(name, tostring(n))), 4)
  end
  return limit
end

-- The recvQueueSize and recvQueueBytes options of createSocket: checks them and returns
-- what setQueueLimits needs, or nil for the defaults.
function M.checkQueueLimits(options)
  if type(options) ~= "table" then return nil end
  local count = check_limit(options, "recvQueueSize")
  local bytes = check_limit(options, "recvQueueBytes")
  if not count and not bytes then return nil end
  return { count = count or DEFAULT_QUEUE, bytes = bytes or DEFAULT_QUEUE_BYTES }
end

function M.setQueueLimits(socket, checked)
  limits[socket] = checked
end

local function not_running()
  return core.error("ERR_SOCKET_DGRAM_NOT_RUNNING", "Not running")
end

-- Queues a datagram nobody waits for, or drops it when it would go past a bound.
local function enqueue(st, msg, rinfo)
  local size = #msg
  if st.tail - st.head + 1 >= st.limit or st.bytes + size > st.byte_limit then
    st.dropped = st.dropped + 1
    return
  end
  st.tail = st.tail + 1
  st.queue[st.tail] = { msg, rinfo }
  st.bytes = st.bytes + size
end

local function dequeue(st)
  local item = st.queue[st.head]
  st.queue[st.head] = nil
  st.head = st.head + 1
  st.bytes = st.bytes - #item[1]
  return item[1], item[2]
end

-- A datagram: the oldest wait still armed gets it (waits given up are skipped), else the
-- queue.
local function on_message(st, msg, rinfo)
  while st.waiters[1] do
    local waiter = table.remove(st.waiters, 1)
    if waiter.timer then core.clearTimeout(waiter.timer) end
    if wake(waiter.co, waiter, msg, rinfo) then return end
  end
  enqueue(st, msg, rinfo)
end

-- The close: every wait ends with NOT_RUNNING, one loop callback each, so that an error in
-- one coroutine strands no other.
local function on_close(st)
  local waiters = st.waiters
  st.waiters = {}
  for _, w in ipairs(waiters) do
    if w.timer then core.clearTimeout(w.timer) end
    core.nextTick(function() wake(w.co, w, nil, not_running()) end)
  end
end

-- The receive state hears of datagrams and of the close through the socket's tap, not
-- through listeners: removeAllListeners() leaves a waiting recv waiting for them.
local function receive_state(socket)
  local st = states[socket]
  if st then return st end
  local limit = limits[socket]
  st = { queue = {}, head = 1, tail = 0, bytes = 0, waiters = {}, dropped = 0,
         limit = limit and limit.count or DEFAULT_QUEUE,
         byte_limit = limit and limit.bytes or DEFAULT_QUEUE_BYTES }
  set_tap(socket, function(msg, rinfo)
    if msg == nil then return on_close(st) end
    on_message(st, msg, rinfo)
  end)
  states[socket] = st
  return st
end

local function remove_waiter(st, waiter)
  for i, w in ipairs(st.waiters) do
    if w == waiter then
      table.remove(st.waiters, i)
      return
    end
  end
end

-- socket:recv([timeout_ms]) -> msg, rinfo | nil, err (code ETIMEDOUT or NOT_RUNNING)
function M.recv(socket, timeout)
  local co = current("socket:recv")
  if timeout ~= nil and type(timeout) ~= "number" then
    error(core.error("ERR_INVALID_ARG_TYPE",
      'The "timeout" argument must be of type number. Received ' .. type(timeout)), 2)
  end
  if socket_closed(socket) then error(not_running(), 2) end
  local st = receive_state(socket)
  if st.head <= st.tail then return dequeue(st) end
  local waiter = { co = co }
  if timeout then
    waiter.timer = core.setTimeout(timeout, function()
      remove_waiter(st, waiter)
      local err = core.error("ETIMEDOUT", "recv ETIMEDOUT", { syscall = "recv" })
      wake(co, waiter, nil, err)
    end)
  end
  st.waiters[#st.waiters + 1] = waiter
  return await(co, waiter)
end

function M.recvDropped(socket)
  socket_closed(socket) -- raises ERR_INVALID_ARG_TYPE for what is not a socket
  local st = states[socket]
  return st and st.dropped or 0
end

-- socket:sendAsync(msg, ...) -> bytes | nil, err: send, yielding until it completes.
function M.sendAsync(socket, ...)
  local co = current("socket:sendAsync")
  if not socket_closed(socket) then receive_state(socket) end -- the reply may beat the recv
  local args = pack(...)
  local n = args.n
  if type(args[n]) == "function" then n = n - 1 end
  local token = {}
  args[n + 1] = function(err, bytes)
    if err then return wake(co, token, nil, err) end
    wake(co, token, bytes)
  end
  socket:send(unpack(args, 1, n + 1)) -- its callback never runs inside send
  return await(co, token)
end

return M

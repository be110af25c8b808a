-- The coroutine style: dgram.spawn, socket:recv, socket:sendAsync, dgram.sleep.
--
-- A spawned coroutine yields inside recv/sendAsync/sleep and is resumed by the loop. Once
-- recv or sendAsync has been called on a socket (so that the answer to a request is never
-- lost before its recv), its datagrams are also kept in a bounded queue (the
-- `recvQueueSize` option, default 1024) so that none is lost between two recv calls; when
-- the queue is full, arriving datagrams are dropped (as a full kernel buffer would) and
-- counted by socket:recvDropped().

local core = require("dgram.core")

local M = {}

local DEFAULT_QUEUE = 1024

-- Resumes co; an error inside it leaves dgram.run() with the coroutine's traceback.
local function resume(co, ...)
  local ok, err = coroutine.resume(co, ...)
  if not ok then
    if type(err) == "string" then err = debug.traceback(co, err) end
    error(err, 0)
  end
end

local function current(what)
  local co, main = coroutine.running()
  if main then
    error(core.error("ERR_INVALID_STATE", what .. " must be called inside a coroutine "
      .. "(see dgram.spawn)"), 3)
  end
  return co
end

function M.spawn(fn, ...)
  if type(fn) ~= "function" then
    error(core.error("ERR_INVALID_ARG_TYPE",
      'The "fn" argument must be of type function. Received ' .. type(fn)), 2)
  end
  local co = coroutine.create(fn)
  local args = table.pack(...)
  core.nextTick(function() resume(co, table.unpack(args, 1, args.n)) end)
  return co
end

function M.sleep(ms)
  local co = current("dgram.sleep")
  core.setTimeout(ms, function() resume(co) end)
  coroutine.yield()
end

-- Per-socket receive state, created by the first recv: a ring of {msg, rinfo} and the
-- coroutines waiting, oldest first.
local states = setmetatable({}, { __mode = "k" })
local limits = setmetatable({}, { __mode = "k" })

-- The recvQueueSize option of createSocket.
function M.setQueueLimit(socket, n)
  if type(n) ~= "number" then
    error(core.error("ERR_INVALID_ARG_TYPE",
      'The "options.recvQueueSize" property must be of type number. Received ' .. type(n)), 3)
  end
  local limit = math.tointeger(n)
  if not limit or limit < 1 then
    error(core.error("ERR_OUT_OF_RANGE",
      'The value of "options.recvQueueSize" is out of range. It must be an integer >= 1. '
      .. "Received " .. tostring(n)), 3)
  end
  limits[socket] = limit
end

local function not_running()
  return core.error("ERR_SOCKET_DGRAM_NOT_RUNNING", "Not running")
end

local function listening_to(socket, name, fn)
  for _, l in ipairs(socket:rawListeners(name)) do
    if l == fn then return true end
  end
  return false
end

local function receive_state(socket)
  local st = states[socket]
  if st then
    -- removeAllListeners() may have taken ours away: recv still has to work.
    if not listening_to(socket, "message", st.on_message) then
      socket:on("message", st.on_message)
    end
    if not listening_to(socket, "close", st.on_close) then socket:on("close", st.on_close) end
    return st
  end
  st = { queue = {}, head = 1, tail = 0, waiters = {}, dropped = 0,
         limit = limits[socket] or DEFAULT_QUEUE }
  st.on_message = function(msg, rinfo)
    local waiter = table.remove(st.waiters, 1)
    if waiter then
      if waiter.timer then core.clearTimeout(waiter.timer) end
      return resume(waiter.co, msg, rinfo)
    end
    if st.tail - st.head + 1 >= st.limit then
      st.dropped = st.dropped + 1
      return
    end
    st.tail = st.tail + 1
    st.queue[st.tail] = { msg, rinfo }
  end
  st.on_close = function()
    local waiters = st.waiters
    st.waiters = {}
    -- One loop callback each, so that an error in one coroutine strands no other.
    for _, w in ipairs(waiters) do
      if w.timer then core.clearTimeout(w.timer) end
      core.nextTick(function() resume(w.co, nil, not_running()) end)
    end
  end
  socket:on("message", st.on_message)
  socket:on("close", st.on_close)
  states[socket] = st
  return st
end

-- socket:recv([timeout_ms]) -> msg, rinfo | nil, err (code ETIMEDOUT or NOT_RUNNING)
function M.recv(socket, timeout)
  local co = current("socket:recv")
  if timeout ~= nil and type(timeout) ~= "number" then
    error(core.error("ERR_INVALID_ARG_TYPE",
      'The "timeout" argument must be of type number. Received ' .. type(timeout)), 2)
  end
  if socket:_closed() then error(not_running(), 2) end
  local st = receive_state(socket)
  if st.head <= st.tail then
    local item = st.queue[st.head]
    st.queue[st.head] = nil
    st.head = st.head + 1
    return item[1], item[2]
  end
  local waiter = { co = co }
  if timeout then
    waiter.timer = core.setTimeout(timeout, function()
      for i, w in ipairs(st.waiters) do
        if w == waiter then table.remove(st.waiters, i) break end
      end
      local err = core.error("ETIMEDOUT", "recv ETIMEDOUT", { syscall = "recv" })
      resume(co, nil, err)
    end)
  end
  st.waiters[#st.waiters + 1] = waiter
  return coroutine.yield()
end

function M.recvDropped(socket)
  local st = states[socket]
  return st and st.dropped or 0
end

-- socket:sendAsync(msg, ...) -> bytes | nil, err: send, yielding until it completes.
function M.sendAsync(socket, ...)
  local co = current("socket:sendAsync")
  if not socket:_closed() then receive_state(socket) end -- the reply may beat the recv
  local args = table.pack(...)
  local n = args.n
  if type(args[n]) == "function" then n = n - 1 end
  args[n + 1] = function(err, bytes)
    if err then return resume(co, nil, err) end
    resume(co, bytes)
  end
  socket:send(table.unpack(args, 1, n + 1))
  return coroutine.yield()
end

return M

---@meta dgram
-- luacheck: ignore
-- Editor types for lua-language-server (LuaCATS): add this directory to the workspace's
-- `workspace.library` (or copy the file into it). The reference is docs/API.md,
-- docs/EVENT_LOOP.md and docs/ERRORS.md.
error("types/dgram.lua describes the dgram module for editors; require(\"dgram\") instead")

---@alias dgram.SocketType "udp4"|"udp6"
---@alias dgram.Family "IPv4"|"IPv6"
---@alias dgram.RunMode "default"|"once"|"nowait"
---@alias dgram.WatchEvents "r"|"w"|"rw"
---@alias dgram.SignalName "SIGINT"|"SIGTERM"|"SIGHUP"
---@alias dgram.SocketEvent "message"|"listening"|"connect"|"close"|"error"
---@alias dgram.Message string|string[]
---@alias dgram.SendCallback fun(err: dgram.Error|nil, bytes: integer|nil)
---@alias dgram.MessageListener fun(msg: string, rinfo: dgram.RemoteInfo)
---@alias dgram.LookupCallback fun(err: any, address: string|nil, family: integer|nil)
---@alias dgram.Lookup fun(hostname: string, family: integer, cb: dgram.LookupCallback)

--- An error object: every error the module raises or emits. `tostring(err)` is `message`.
---@class dgram.Error
---@field code string `"EADDRINUSE"`, `"ERR_SOCKET_BAD_PORT"`, ... (docs/ERRORS.md)
---@field message string one readable line, e.g. `"bind EADDRINUSE 0.0.0.0:41234"`
---@field errno? integer libuv's negative error number (system errors)
---@field syscall? string the call that failed (system errors)
---@field address? string the address involved
---@field port? integer the port involved
---@field context? any ERR_UNHANDLED_ERROR: the value that was emitted

--- The sender of a datagram, as the `'message'` event and `recv` give it.
---@class dgram.RemoteInfo
---@field address string the sender's address (a link-local IPv6 one with its `%scope`)
---@field family dgram.Family
---@field port integer
---@field size integer the datagram's size in bytes

--- What `address()` and `remoteAddress()` return.
---@class dgram.AddressInfo
---@field address string
---@field family dgram.Family
---@field port integer

--- The options table of `createSocket`.
---@class dgram.SocketOptions
---@field type dgram.SocketType
---@field reuseAddr? boolean SO_REUSEADDR
---@field ipv6Only? boolean IPV6_V6ONLY on a udp6 socket
---@field reusePort? boolean SO_REUSEPORT: several processes share one port
---@field recvBufferSize? integer SO_RCVBUF in bytes, set at bind
---@field sendBufferSize? integer SO_SNDBUF in bytes, set at bind
---@field lookup? dgram.Lookup replaces the resolver for bind, connect and send
---@field receiveBlockList? string[] senders (addresses, CIDR prefixes) whose datagrams are dropped
---@field sendBlockList? string[] destinations a send to fails with ERR_IP_BLOCKED
---@field recvQueueSize? integer the coroutine receive queue's bound in datagrams (default 1024)
---@field recvQueueBytes? integer the coroutine receive queue's bound in bytes (default 4 MiB)

--- The options table of `bind`.
---@class dgram.BindOptions
---@field port? integer 0 or absent: a random port
---@field address? string default: every interface
---@field exclusive? boolean accepted; no effect (there is no cluster)

--- What `socket:stats()` returns.
---@class dgram.Stats
---@field received integer datagrams delivered
---@field sent integer datagrams sent
---@field sendErrors integer sends that failed
---@field queueDrops integer datagrams the coroutine receive queue dropped
---@field kernelDrops integer|nil datagrams the kernel dropped for a full receive buffer (nil where the OS does not tell)

--- Node's EventEmitter; every socket is one.
---@class dgram.EventEmitter
local EventEmitter = {}

--- Makes `object` (or a new table) an EventEmitter.
---@generic T: table
---@param object? T
---@return T|dgram.EventEmitter
function EventEmitter.new(object) end

--- Adds a listener at the end of the event's list; returns self.
---@param event string
---@param listener function
---@return self
function EventEmitter:on(event, listener) end

--- The same as `on`.
---@param event string
---@param listener function
---@return self
function EventEmitter:addListener(event, listener) end

--- Adds a listener removed before its first call; returns self.
---@param event string
---@param listener function
---@return self
function EventEmitter:once(event, listener) end

--- `on`, at the front of the list.
---@param event string
---@param listener function
---@return self
function EventEmitter:prependListener(event, listener) end

--- `once`, at the front of the list.
---@param event string
---@param listener function
---@return self
function EventEmitter:prependOnceListener(event, listener) end

--- Removes the most recently added instance of `listener`; returns self.
---@param event string
---@param listener function
---@return self
function EventEmitter:off(event, listener) end

--- The same as `off`.
---@param event string
---@param listener function
---@return self
function EventEmitter:removeListener(event, listener) end

--- Removes every listener of `event`, or of every event; returns self.
---@param event? string
---@return self
function EventEmitter:removeAllListeners(event) end

--- Calls the event's listeners in order; whether there was any. An unheard 'error' raises.
---@param event string
---@param ... any
---@return boolean
function EventEmitter:emit(event, ...) end

--- The event's listeners (the functions given to `once`, not its wrappers).
---@param event string
---@return function[]
function EventEmitter:listeners(event) end

--- The event's listeners as stored (`once` wrappers included).
---@param event string
---@return function[]
function EventEmitter:rawListeners(event) end

--- The number of the event's listeners.
---@param event string
---@return integer
function EventEmitter:listenerCount(event) end

--- The sorted names of the events that have listeners.
---@return string[]
function EventEmitter:eventNames() end

--- A UDP socket (`dgram.createSocket`).
---@class dgram.Socket: dgram.EventEmitter
local Socket = {}

--- Binds the socket; `callback` is a one-time 'listening' listener. Returns self.
---@param port? integer|string|dgram.BindOptions 0 or absent: a random port
---@param address? string|function default: every interface; may be a host name
---@param callback? fun()
---@return self
---@overload fun(self: dgram.Socket, callback: fun()): dgram.Socket
---@overload fun(self: dgram.Socket, options: dgram.BindOptions, callback?: fun()): dgram.Socket
function Socket:bind(port, address, callback) end

--- Sends one datagram: `send(msg[, offset, length][, port[, address]][, callback])`.
--- `offset`/`length` are a 0-based byte offset and a byte count, as in Node.
---@param msg dgram.Message a string, or an array of strings sent as one datagram
---@param offset? integer|string|dgram.SendCallback with `length`: the slice's start; else the port
---@param length? integer|string|dgram.SendCallback with `offset`: the slice's length; else the address
---@param port? integer|string|dgram.SendCallback 1..65535 (none on a connected socket)
---@param address? string|dgram.SendCallback default "127.0.0.1" / "::1"; may be a host name
---@param callback? dgram.SendCallback runs later, exactly once
---@overload fun(self: dgram.Socket, msg: dgram.Message, port: integer|string, address?: string, callback?: dgram.SendCallback)
---@overload fun(self: dgram.Socket, msg: dgram.Message, port: integer|string, callback: dgram.SendCallback)
---@overload fun(self: dgram.Socket, msg: dgram.Message, callback?: dgram.SendCallback)
function Socket:send(msg, offset, length, port, address, callback) end

--- Closes the socket; 'close' follows. `callback` is a one-time 'close' listener.
---@param callback? fun()
---@return self
function Socket:close(callback) end

--- The bound address; raises EBADF when unbound.
---@return dgram.AddressInfo
function Socket:address() end

--- Connects the socket to one peer; `callback(err)` on a failure, `callback()` when done.
---@param port integer|string 1..65535
---@param address? string|fun(err?: dgram.Error) default "127.0.0.1" / "::1"
---@param callback? fun(err?: dgram.Error)
---@return self
function Socket:connect(port, address, callback) end

--- Dissolves the association made by `connect`.
function Socket:disconnect() end

--- The connected peer's address.
---@return dgram.AddressInfo
function Socket:remoteAddress() end

--- SO_BROADCAST.
---@param flag boolean
function Socket:setBroadcast(flag) end

--- IP_TTL, 1..255; returns it.
---@param ttl integer
---@return integer
function Socket:setTTL(ttl) end

--- IP_MULTICAST_TTL, 0..255; returns it.
---@param ttl integer
---@return integer
function Socket:setMulticastTTL(ttl) end

--- IP_MULTICAST_LOOP; returns the flag.
---@param flag boolean
---@return boolean
function Socket:setMulticastLoopback(flag) end

--- The interface for outgoing multicast.
---@param iface string
function Socket:setMulticastInterface(iface) end

--- Joins a multicast group (binds an unbound socket first).
---@param group string
---@param iface? string
function Socket:addMembership(group, iface) end

--- Leaves a multicast group.
---@param group string
---@param iface? string
function Socket:dropMembership(group, iface) end

--- Joins a source-specific multicast group.
---@param source string
---@param group string
---@param iface? string
function Socket:addSourceSpecificMembership(source, group, iface) end

--- Leaves a source-specific multicast group.
---@param source string
---@param group string
---@param iface? string
function Socket:dropSourceSpecificMembership(source, group, iface) end

--- SO_RCVBUF as the kernel reports it.
---@return integer
function Socket:getRecvBufferSize() end

--- Sets SO_RCVBUF (bound sockets only).
---@param size integer
function Socket:setRecvBufferSize(size) end

--- SO_SNDBUF as the kernel reports it.
---@return integer
function Socket:getSendBufferSize() end

--- Sets SO_SNDBUF (bound sockets only).
---@param size integer
function Socket:setSendBufferSize(size) end

--- Bytes waiting in libuv's send queue.
---@return integer
function Socket:getSendQueueSize() end

--- Datagrams waiting in libuv's send queue.
---@return integer
function Socket:getSendQueueCount() end

--- The socket keeps `dgram.run()` going; returns self.
---@return self
function Socket:ref() end

--- The socket no longer keeps `dgram.run()` going; returns self.
---@return self
function Socket:unref() end

--- The socket's counters.
---@return dgram.Stats
function Socket:stats() end

--- In a spawned coroutine: waits for the next datagram.
---@param timeout? number ms; then `nil, err` with code "ETIMEDOUT"
---@return string|nil msg
---@return dgram.RemoteInfo|dgram.Error rinfo_or_err
function Socket:recv(timeout) end

--- In a spawned coroutine: `send`, waiting for its completion.
---@param msg dgram.Message
---@param ... integer|string `[offset, length,] [port, [address]]` as `send`
---@return integer|nil bytes
---@return dgram.Error|nil err
function Socket:sendAsync(msg, ...) end

--- Datagrams the coroutine receive queue dropped.
---@return integer
function Socket:recvDropped() end

--- A timer (`setTimeout`, `setInterval`, `setFixedInterval`).
---@class dgram.Timer
local Timer = {}

--- The timer keeps `dgram.run()` going; returns it.
---@return self
function Timer:ref() end

--- The timer no longer keeps `dgram.run()` going; returns it.
---@return self
function Timer:unref() end

--- Whether the timer is referenced.
---@return boolean
function Timer:hasRef() end

--- Stops the timer (as `clearTimeout`).
function Timer:close() end

--- Ticks a fixed interval skipped after stalls.
---@return integer
function Timer:missed() end

--- A descriptor watched by `dgram.watch`.
---@class dgram.Watcher
local Watcher = {}

--- Stops watching; returns the watcher.
---@return self
function Watcher:stop() end

--- The watcher keeps `dgram.run()` going; returns it.
---@return self
function Watcher:ref() end

--- The watcher no longer keeps `dgram.run()` going; returns it.
---@return self
function Watcher:unref() end

--- A signal handler made by `dgram.onSignal`.
---@class dgram.SignalHandle
local SignalHandle = {}

--- Stops handling the signal; returns the handle.
---@return self
function SignalHandle:stop() end

--- The C module, `require("dgram.core")`: the loop functions as `dgram`'s, sockets without
--- EventEmitter (one handler per event, `core.setHandler(socket, event, fn)`).
---@class dgram.core
---@field Socket dgram.Socket the socket method table
---@field version string
---@field features dgram.Features
local core = {}

--- A socket (no `onMessage`, no queue options).
---@param options dgram.SocketType|dgram.SocketOptions
---@return dgram.Socket
function core.createSocket(options) end

--- dgram.core used alone: the one function the core calls for `event` (nil removes it).
---@param socket dgram.Socket
---@param event "message"|"listening"|"close"|"error"|"connect"
---@param fn? function
function core.setHandler(socket, event, fn) end

--- An error object like the module's own.
---@param code string
---@param message string
---@param fields? table more fields to set
---@return dgram.Error
function core.error(code, message, fields) end

--- Which fast paths this build has; `false`: the plain libuv fallback (docs/API.md).
---@class dgram.Features
---@field sendmmsg boolean a turn's sends leave with one `sendmmsg` per socket
---@field gso boolean same-size runs to one destination leave as one UDP GSO write
---@field reusePort boolean the `reusePort` option can work (else its bind fails: ENOTSUP)
---@field busyPoll boolean the loop polls for answers after sends (`dgram.setBusyPoll`)
---@field kernelDrops boolean `socket:stats().kernelDrops` is counted (else `nil`)

--- Node's dgram for Lua.
---@class dgram
---@field version string the module's version
---@field features dgram.Features which fast paths this build has
---@field Socket dgram.Socket the socket method table (every socket's `__index`)
---@field EventEmitter dgram.EventEmitter
---@field core dgram.core
local dgram = {}

--- Makes a UDP socket; `onMessage` is added as a 'message' listener.
---@param options dgram.SocketType|dgram.SocketOptions
---@param onMessage? dgram.MessageListener
---@return dgram.Socket
function dgram.createSocket(options, onMessage) end

--- Runs the loop; `true` while referenced work remains.
---@param mode? dgram.RunMode
---@return boolean
function dgram.run(mode) end

--- Whether referenced work remains.
---@return boolean
function dgram.alive() end

--- Calls `fn(a, b)` on the next loop turn.
---@param fn function
---@param a? any
---@param b? any
function dgram.nextTick(fn, a, b) end

--- Calls `fn(...)` once after `ms` milliseconds.
---@param ms number
---@param fn function
---@param ... any
---@return dgram.Timer
function dgram.setTimeout(ms, fn, ...) end

--- Calls `fn(...)` every `ms` milliseconds.
---@param ms number
---@param fn function
---@param ... any
---@return dgram.Timer
function dgram.setInterval(ms, fn, ...) end

--- Stops a timer (anything else is ignored).
---@param timer dgram.Timer|nil
function dgram.clearTimeout(timer) end

--- Stops a timer (anything else is ignored).
---@param timer dgram.Timer|nil
function dgram.clearInterval(timer) end

--- A fixed-rate tick: due times on a grid of `ms` (may be fractional), missed ticks skipped.
---@param ms number
---@param fn function
---@param ... any
---@return dgram.Timer
function dgram.setFixedInterval(ms, fn, ...) end

--- A monotonic clock in milliseconds (a float).
---@return number
function dgram.now() end

--- A monotonic clock in nanoseconds (an integer).
---@return integer
function dgram.hrtime() end

--- The loop's pollable descriptor, for a host's own poll/epoll.
---@return integer
function dgram.backendFd() end

--- Ms until the next due timer: 0 when something is due, -1 when nothing is.
---@return integer
function dgram.backendTimeout() end

--- Runs `fn(...)`; the sends it makes leave together when it returns. Returns fn's results.
---@param fn function
---@param ... any
---@return any ...
function dgram.batch(fn, ...) end

--- Watches another descriptor on the loop: `fn(events)` when ready, `fn(nil, err)` on failure.
---@param fd integer
---@param events dgram.WatchEvents
---@param fn fun(events: dgram.WatchEvents|nil, err?: dgram.Error)
---@return dgram.Watcher
function dgram.watch(fd, events, fn) end

--- Runs `fn(name)` on the loop when the process gets the signal.
---@param name dgram.SignalName
---@param fn fun(name: dgram.SignalName)
---@return dgram.SignalHandle
function dgram.onSignal(name, fn) end

--- How long (µs, 0..1000000) the loop polls for answers after a turn that sent.
---@param us integer
function dgram.setBusyPoll(us) end

--- The busy-poll limit in µs.
---@return integer
function dgram.getBusyPoll() end

--- Runs `fn(...)` in a new coroutine from the next loop turn; returns the coroutine.
---@param fn function
---@param ... any
---@return thread
function dgram.spawn(fn, ...) end

--- In a spawned coroutine: waits `ms` milliseconds.
---@param ms number
function dgram.sleep(ms) end

-- dgram.core has the loop, timer and host functions too: the same functions as dgram's.
core.run = dgram.run
core.alive = dgram.alive
core.nextTick = dgram.nextTick
core.setTimeout = dgram.setTimeout
core.setInterval = dgram.setInterval
core.clearTimeout = dgram.clearTimeout
core.clearInterval = dgram.clearInterval
core.setFixedInterval = dgram.setFixedInterval
core.now = dgram.now
core.hrtime = dgram.hrtime
core.backendFd = dgram.backendFd
core.backendTimeout = dgram.backendTimeout
core.batch = dgram.batch
core.watch = dgram.watch
core.onSignal = dgram.onSignal
core.setBusyPoll = dgram.setBusyPoll
core.getBusyPoll = dgram.getBusyPoll

return dgram

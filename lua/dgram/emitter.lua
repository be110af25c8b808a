-- Node's EventEmitter for Lua: on/once/off/emit and friends, in registration order.
--
-- An event's listeners are stored as the function itself when there is one (the common
-- case, and no table for it), else as an array that is copied on write, never mutated:
-- `emit` walks it without copying it, and a listener added or removed during an emit
-- takes effect from the next emit (as in Node). A table keeps them in the table
-- `self:_events()` returns and hears of every change through
-- `self:_listenerschanged(name, entry)`; dgram's sockets (userdata) are served by the
-- backend the wrapper installs, which hands the C core the one function to call for
-- each event.

local EventEmitter = {}
EventEmitter.__index = EventEmitter

local origin = setmetatable({}, { __mode = "k" }) -- once-wrapper -> the user's function

local core_error -- dgram.core.error when the core is there (the emitter works without it)
do
  local ok, core = pcall(require, "dgram.core")
  if ok and type(core) == "table" then core_error = core.error end
end

local function raise(code, message)
  error(core_error and core_error(code, message) or { code = code, message = message }, 4)
end

-- How Node describes a received value: "type number (42)", "type string ('x')", "nil".
local function received(value)
  local t = type(value)
  if value == nil then return "nil" end
  if t == "string" then return ("type string ('%s')"):format(value) end
  if t == "number" or t == "boolean" then return ("type %s (%s)"):format(t, tostring(value)) end
  return "an instance of " .. t
end

local function invalid_arg(name, want, value)
  raise("ERR_INVALID_ARG_TYPE",
    ('The "%s" argument must be of type %s. Received %s'):format(name, want, received(value)))
end

local function invalid_listener(value)
  invalid_arg("listener", "function", value)
end

-- Event names are strings, as in Node.
local function check_name(name)
  if type(name) ~= "string" then invalid_arg("eventName", "string", name) end
end

-- A method called with a dot instead of a colon gets its first argument as self.
local function not_an_emitter(self)
  raise("ERR_INVALID_ARG_TYPE",
    'The "this" argument must be an EventEmitter (a dgram socket or a table made by '
      .. "dgram.EventEmitter.new). Received " .. received(self)
      .. "; call the methods with a colon: emitter:on(name, listener)")
end

local default_events -- EventEmitter._events, below

-- Where the listeners of objects that are not tables live (dgram's sockets): a backend
-- the wrapper installs with EventEmitter._setBackend({ events =, changed = }):
-- events(object) returns its listener table or nil (then it is no emitter), changed(object,
-- name, entry) hears of every change.
local backend

-- The listener table of self, after checking that self is an emitter: a table (its own
-- _events method, or the default one for a plain table, as Node's methods work on any
-- object) or an object the backend knows (a dgram socket).
local function events_of(self)
  if type(self) == "table" then
    local getter = self._events
    if getter == default_events or getter == nil then
      return rawget(self, "_eventlists") or default_events(self)
    end
    if type(getter) == "function" then return getter(self) end
  elseif backend then
    local events = backend.events(self)
    if events then return events end
  end
  not_an_emitter(self)
end

function EventEmitter._setBackend(b)
  backend = b
end

function EventEmitter.new(object)
  if object ~= nil and type(object) ~= "table" then invalid_arg("object", "table", object) end
  return setmetatable(object or {}, EventEmitter)
end

function EventEmitter:_events()
  if type(self) ~= "table" then not_an_emitter(self) end
  local events = rawget(self, "_eventlists")
  if not events then
    events = {}
    rawset(self, "_eventlists", events)
  end
  return events
end
default_events = EventEmitter._events

function EventEmitter._listenerschanged() end

-- The listeners stored for an event: nil, one function, or an array of them.
local function count(entry)
  if entry == nil then return 0 end
  return type(entry) == "function" and 1 or #entry
end

local function at(entry, i)
  if type(entry) == "function" then return entry end
  return entry[i]
end

local function set_list(self, name, list)
  local entry = list
  if list and #list <= 1 then entry = list[1] end
  events_of(self)[name] = entry
  if type(self) ~= "table" then
    backend.changed(self, name, entry)
    return
  end
  local changed = self._listenerschanged
  if changed ~= nil then changed(self, name, entry) end
end

local function add(self, name, fn, prepend)
  local events = events_of(self)
  check_name(name)
  if type(fn) ~= "function" then invalid_listener(fn) end
  if events.newListener then self:emit("newListener", name, origin[fn] or fn) end
  local old = events[name]
  local list = { prepend and fn or nil }
  for i = 1, count(old) do list[#list + 1] = at(old, i) end
  if not prepend then list[#list + 1] = fn end
  set_list(self, name, list)
  return self
end

local function once_wrapper(self, name, fn)
  local fired = false
  local function wrapper(...)
    if fired then return end
    fired = true
    self:removeListener(name, wrapper)
    return fn(...)
  end
  origin[wrapper] = fn
  return wrapper
end
EventEmitter._oncewrapper = once_wrapper

function EventEmitter:on(name, fn)
  return add(self, name, fn, false)
end
EventEmitter.addListener = EventEmitter.on

function EventEmitter:prependListener(name, fn)
  return add(self, name, fn, true)
end

function EventEmitter:once(name, fn)
  events_of(self)
  check_name(name)
  if type(fn) ~= "function" then invalid_listener(fn) end
  return add(self, name, once_wrapper(self, name, fn), false)
end

function EventEmitter:prependOnceListener(name, fn)
  events_of(self)
  check_name(name)
  if type(fn) ~= "function" then invalid_listener(fn) end
  return add(self, name, once_wrapper(self, name, fn), true)
end

-- Removes the most recently added instance of fn (or of a once-wrapper around it).
function EventEmitter:removeListener(name, fn)
  local events = events_of(self)
  check_name(name)
  if type(fn) ~= "function" then invalid_listener(fn) end
  local old = events[name]
  for i = count(old), 1, -1 do
    local l = at(old, i)
    if l == fn or origin[l] == fn then
      local list = {}
      for j = 1, count(old) do
        if j ~= i then list[#list + 1] = at(old, j) end
      end
      set_list(self, name, list)
      if events_of(self).removeListener then self:emit("removeListener", name, origin[l] or l) end
      break
    end
  end
  return self
end
EventEmitter.off = EventEmitter.removeListener

function EventEmitter:removeAllListeners(name)
  local events = events_of(self)
  if name ~= nil then
    check_name(name)
    set_list(self, name, nil)
    return self
  end
  local names = {}
  for n in pairs(events) do names[#names + 1] = n end
  for _, n in ipairs(names) do set_list(self, n, nil) end
  return self
end

-- An 'error' emitted with no listener is raised, as Node throws it: an error object (a
-- table) as it is, any other value wrapped, as Node wraps what is not an Error.
local function unhandled(err)
  if type(err) == "table" then error(err, 0) end
  local message = ("Unhandled error. (%s)"):format(
    type(err) == "string" and ("'%s'"):format(err) or tostring(err))
  local obj = core_error and core_error("ERR_UNHANDLED_ERROR", message)
    or { code = "ERR_UNHANDLED_ERROR", message = message }
  obj.context = err
  error(obj, 0)
end

-- Calls each listener of `name` in order; true if there was any.
function EventEmitter:emit(name, ...)
  local entry = events_of(self)
  check_name(name)
  entry = entry[name]
  if entry == nil then
    if name == "error" then unhandled((...)) end
    return false
  end
  if type(entry) == "function" then
    entry(...)
  else
    for i = 1, #entry do entry[i](...) end
  end
  return true
end

function EventEmitter:listeners(name)
  local events = events_of(self)
  local entry, out = name ~= nil and events[name] or nil, {}
  for i = 1, count(entry) do
    local l = at(entry, i)
    out[i] = origin[l] or l
  end
  return out
end

function EventEmitter:rawListeners(name)
  local events = events_of(self)
  local entry, out = name ~= nil and events[name] or nil, {}
  for i = 1, count(entry) do out[i] = at(entry, i) end
  return out
end

function EventEmitter:listenerCount(name)
  local events = events_of(self)
  return count(name ~= nil and events[name] or nil)
end

function EventEmitter:eventNames()
  local names = {}
  for n in pairs(events_of(self)) do names[#names + 1] = n end
  table.sort(names, function(a, b) return tostring(a) < tostring(b) end)
  return names
end

return EventEmitter

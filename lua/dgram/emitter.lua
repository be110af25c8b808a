-- Node's EventEmitter for Lua: on/once/off/emit and friends, in registration order.
--
-- An event's listeners are stored as the function itself when there is one (the common
-- case, and no table for it), else as an array that is copied on write, never mutated:
-- `emit` walks it without copying it, and a listener added or removed during an emit
-- takes effect from the next emit (as in Node). An object keeps them in the table
-- `self:_events()` returns and hears of every change through
-- `self:_listenerschanged(name, entry)`; dgram's sockets use that to hand the C core the
-- one function to call for each event.

local EventEmitter = {}
EventEmitter.__index = EventEmitter

local origin = setmetatable({}, { __mode = "k" }) -- once-wrapper -> the user's function

local function invalid_arg(name, want, value)
  local err = {
    code = "ERR_INVALID_ARG_TYPE",
    message = ('The "%s" argument must be of type %s. Received %s'):format(name, want,
      value == nil and "nil" or "type " .. type(value)),
  }
  local ok, core = pcall(require, "dgram.core")
  if ok and core.error then err = core.error(err.code, err.message) end
  error(err, 4)
end

local function invalid_listener(value)
  invalid_arg("listener", "function", value)
end

-- Event names are strings, as in Node.
local function check_name(name)
  if type(name) ~= "string" then invalid_arg("eventName", "string", name) end
end

function EventEmitter.new(object)
  return setmetatable(object or {}, EventEmitter)
end

function EventEmitter:_events()
  local events = rawget(self, "_eventlists")
  if not events then
    events = {}
    rawset(self, "_eventlists", events)
  end
  return events
end

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
  self:_events()[name] = entry
  self:_listenerschanged(name, entry)
end

local function add(self, name, fn, prepend)
  check_name(name)
  if type(fn) ~= "function" then invalid_listener(fn) end
  local events = self:_events()
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

function EventEmitter:on(name, fn)
  return add(self, name, fn, false)
end
EventEmitter.addListener = EventEmitter.on

function EventEmitter:prependListener(name, fn)
  return add(self, name, fn, true)
end

function EventEmitter:once(name, fn)
  check_name(name)
  if type(fn) ~= "function" then invalid_listener(fn) end
  return add(self, name, once_wrapper(self, name, fn), false)
end

function EventEmitter:prependOnceListener(name, fn)
  check_name(name)
  if type(fn) ~= "function" then invalid_listener(fn) end
  return add(self, name, once_wrapper(self, name, fn), true)
end

-- Removes the most recently added instance of fn (or of a once-wrapper around it).
function EventEmitter:removeListener(name, fn)
  check_name(name)
  if type(fn) ~= "function" then invalid_listener(fn) end
  local old = self:_events()[name]
  for i = count(old), 1, -1 do
    local l = at(old, i)
    if l == fn or origin[l] == fn then
      local list = {}
      for j = 1, count(old) do
        if j ~= i then list[#list + 1] = at(old, j) end
      end
      set_list(self, name, list)
      if self:_events().removeListener then self:emit("removeListener", name, origin[l] or l) end
      break
    end
  end
  return self
end
EventEmitter.off = EventEmitter.removeListener

function EventEmitter:removeAllListeners(name)
  if name ~= nil then
    check_name(name)
    set_list(self, name, nil)
    return self
  end
  local names = {}
  for n in pairs(self:_events()) do names[#names + 1] = n end
  for _, n in ipairs(names) do set_list(self, n, nil) end
  return self
end

-- Calls each listener of `name` in order; true if there was any. An 'error' with no
-- listener is raised, as Node throws it.
function EventEmitter:emit(name, ...)
  check_name(name)
  local entry = self:_events()[name]
  if entry == nil then
    if name == "error" then error((...) or "Unhandled 'error' event", 0) end
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
  local entry, out = name ~= nil and self:_events()[name] or nil, {}
  for i = 1, count(entry) do
    local l = at(entry, i)
    out[i] = origin[l] or l
  end
  return out
end

function EventEmitter:rawListeners(name)
  local entry, out = name ~= nil and self:_events()[name] or nil, {}
  for i = 1, count(entry) do out[i] = at(entry, i) end
  return out
end

function EventEmitter:listenerCount(name)
  return count(name ~= nil and self:_events()[name] or nil)
end

function EventEmitter:eventNames()
  local names = {}
  for n in pairs(self:_events()) do names[#names + 1] = n end
  table.sort(names, function(a, b) return tostring(a) < tostring(b) end)
  return names
end

return EventEmitter

-- The fuzzer's engine: picks an attack kind at random (seeded), runs it, checks the
-- invariants, runs the loop between calls, and at the end closes everything, drains the
-- loop and counts the send callbacks that ran zero or two times.
--
-- Invariants (a broken one is a "violation", printed with the kind that broke it):
--   * every call works or raises an error object (a table with a string `code`), or the
--     value a fuzzer callback raised on purpose (BOOM, or a string with "fuzz boom");
--   * dgram.run raises only such values too;
--   * every send callback whose send returned runs exactly once (none for a send that
--     raised); its err is an error object; a system error about a destination names it;
--   * an address containing "\0" is never accepted (the bytes before it must not be used);
--   * every spawned coroutine has finished once everything is closed and drained.
local V = require("fuzz.values")

local E = {}
E.__index = E

-- What fuzzer callbacks raise on purpose: it must come out of dgram.run unchanged.
E.BOOM = setmetatable({}, { __tostring = function() return "fuzz boom (table)" end })

local MAX_SOCKETS = 24
local MAX_EXAMPLES = 3

function E.new(dgram, opts)
  local F = setmetatable({
    dgram = dgram, V = V, opts = opts,
    sockets = {}, ports = {}, handles = {}, keep = {},
    family = setmetatable({}, { __mode = "k" }), -- socket -> "udp4" / "udp6"
    ids = setmetatable({}, { __mode = "k" }), nsockets = 0, -- socket -> number (--trace)
    coro_notes = setmetatable({}, { __mode = "k" }), checks = {},
    sends = {}, send_ids = 0, double = 0, private = {}, coros = {}, stash = {},
    at_exit = {}, lookup_modes = {},
    calls = 0, ok = 0, errors = {}, kinds = {}, violations = {}, examples = {},
    lua_limits = 0, run_errors = 0, step = 0, kind = "setup",
  }, E)
  return F
end

-- ---- invariants -----------------------------------------------------------------------

-- Records a broken invariant: `check` names the invariant (what --known takes), `what`
-- says how it broke; it is counted under the kind running now (or `kind`).
function E:violation(check, what, detail, kind)
  kind = kind or self.coros[coroutine.running()] or self.kind
  local key = ("%s [%s]: %s"):format(kind, check, what)
  self.violations[key] = (self.violations[key] or 0) + 1
  self.checks[key] = check
  local ex = self.examples[key] or {}
  self.examples[key] = ex
  if #ex < MAX_EXAMPLES then
    local text = tostring(detail):sub(1, 300):gsub("[%z\1-\31\127-\255]", function(c)
      return ("\\%d"):format(c:byte())
    end)
    ex[#ex + 1] = ("step %d: %s"):format(self.step, text)
  end
end

local function is_boom(err)
  return err == E.BOOM or (type(err) == "string" and err:find("fuzz boom", 1, true) ~= nil)
end

-- Lua's own limits, hit on purpose by the deep-stack kind: not the module's errors.
local function is_lua_limit(err)
  return type(err) == "string" and (err:find("stack overflow", 1, true) or
    err:find("C stack overflow", 1, true) or err:find("error in error handling", 1, true))
end

-- Classifies a raised value; returns the key it is counted under.
function E:check_error(err, where)
  if type(err) == "table" and getmetatable(err) ~= nil and rawequal(err, E.BOOM) then
    return "(fuzz BOOM)"
  end
  if type(err) == "table" and type(err.code) == "string" then
    if type(err.message) ~= "string" then
      self:violation("error-object", "error object without message", where .. " " .. err.code)
    end
    return err.code
  end
  if is_boom(err) then return "(fuzz boom)" end
  if is_lua_limit(err) then
    self.lua_limits = self.lua_limits + 1
    return "(lua limit)"
  end
  local check = "error-object"
  if tostring(err):find("attempt to yield", 1, true) then
    -- a coroutine call where it cannot yield (item 6); Lua 5.1's own error there, which it
    -- cannot tell beforehand (no coroutine.isyieldable: docs/API.md, "Lua versions")
    if not coroutine.isyieldable then return "(lua 5.1 yield)" end
    check = "nonyield-error"
  elseif where:find("^EventEmitter%.") then
    check = "emitter-error-object" -- item 13
  elseif where == "nextTick" then
    check = "nexttick-error-object" -- item 13
  elseif where == "socket:emit" then
    check = "emit-error-value" -- emit("error", v) with no listener raises v itself
  end
  self:violation(check, "raised a value that is not an error object",
    where .. ": " .. tostring(err))
  return "(not an error object)"
end

-- One argument as --trace prints it: sockets by number, strings quoted.
function E:describe(v)
  if type(v) == "string" then return (("%q"):format(v:sub(1, 60)):gsub("\\\n", "\\n")) end
  if type(v) == "userdata" and self.ids[v] then return "socket#" .. self.ids[v] end
  return tostring(v)
end

local function trace_call(self, label, ...)
  local parts = {}
  for i = 1, select("#", ...) do parts[i] = self:describe((select(i, ...))) end
  io.stderr:write(("#%d %s %s(%s)\n"):format(self.step, self.kind, label,
    table.concat(parts, ", ")))
end

-- pcall(fn, ...) counted and checked; returns pcall's results.
function E:call(label, fn, ...)
  self.calls = self.calls + 1
  if self.opts.trace then trace_call(self, label, ...) end
  self.last_label, self.last_args = label, table.pack(...)
  local res = table.pack(pcall(fn, ...))
  if res[1] then
    self.ok = self.ok + 1
  else
    local code = self:check_error(res[2], label)
    self.errors[code] = (self.errors[code] or 0) + 1
  end
  return table.unpack(res, 1, res.n)
end

-- ---- send callbacks -------------------------------------------------------------------

-- A tracked send callback and its record; pass the record to sent() with whether send
-- returned. Records wait in self.sends until their callback runs.
function E:send_cb(extra)
  self.send_ids = self.send_ids + 1
  local rec = { count = 0, kind = self.kind, step = self.step, note = self.note }
  self.sends[rec] = true
  return rec, function(err, bytes)
    local running = self.kind
    self.kind = rec.kind
    rec.count = rec.count + 1
    self.sends[rec] = nil
    if rec.count == 2 then
      self.double = self.double + 1
      self:violation("send-once", "send callback ran twice", self:send_note(rec))
    end
    if rec.raised then self:violation("send-once", "callback of a send that raised", rec.kind) end
    if err ~= nil then
      self:check_send_error(err)
    elseif math.type(bytes) ~= "integer" then
      self:violation("other", "send callback bytes not an integer", tostring(bytes))
    end
    local ok, raised = true, nil
    if extra then ok, raised = pcall(extra, err, bytes) end
    self.kind = running
    if not ok then error(raised, 0) end
  end
end

function E:check_send_error(err)
  if is_boom(err) then -- raised inside a lookup: it must leave dgram.run instead
    self:violation("lookup-error", "an error raised in lookup became the send's err",
      tostring(err))
  elseif type(err) ~= "table" or type(err.code) ~= "string" then
    self:violation("send-error-object", "send callback err is not an error object",
      tostring(err))
  elseif err.errno and err.code ~= "ECANCELED" and err.syscall == "send" and
    (err.address == nil or err.port == nil) then
    self:violation("error-destination", "send error without its destination",
      tostring(err.message))
  end
end

function E:sent(rec, ok)
  if ok then -- the call, described if the callback never runs
    rec.label, rec.args = self.last_label, self.last_args
    return
  end
  if rec.count > 0 then self:violation("send-once", "send callback ran inside send", rec.kind) end
  rec.raised = true
  self.sends[rec] = nil
end

function E:send_note(rec)
  if rec.note or not rec.args then return rec.note or "" end
  local parts = {}
  for i = 1, rec.args.n do parts[i] = self:describe(rec.args[i]) end
  return ("%s(%s)"):format(rec.label, table.concat(parts, ", "))
end

-- ---- sockets ----------------------------------------------------------------------------

-- Literal addresses pass through the fuzzer's lookup (so that multicast and broadcast
-- reach the namespace's lo); names go to the loopback address: no name is ever resolved.
local function is_name(host)
  return type(host) == "string" and host:match("^%a[%w%-%.]*$") ~= nil and
    not host:find(":", 1, true)
end

function E:lookup(host, family, cb)
  local address = host
  if is_name(host) then address = family == 6 and "::1" or "127.0.0.1" end
  if V.chance(0.5) then return cb(nil, address, family) end
  self.dgram.nextTick(function() cb(nil, address, family) end)
end

-- Keeps a timer or handle for the end (cleared then), `limit` at most: the oldest is
-- released early (stop/clear), so that intervals do not pile up and slow every turn.
function E.keep_handle(_, list, h, release, limit)
  list[#list + 1] = h
  if #list > (limit or 64) then pcall(release, table.remove(list, 1)) end
end

function E:track(s)
  self.nsockets = self.nsockets + 1
  self.ids[s] = self.nsockets
  local list = self.sockets
  list[#list + 1] = s
  if #list > MAX_SOCKETS then
    local old = table.remove(list, 1)
    pcall(old.close, old)
  end
end

-- A socket with the fuzzer's lookup and an 'error' listener; opts are merged in. A
-- private one (a hostile lookup) is closed at the end but never handed to other kinds.
function E:socket(kind, opts, private)
  local o = { type = kind or (V.chance(0.6) and "udp4" or "udp6") }
  for k, v in pairs(opts or {}) do o[k] = v end
  if o.lookup == nil then o.lookup = function(...) return self:lookup(...) end end
  local ok, s = self:call("createSocket", self.dgram.createSocket, o)
  if not ok then return nil end
  s:on("error", function() end)
  self.family[s] = o.type
  if private then
    self:keep_handle(self.private, s, s.close, MAX_SOCKETS)
    self.nsockets = self.nsockets + 1
    self.ids[s] = self.nsockets
  else
    self:track(s)
  end
  return s
end

-- A socket bound to the loopback on a random port, its port remembered for sends.
function E:bound(kind)
  local s = self:socket(kind)
  if not s then return nil end
  local host = self.family[s] == "udp6" and "::1" or "127.0.0.1"
  if self:call("bind", s.bind, s, 0, host) then
    for _ = 1, 3 do -- the bind completes on the loop
      local ok, a = pcall(s.address, s)
      if ok then
        self.ports[#self.ports + 1] = a.port
        if #self.ports > 64 then table.remove(self.ports, 1) end
        break
      end
      self:pump("nowait")
    end
  end
  return s
end

-- A socket from the pool (open or closed), or a new one.
function E:any_socket()
  if #self.sockets == 0 or V.chance(0.1) then
    return V.chance(0.5) and self:bound() or self:socket()
  end
  return V.pick(self.sockets)
end

-- A port for a tracked send: anything but 0 (a connected socket given port 0 loses the
-- callback today; the connected-port0 kind has that case on its own).
function E:port()
  local p
  repeat p = V.port(#self.ports > 0 and V.pick(self.ports) or nil) until p ~= 0
  return p
end

-- ---- the loop ----------------------------------------------------------------------------

function E:check_run_error(err)
  self.run_errors = self.run_errors + 1
  if is_boom(err) or (type(err) == "table" and type(err.code) == "string") then return end
  if is_lua_limit(err) then
    self.lua_limits = self.lua_limits + 1
    return
  end
  local check = "run-error-object"
  if tostring(err):find("cannot resume dead coroutine", 1, true) then
    check = "stale-waiter" -- a waiter left by a call that could not yield (item 6)
  end
  self:violation(check, "dgram.run raised a value that is not an error object",
    tostring(err))
end

-- Runs the loop a little: mostly "nowait", sometimes "once" with a wake-up timer.
function E:pump(mode)
  local dgram = self.dgram
  mode = mode or (V.chance(0.05) and "once" or "nowait")
  local wake
  if self.opts.trace then io.stderr:write(("#%d pump %s\n"):format(self.step, mode)) end
  if mode == "once" then wake = dgram.setTimeout(5, function() end) end
  local ok, err = pcall(dgram.run, mode)
  if wake then pcall(dgram.clearTimeout, wake) end
  if not ok then self:check_run_error(err) end
end

-- ---- the run ---------------------------------------------------------------------------

function E:enabled_kinds(kinds)
  local names = {}
  for name in pairs(kinds) do
    local only = self.opts.only
    if not self.opts.disabled[name] and (not only or only[name]) then
      names[#names + 1] = name
    end
  end
  table.sort(names)
  return names
end

-- A picker of names by weight (1 unless weights says otherwise).
local function weighted(names, weights)
  local cumulative, total = {}, 0
  for i, name in ipairs(names) do
    total = total + (weights[name] or 1)
    cumulative[i] = total
  end
  return function()
    local x = math.random() * total
    for i, c in ipairs(cumulative) do
      if x < c then return names[i] end
    end
    return names[#names]
  end
end

-- Runs attacks ({ kinds = name -> fn, weights = name -> number }) until opts.calls calls
-- were made or opts.seconds passed.
function E:run(attacks)
  local names = self:enabled_kinds(attacks.kinds)
  assert(#names > 0, "every attack kind is disabled")
  local pick = weighted(names, attacks.weights or {})
  local dgram = self.dgram
  local deadline = dgram.now() + (self.opts.seconds or 1e9) * 1000
  while self.calls < self.opts.calls do
    self.step = self.step + 1
    local name = pick()
    self.kind = name
    self.kinds[name] = (self.kinds[name] or 0) + 1
    self.note = nil
    local ok, err = pcall(attacks.kinds[name], self)
    if not ok then self:violation("other", "the attack itself failed (fuzzer bug?)", err) end
    if V.chance(0.3) then self:pump() end
    if self.step % 1024 == 0 then self:prune() end
    if self.step % 64 == 0 and dgram.now() > deadline then
      self.timed_out = true
      break
    end
  end
  self.kind = "finish"
  self:finish()
end

-- Forgets the coroutines that finished (the others are checked at the end).
function E:prune()
  for co in pairs(self.coros) do
    if coroutine.status(co) == "dead" then self.coros[co] = nil end
  end
end

-- Closes every socket and handle, drains the loop, then counts what never ran.
function E:finish()
  local dgram = self.dgram
  for _, s in ipairs(self.sockets) do pcall(s.close, s) end
  for _, s in ipairs(self.private) do pcall(s.close, s) end
  for _, h in ipairs(self.handles) do pcall(h.stop, h) end
  for _, t in ipairs(self.keep) do
    if type(t) == "userdata" then pcall(dgram.clearTimeout, t) end
  end
  for _ = 1, 200 do
    local ok, more = pcall(dgram.run, "nowait")
    if not ok then self:check_run_error(more) elseif not more then break end
  end
  -- what is still referenced (a timer, a lookup): bounded "once" rounds
  local stop = dgram.now() + 2000
  while dgram.alive() and dgram.now() < stop do self:pump("once") end
  self.leftover_alive = dgram.alive()
  self.zero = 0
  for rec in pairs(self.sends) do -- what is left never ran
    self.zero = self.zero + 1
    self.kind = rec.kind
    self:violation("send-once", "send callback never ran",
      "send made at step " .. rec.step .. " " .. self:send_note(rec))
  end
  for co, kind in pairs(self.coros) do
    if coroutine.status(co) ~= "dead" then
      self.kind = kind
      self:violation("coroutine-finish", "coroutine never finished",
        coroutine.status(co) .. " " .. tostring(self.coro_notes[co]))
    end
  end
end

local function sorted_counts(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return t[a] > t[b] or (t[a] == t[b] and a < b) end)
  return keys
end

function E:report(out)
  out = out or print
  out(("calls made: %d (ok %d, raised %d); attack steps: %d%s"):format(self.calls, self.ok,
    self.calls - self.ok, self.step, self.timed_out and " (stopped by the time bound)" or ""))
  out(("send callbacks tracked: %d; ran zero times: %d; ran twice or more: %d"):format(
    self.send_ids, self.zero or 0, self.double or 0))
  out(("errors out of dgram.run: %d; Lua stack limits hit: %d; loop alive at the end: %s")
    :format(self.run_errors, self.lua_limits, tostring(self.leftover_alive)))
  local codes = {}
  for _, k in ipairs(sorted_counts(self.errors)) do
    codes[#codes + 1] = k .. "=" .. self.errors[k]
  end
  out("errors by code: " .. table.concat(codes, " "))
  local kinds = {}
  for _, k in ipairs(sorted_counts(self.kinds)) do kinds[#kinds + 1] = k .. "=" .. self.kinds[k] end
  out("attack kinds: " .. table.concat(kinds, " "))
  local keys = sorted_counts(self.violations)
  local known, broken = self.opts.known or {}, 0
  for _, k in ipairs(keys) do
    if not known[self.checks[k]] then broken = broken + 1 end
  end
  out(("violations: %d (and %d of checks listed as known open)"):format(broken,
    #keys - broken))
  for _, k in ipairs(keys) do
    out(("  %s%s (%d)"):format(known[self.checks[k]] and "known: " or "", k,
      self.violations[k]))
    for _, ex in ipairs(self.examples[k]) do out("    " .. ex) end
  end
  return broken
end

return E

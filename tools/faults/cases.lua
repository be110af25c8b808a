-- Fault injection cases for `make faults` (tools/faults.lua) and spec/faults_nsspec.lua.
-- They change routes, firewall rules and queueing disciplines: run them only inside a
-- private network namespace (tools/netns.sh; spec/run.sh for the spec). Each case returns
-- { name=, expected=, outcome=, ok=, usable=, detail= }: `expected` is the outcome API.md
-- documents, `usable` whether the socket still carried a datagram afterwards.
local U = require("looputil")

local C = {}

-- Runs a shell command without the sanitizer preload; true on success.
local function sh(cmd)
  local quoted = cmd:gsub("'", "'\\''")
  local ok = os.execute("env -u LD_PRELOAD sh -c '" .. quoted .. "' >/dev/null 2>&1")
  return ok == true
end
C.sh = sh

-- Whether `s` (open) can still send a datagram that a fresh server receives.
local function usable(dgram, s, family)
  local server, port = U.bound(dgram, { type = family or "udp4" })
  local got
  server:on("message", function(msg) got = msg end)
  local host = family == "udp6" and "::1" or "127.0.0.1"
  local ok = pcall(s.send, s, "still usable", port, host)
  if ok then U.run_until(dgram, 2, function() return got ~= nil end) end
  server:close()
  return got == "still usable"
end

local function result(name, expected, outcome, is_usable, detail)
  return { name = name, expected = expected, outcome = outcome,
           ok = outcome == expected and is_usable ~= false, usable = is_usable,
           detail = detail }
end

-- A connected socket whose peer port is closed: the ICMP port unreachable comes back as
-- ECONNREFUSED (to a send callback, or as 'error' with syscall recvmsg) after the
-- callback of the send that provoked it; then the same socket reaches a new server.
function C.icmp_refused(dgram)
  local port = U.free_port(dgram)
  local c = dgram.createSocket("udp4")
  local events = {}
  c:on("error", function(e)
    events[#events + 1] = "error:" .. tostring(e.code) .. "/" .. tostring(e.syscall)
  end)
  local connected = false
  c:connect(port, "127.0.0.1", function() connected = true end)
  U.run_until(dgram, 2, function() return connected end)
  c:send("ping", function(err) events[#events + 1] = "cb1:" .. (err and err.code or "ok") end)
  U.run_until(dgram, 1, function() return #events >= 2 end)
  c:send("ping2", function(err) events[#events + 1] = "cb2:" .. (err and err.code or "ok") end)
  U.run_until(dgram, 1, function() return #events >= 3 end)
  local text = table.concat(events, " ")
  local refused = text:find("ECONNREFUSED", 1, true) ~= nil
  local order_ok = events[1] == "cb1:ok"
  local where = text:find("error:ECONNREFUSED/recvmsg", 1, true) and "'error' (recvmsg)" or
    (text:find("cb2:ECONNREFUSED", 1, true) and "the next send's callback" or "nowhere")
  -- the peer comes up on that port: the connected socket reaches it
  local server = dgram.createSocket("udp4")
  local got
  server:on("message", function(msg) got = msg end)
  server:bind(port, "127.0.0.1")
  U.run_until(dgram, 1, function() return pcall(server.address, server) end)
  c:send("after")
  U.run_until(dgram, 2, function() return got ~= nil end)
  server:close()
  c:close()
  dgram.run("nowait")
  local outcome = not refused and "no ECONNREFUSED" or
    (order_ok and "ECONNREFUSED after the send's callback" or
      "ECONNREFUSED before the send's callback")
  local r = result("ICMP port unreachable on a connected socket",
    "ECONNREFUSED after the send's callback", outcome, got == "after",
    "events: " .. text .. "; surfaced in " .. where)
  if refused and not order_ok then r.item = "behaviours" end -- open in issue 10
  return r
end

-- A send over a route the namespace refuses: the callback gets the errno, with the
-- destination in the error; the socket then reaches a server on loopback.
local function route_case(dgram, name, route, dest, expected)
  assert(sh("ip route replace " .. route), "cannot add the route " .. route)
  local s = dgram.createSocket("udp4")
  local err, calls
  s:on("error", function() end)
  calls = 0
  s:send("x", 9, dest, function(e)
    calls = calls + 1
    err = e
  end)
  U.run_until(dgram, 2, function() return calls > 0 end)
  local is_usable = usable(dgram, s)
  s:close()
  dgram.run("nowait")
  sh("ip route del " .. route)
  local outcome = err and err.code or (calls > 0 and "sent" or "no callback")
  local detail = err and ("%s (address %s, port %s)"):format(err.message,
    tostring(err.address), tostring(err.port)) or ""
  if err and (err.address ~= dest or err.port ~= 9) then
    outcome = outcome .. " without its destination"
  end
  return result(name, expected, outcome, is_usable, detail)
end

function C.unreachable(dgram)
  return route_case(dgram, "route 'unreachable'", "unreachable 203.0.113.0/24",
    "203.0.113.5", "EHOSTUNREACH")
end

function C.prohibit(dgram)
  return route_case(dgram, "route 'prohibit'", "prohibit 198.51.100.0/24", "198.51.100.5",
    "EACCES")
end

function C.blackhole(dgram)
  return route_case(dgram, "route 'blackhole'", "blackhole 100.64.0.0/10", "100.64.0.1",
    "EINVAL")
end

-- No route at all (the namespace has only lo).
function C.no_route(dgram)
  local s = dgram.createSocket("udp4")
  s:on("error", function() end)
  local err, calls = nil, 0
  s:send("x", 9, "192.0.2.5", function(e)
    calls = calls + 1
    err = e
  end)
  U.run_until(dgram, 2, function() return calls > 0 end)
  local is_usable = usable(dgram, s)
  s:close()
  dgram.run("nowait")
  return result("no route to the network", "ENETUNREACH", err and err.code or "sent",
    is_usable, err and err.message or "")
end

-- bind to an address that is not on the machine: 'error' EADDRNOTAVAIL (syscall bind),
-- the socket is unbound again and a second bind works.
function C.addr_not_avail(dgram)
  local s = dgram.createSocket("udp4")
  local err
  s:on("error", function(e) err = e end)
  s:bind(0, "192.0.2.1")
  U.run_until(dgram, 2, function() return err ~= nil end)
  local listening = false
  local ok = pcall(s.bind, s, 0, "127.0.0.1", function() listening = true end)
  U.run_until(dgram, 2, function() return listening end)
  local is_usable = ok and listening and usable(dgram, s)
  s:close()
  dgram.run("nowait")
  local outcome = err and (err.code .. "/" .. tostring(err.syscall)) or "no error"
  return result("bind to an address not on the machine", "EADDRNOTAVAIL/bind", outcome,
    is_usable, err and err.message or "")
end

return C

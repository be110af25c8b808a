-- Hostile values for the fuzzer: numbers at every edge, random bytes, address-like
-- strings (real multicast and broadcast ones among them, hence the private network
-- namespace), tables and functions. Everything is drawn from math.random, which the
-- fuzzer seeds, so a seed replays the same values.
local V = {}

local random = math.random

function V.pick(list)
  return list[random(#list)]
end

function V.chance(p)
  return random() < p
end

local numbers = {
  0, -0.0, 1, -1, 2, 255, 256, 1023, 1024, 65535, 65536, -65536, 41234, 1.5, -1.5, 0.5,
  0 / 0, 1 / 0, -1 / 0, math.maxinteger, math.mininteger, 2 ^ 31, 2 ^ 31 - 1, -2 ^ 31,
  2 ^ 32, 2 ^ 32 + 10, 2 ^ 53, 2 ^ 63, 1e308, -1e308, 5e-324, 9007199254740993,
  0x7fffffff, 0xffffffff, -0x80000000,
}

function V.number()
  if V.chance(0.3) then return random(-70000, 70000) end
  return V.pick(numbers)
end

-- Random bytes, any value, short mostly.
function V.bytes(max)
  local n = random(0, max or 32)
  local t = {}
  for i = 1, n do t[i] = string.char(random(0, 255)) end
  return table.concat(t)
end

local strings = {
  "", " ", "0", "41234", " 41234", "41234 ", "0x10", "1e3", "-1", "65536", "NaN", "inf",
  "udp4", "udp6", "udp", "UDP4", "message", "error", "close", "listening", "connect",
  "default", "once", "nowait", "r", "w", "rw", "wr", "x", "SIGINT", "SIGTERM", "SIGHUP",
  "SIGKILL", "\0", "localhost", "localhost\0", "%", "%%s%n", ("x"):rep(300),
}

local big = ("B"):rep(65508)
local huge = ("H"):rep(65536 + 17)

function V.string()
  local r = random()
  if r < 0.45 then return V.pick(strings) end
  if r < 0.75 then return V.bytes(40) end
  if r < 0.78 then return V.chance(0.5) and big or huge end
  return V.address()
end

local function octet()
  return tostring(V.pick({ 0, 1, 127, 224, 239, 255, random(0, 255), 256, 999, -1, "01",
    "0x7f" }))
end

local function v4()
  if V.chance(0.4) then
    return V.pick({ "127.0.0.1", "0.0.0.0", "255.255.255.255", "224.0.0.1", "239.1.2.3",
      "127.255.255.255", "10.0.0.1", "192.0.2.1", "127.0.0.2", "169.254.0.1" })
  end
  return table.concat({ octet(), octet(), octet(), octet() }, ".")
end

local function v6()
  if V.chance(0.5) then
    return V.pick({ "::1", "::", "ff02::1", "ff01::1", "ff05::1:3", "::ffff:127.0.0.1",
      "::ffff:7f00:1", "fe80::1", "fe80::1%lo", "fe80::1%1", "fe80::1%nosuchif",
      "fe80::1%" .. ("i"):rep(40), "2001:db8::1", "::ffff:255.255.255.255", "1::2::3",
      "[::1]", "::1%", ("0:"):rep(8) .. "1" })
  end
  local parts = {}
  for i = 1, random(1, 8) do parts[i] = string.format("%x", random(0, 0xffff)) end
  return table.concat(parts, V.pick({ ":", "::" }))
end

-- Address-like text: literals of both families, scopes, prefixes, and the tricks a
-- parser may cut instead of refuse (an embedded NUL, overlong text, odd prefixes).
function V.address()
  local a = V.chance(0.55) and v4() or v6()
  local r = random()
  if r < 0.1 then
    a = a .. "\0" .. V.pick({ ".evil", "/8", "", "x", "%lo" })
  elseif r < 0.2 then
    a = a .. V.pick({ "/8", "/32", "/0", "/08", "/ 8", "/+8", "/-1", "/33", "/129", "/",
      "/104", "/64", "/8/8" })
  elseif r < 0.24 then
    a = a .. "%" .. V.bytes(12)
  elseif r < 0.27 then
    a = ("1"):rep(random(40, 80)) .. a
  elseif r < 0.3 then
    a = " " .. a
  end
  return a
end

-- A port-ish value: mostly valid, often not.
function V.port(live)
  local r = random()
  if r < 0.4 and live then return live end
  if r < 0.6 then return random(1, 65535) end
  if r < 0.7 then return tostring(random(0, 70000)) end
  return V.number()
end

-- A value of any type; `extra` (optional) adds caller-provided hostile values.
function V.any(extra)
  local r = random()
  if r < 0.3 then return V.number() end
  if r < 0.6 then return V.string() end
  if r < 0.65 then return nil end
  if r < 0.7 then return V.chance(0.5) end
  if r < 0.75 then return function() end end
  if r < 0.8 then return {} end
  if r < 0.83 then return coroutine.create(function() end) end
  if r < 0.86 then return { V.string(), V.string() } end
  if r < 0.89 then return io.stdout end
  if extra then return extra() end
  return V.string()
end

-- n hostile arguments.
function V.args(n, extra)
  local t = { n = n }
  for i = 1, n do t[i] = V.any(extra) end
  return t
end

-- setmetatable(t, mt) whose mt.__gc runs on every Lua (spec/gcmodes.lua: on 5.1 and
-- LuaJIT, a proxy userdata that t holds calls mt.__gc(t)).
V.finalized = require("gcmodes").setmetatable

return V

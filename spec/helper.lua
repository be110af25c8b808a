-- Shared by the specs: a bounded loop run, sockets that are closed after each test.
local dgram = require("dgram")

local H = { dgram = dgram }
local open = {}

-- Under valgrind everything is ~30x slower: deadlines stretch with it.
H.scale = os.getenv("DGRAM_SLOW") and 20 or 1

-- createSocket, remembered so that H.cleanup() closes it.
function H.socket(...)
  local s = dgram.createSocket(...)
  open[#open + 1] = s
  return s
end

function H.cleanup()
  for i = #open, 1, -1 do
    pcall(open[i].close, open[i])
    open[i] = nil
  end
  for _ = 1, 10 do
    local ok, more = pcall(dgram.run, "nowait")
    if ok and not more then break end
  end
end

-- Runs the loop until nothing referenced is left, failing after `ms` milliseconds
-- (every tracked socket is closed then, so the loop can end).
function H.run(ms)
  local timed_out = false
  local deadline = dgram.setTimeout((ms or 3000) * H.scale, function()
    timed_out = true
    for i = #open, 1, -1 do pcall(open[i].close, open[i]) end
  end)
  deadline:unref()
  local ok, err = pcall(dgram.run)
  dgram.clearTimeout(deadline)
  if not ok then error(err, 0) end
  if timed_out then error("the loop did not finish in time", 2) end
end

-- A udp4/udp6 socket bound to the loopback address on a random port; returns it, its
-- port and its host once 'listening' has been emitted (the loop runs until then).
function H.bound(kind, opts)
  local o = { type = kind or "udp4" }
  for k, v in pairs(opts or {}) do o[k] = v end
  local s = H.socket(o)
  local host = o.type == "udp6" and "::1" or "127.0.0.1"
  local listening = false
  s:bind(0, host, function() listening = true end)
  for _ = 1, 1000 do
    if listening then break end
    dgram.run("once")
  end
  assert(listening, "the socket did not emit 'listening'")
  return s, s:address().port, host
end

-- os.execute for a helper command, without the sanitizers `make asan` preloads into
-- lua5.4 (they would report the command's own leaks).
function H.execute(cmd)
  return os.execute("env -u LD_PRELOAD sh -c '" .. cmd:gsub("'", "'\\''") .. "'")
end

-- Calls fn(...) expecting it to raise an error object with `code`; returns the object.
function H.raises(code, fn, ...)
  local assert = require("luassert")
  local ok, err = pcall(fn, ...)
  assert.is_false(ok, "expected an error " .. code)
  assert.equals("table", type(err), "errors are tables, got: " .. tostring(err))
  assert.equals(code, err.code, "wrong code; message: " .. tostring(err.message))
  return err
end

-- Runs the loop one round at a time until done() is true or `ms` have passed (bounded in
-- rounds too); returns done(). Sockets stay open.
function H.run_until(ms, done)
  local expired = false
  local deadline = dgram.setTimeout(ms * H.scale, function() expired = true end)
  local ok, err = pcall(function()
    for _ = 1, 100000 do
      if expired or done() then return end
      dgram.run("once")
    end
  end)
  dgram.clearTimeout(deadline)
  if not ok then error(err, 0) end
  return done()
end

-- Lets the loop run for `ms`, so that what should not happen has had its chance.
function H.quiet(ms)
  H.run_until(ms, function() return false end)
end

-- All 256 byte values, in order.
H.all_bytes = (function()
  local t = {}
  for i = 0, 255 do t[#t + 1] = string.char(i) end
  return table.concat(t)
end)()

-- For the *_nsspec files, which run inside a private network namespace.
-- nil when this process sees only lo and lo routes 224.0.0.0/4; else why not.
-- /proc/net/* follows the reader's network namespace (/sys/class/net does not: it shows
-- the namespace sysfs was mounted in, so it lists the host's interfaces here).
function H.netns_problem()
  local env = os.getenv("DGRAM_NO_NETNS")
  if env then return env ~= "" and env or "DGRAM_NO_NETNS is set" end
  local f = io.open("/proc/net/dev")
  if not f then return "cannot read /proc/net/dev to check for a private network namespace" end
  local names = {}
  for line in f:lines() do
    local name = line:match("^%s*([^%s:|]+):")
    if name then names[#names + 1] = name end
  end
  f:close()
  if #names ~= 1 or names[1] ~= "lo" then
    return "not inside a private network namespace (interfaces: " .. table.concat(names, ", ") ..
      "); run spec/run.sh as root"
  end
  -- /proc/net/route: destination and mask in hex, network byte order read as a host
  -- (little-endian) word, so 224.0.0.0/4 is 000000E0/000000F0.
  local routes = io.open("/proc/net/route")
  local text = routes and routes:read("a") or ""
  if routes then routes:close() end
  if not text:find("\nlo%s+000000E0%s+%x+%s+%x+%s+%d+%s+%d+%s+%d+%s+000000F0") then
    return "the private network namespace has no 224.0.0.0/4 route on lo " ..
      "(spec/run.sh sets it up: ip link set lo up; ip link set lo multicast on; " ..
      "ip route add 224.0.0.0/4 dev lo)"
  end
  return nil
end

-- A socket bound to loopback that records what it receives as { msg =, rinfo = };
-- returns it, its port and the list.
function H.listener(kind, opts)
  local s, port = H.bound(kind or "udp4", opts)
  local got = {}
  s:on("message", function(msg, rinfo) got[#got + 1] = { msg = msg, rinfo = rinfo } end)
  return s, port, got
end

-- The messages of a listener's list, in the order received.
function H.texts(got)
  local t = {}
  for i, m in ipairs(got) do t[i] = m.msg end
  return t
end

-- A port that was free a moment ago (bound on loopback, then closed).
function H.free_port(kind)
  local s, port = H.bound(kind or "udp4")
  s:close()
  return port
end

-- Runs `script` (Lua source) in a child lua5.4 with this process's LUA_PATH, LUA_CPATH
-- and sanitizer preload, after `shell` (e.g. "ulimit -n 64") in its shell; returns what
-- it printed (stdout and stderr) and its exit status.
function H.lua_child(script, shell)
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  f:write(script)
  f:close()
  local preload = os.getenv("LD_PRELOAD") or ""
  local inner = ("%s; exec env LD_PRELOAD='%s' %s %s"):format(shell or "true", preload,
    os.getenv("LUA") or "lua5.4", path)
  local p = assert(io.popen("env -u LD_PRELOAD sh -c \"" .. inner .. "\" 2>&1; echo \"exit=$?\""))
  local out = p:read("a")
  p:close()
  os.remove(path)
  local status = tonumber(out:match("exit=(%d+)%s*$"))
  return (out:gsub("exit=%d+%s*$", "")), status
end

return H

-- Shared by the specs: tracked sockets closed after each test, bounded loop runs, child
-- processes, error checks; the helpers that exchange datagrams are in spec/helper_net.lua.
local dgram = require("dgram")
local gcmodes = require("gcmodes")

local H = { dgram = dgram }
local open = {}

-- The Lua this run tests (`make test LUA=lua5.3`: lua5.4, lua5.3, lua5.1 or luajit) and
-- the Makefile's build directory for it (build/ for 5.4, build/<lua> for the others, and
-- <that>/portable under PORTABLE=1).
H.lua = os.getenv("LUA") or "lua5.4"
H.build = os.getenv("DGRAM_BUILD") or "build"
-- The C flags and pkg-config name for a C harness built against it (the Makefile's: LuaJIT
-- finds lua-compat53's compat-5.3.h in lua5.1's include directory).
H.lua_cflags = (H.lua == "luajit" and "-idirafter /usr/include/lua5.1 " or "")
  .. "$(pkg-config --cflags " .. H.lua .. ") "

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

-- Runs a shell command without the sanitizers' preloads; returns its output (stdout and
-- stderr) and exit status.
function H.sh(cmd)
  local p = assert(io.popen("env -u LD_PRELOAD sh -c " .. H.shell_quote(cmd) ..
    " 2>&1; echo \"exit=$?\""))
  local out = p:read("*a")
  p:close()
  local status = tonumber(out:match("exit=(%d+)%s*$"))
  return out:gsub("exit=%d+%s*$", ""), status
end

-- A fresh temporary directory holding child.lua with `code`; returns its path.
function H.child_dir(code)
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir -p " .. H.shell_quote(dir)))
  local f = assert(io.open(dir .. "/child.lua", "w"))
  f:write(code)
  f:close()
  return dir
end

-- The text of the file at `path`, or "" when there is none.
function H.read_text(path)
  local f = io.open(path)
  local text = f and f:read("*a") or ""
  if f then f:close() end
  return text
end

-- Removes a directory made by H.child_dir, with what is in it.
function H.remove_dir(dir)
  os.execute("rm -rf " .. H.shell_quote(dir))
end

-- The valgrind command prefix under `make valgrind` (C harnesses run under memcheck
-- too), else "".
function H.valgrind_prefix()
  if not os.getenv("DGRAM_VALGRIND") then return "" end
  return "valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect "
    .. "--errors-for-leak-kinds=definite,indirect "
end

-- A string quoted for sh.
function H.shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

-- The environment a child lua5.4 needs to load this run's module, as a prefix for its
-- command: under `make asan` the module is built with AddressSanitizer and does not load
-- without its runtime, which H.execute drops, so it is preloaded again (the child is
-- then checked as well).
-- (LeakSanitizer's tracer dies with "Tracer caught signal 11" at the exit of some of these
-- short children on this machine, reporting nothing: a child checks memory errors, the
-- spec process itself checks leaks as well.)
function H.child_env()
  if os.getenv("DGRAM_ASAN") and os.getenv("LD_PRELOAD") then
    return "LD_PRELOAD=" .. H.shell_quote(os.getenv("LD_PRELOAD")) ..
      " ASAN_OPTIONS=detect_leaks=0:abort_on_error=0:exitcode=99 "
  end
  return ""
end

-- io.popen for a child command, stdout and stderr together, without the sanitizers
-- `make asan` preloads into lua5.4 (as H.execute).
-- Its close() returns what 5.2's does (true or nil, "exit", the status) on every Lua:
-- 5.1's returns true alone, so there the status comes through a file.
function H.popen(cmd)
  local line = "env -u LD_PRELOAD sh -c '" .. cmd:gsub("'", "'\\''") .. "' 2>&1"
  if _VERSION ~= "Lua 5.1" then return assert(io.popen(line)) end
  local status_file = os.tmpname()
  local p = assert(io.popen(line .. "; echo $? >" .. status_file))
  local handle = {}
  for _, name in ipairs({ "read", "lines" }) do
    handle[name] = function(_, ...) return p[name](p, ...) end
  end
  function handle.close()
    p:close()
    local code = tonumber(H.read_text(status_file):match("%d+"))
    os.remove(status_file)
    if code == 0 then return true, "exit", 0 end
    return nil, "exit", code
  end
  return handle
end

-- Calls fn(...) expecting it to raise an error object (a table); returns the object.
function H.raised(fn, ...)
  local assert = require("luassert")
  local ok, err = pcall(fn, ...)
  assert.is_false(ok, "expected an error to be raised")
  assert.equals("table", type(err), "errors are error objects: " .. tostring(err))
  return err
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

-- H.run_until with the arguments the other way round: cond first, `ms` (default 2000)
-- second.
function H.wait(cond, ms) return H.run_until(ms or 2000, cond) end

-- Runs the loop (dgram.run(mode)) with pcall under an unreferenced deadline of `ms`
-- (default 2000); `on_deadline` (if any) runs when it passes, to close what keeps the loop
-- up. Returns pcall's results packed, with `expired` set when the deadline passed.
function H.prun(ms, on_deadline, mode)
  local expired = false
  local deadline = dgram.setTimeout((ms or 2000) * H.scale, function()
    expired = true
    if on_deadline then on_deadline() end
  end)
  deadline:unref()
  local res = table.pack(pcall(dgram.run, mode))
  dgram.clearTimeout(deadline)
  res.expired = expired
  return res
end

-- Runs the loop (H.run(ms)) expecting it to raise; returns what was raised.
function H.run_error(ms)
  local assert = require("luassert")
  local ok, err = pcall(H.run, ms)
  assert.is_false(ok, "dgram.run() should have raised")
  return err
end

-- Calls fn(...) expecting no error.
function H.no_raise(fn, ...)
  local assert = require("luassert")
  local ok, err = pcall(fn, ...)
  assert.is_true(ok, "unexpected error: " .. tostring(type(err) == "table" and
    (tostring(err.code) .. " " .. tostring(err.message)) or err))
end

-- Asserts that the loop is idle: nothing referenced is left behind.
function H.assert_idle()
  local assert = require("luassert")
  local more
  for _ = 1, 20 do
    more = dgram.run("nowait")
    if not more then break end
  end
  assert.is_false(more)
end

-- Wall-clock seconds on the loop's monotonic clock.
function H.now() return dgram.now() / 1000 end

-- A function that does nothing.
function H.nop() end

-- A listener that appends { tag = tag, args = table.pack(...) } to `log` when called.
function H.recorder(log, tag)
  return function(...)
    log[#log + 1] = { tag = tag, args = table.pack(...) }
  end
end

-- The tags of a H.recorder `log`, in order.
function H.tags(log)
  local out = {}
  for i, e in ipairs(log) do out[i] = e.tag end
  return out
end

-- How many keys table `t` has.
function H.count(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n
end

-- All 256 byte values, in order.
H.all_bytes = (function()
  local t = {}
  for i = 0, 255 do t[#t + 1] = string.char(i) end
  return table.concat(t)
end)()

-- Host work between runs: burns `ms` of loop-clock time without running the loop.
function H.busy_wait(ms)
  local stop = dgram.now() + ms
  while dgram.now() < stop do end
end

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
  local text = routes and routes:read("*a") or ""
  if routes then routes:close() end
  if not text:find("\nlo%s+000000E0%s+%x+%s+%x+%s+%d+%s+%d+%s+%d+%s+000000F0") then
    return "the private network namespace has no 224.0.0.0/4 route on lo " ..
      "(spec/run.sh sets it up: ip link set lo up; ip link set lo multicast on; " ..
      "ip route add 224.0.0.0/4 dev lo)"
  end
  return nil
end

-- Runs `code` in a child lua5.4 (this run's LUA_PATH and LUA_CPATH, arguments `...`) for
-- what only a fresh process shows (its Lua state closing, a crash, os.exit); returns
-- whether it exited with status 0 within `seconds` (default 20, scaled), and what it
-- printed (stdout and stderr). Under `make asan` the child is checked as well.
function H.child(code, seconds, ...)
  local dir = H.child_dir(code)
  local args = {}
  for i, a in ipairs({ ... }) do args[i] = H.shell_quote(a) end
  local ok = H.execute(("%stimeout %d %s %s %s >%s 2>&1"):format(H.child_env(),
    (seconds or 20) * H.scale, H.lua, H.shell_quote(dir .. "/child.lua"), table.concat(args, " "),
    H.shell_quote(dir .. "/out")))
  local output = H.read_text(dir .. "/out")
  H.remove_dir(dir)
  return ok == true, output
end

-- Calls fn() so that the finalizers of the objects make() leaves as garbage run at the
-- first allocation inside it: the generational collector, entered afresh (a full
-- collection) and restarted just before, makes a minor collection there, which runs every
-- pending finalizer at once. H.in_call is true while fn runs, for the finalizers to see.
-- Returns pcall(fn)'s status and fn's first result or error.
H.in_call = false
function H.finalize_inside(make, fn)
  gcmodes.incremental()
  collectgarbage("collect")
  gcmodes.eager() -- (other Luas than 5.4: gcmodes.lua)
  collectgarbage("stop")
  make()
  collectgarbage("restart")
  H.in_call = true
  local ok, result = pcall(fn) -- nothing here allocates but fn
  H.in_call = false
  gcmodes.incremental()
  collectgarbage("collect") -- the finalizers that did not run inside fn run now
  return ok, result
end

-- How many descriptors this process has open (Linux).
function H.open_fds()
  local p = assert(io.popen("env -u LD_PRELOAD ls /proc/" .. H.pid() .. "/fd"))
  local n = 0
  for _ in p:lines() do n = n + 1 end
  p:close()
  return n
end

-- This process's id.
function H.pid()
  local f = assert(io.open("/proc/self/stat"))
  local pid = f:read("*n")
  f:close()
  return pid
end

local netns_checked -- false once H.netns_problem found nothing, else the problem

-- For the *_nsspec files: marks the running test pending (busted's `pending`, passed in)
-- with the reason when this is not a private network namespace set up for them.
function H.need_netns(pending)
  if netns_checked == nil then netns_checked = H.netns_problem() or false end
  if netns_checked then pending(netns_checked) end
end

-- What a state that leaves work and never ran dgram.run() prints on stderr as it closes.
H.FORGOTTEN_RUN_HINT = "dgram: the script ended with work waiting (sends, binds, timers) "
  .. "and never ran dgram.run()\n"

-- The helpers that exchange datagrams (spec/helper_net.lua) add themselves to H.
package.loaded.helper = H
require("helper_net")

-- Runs `script` (Lua source) in a child lua5.4 with this process's LUA_PATH, LUA_CPATH
-- and sanitizer preload, after `shell` (e.g. "ulimit -n 64") in its shell, behind the
-- command `prefix` (e.g. valgrind's) if given; returns what it printed (stdout and
-- stderr) and its exit status.
function H.lua_child(script, shell, prefix)
  local dir = H.child_dir(script)
  local out, status = H.sh(("%s; exec env %s%s%s %s"):format(shell or "true", H.child_env(),
    prefix or "", H.lua, H.shell_quote(dir .. "/child.lua")))
  H.remove_dir(dir)
  return out, status
end

return H

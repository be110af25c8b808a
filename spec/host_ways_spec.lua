-- The three ways to run dgram inside a host, each run as a child process as a user runs
-- it: dgram.run("nowait") once per frame (a Lua frame loop, and the C host
-- build/embed-host in nowait mode), dgram.backendFd() in the host's own poll() (the C host
-- in poll mode), and luv (lua-luv) driving dgram or driven by it. Each asserts the echo
-- bytes that came back, how many datagrams were answered and the exit status.
-- DGRAM_VALGRIND=1 runs every child under valgrind memcheck (errors exit 99).
local H = require("helper")

local HOST = H.build .. "/embed-host"
local VALGRIND = "valgrind -q --error-exitcode=99 --leak-check=full"

-- The command line of a child: this tree's modules, bounded in time, under valgrind when
-- asked. `timeout` ends a child that hangs (exit 124), so no test waits for ever; the
-- shell execs it, so the shell's $$ is the pid that signals reach the child through.
local function child(cmd)
  local prefix = "LUA_PATH='./lua/?.lua;./lua/?/init.lua;;' LUA_CPATH='./" .. H.build
    .. "/?.so;;'; " ..
    ("export LUA_PATH LUA_CPATH; exec timeout %d "):format(20 * H.scale)
  if os.getenv("DGRAM_VALGRIND") then prefix = prefix .. VALGRIND .. " " end
  return prefix .. cmd
end

-- Runs a child to its end; returns its output (stdout and stderr) and exit code.
local function run_child(cmd)
  local p = H.popen(child(cmd))
  local out = p:read("*a")
  local _, _, code = p:close()
  return out, code
end

-- How many times `plain` (no pattern) occurs in `text`.
local function count(text, plain)
  local n, at = 0, 1
  while true do
    local i, j = text:find(plain, at, true)
    if not i then return n end
    n, at = n + 1, j + 1
  end
end

-- Asserts that each of ping #1..#n came back exactly once, as "<label>ping #i".
local function assert_pings(out, label, n)
  for i = 1, n do
    assert.equals(1, count(out, ("%sping #%d\n"):format(label, i)),
      ("%sping #%d once in:\n%s"):format(label, i, out))
  end
  assert.equals(n, count(out, label .. "ping #"), out)
end

-- The host's summary line as a table of its fields (numbers where they are numbers).
local function summary(out)
  local line = out:match("embed%-host: (frames=[^\n]*)")
  assert.is_string(line, "no summary line in:\n" .. tostring(out))
  local t = {}
  for k, v in line:gmatch("([%w_]+)=(%S+)") do t[k] = tonumber(v) or v end
  return t
end

local function luv_problem()
  local ok, err = pcall(require, "luv")
  if ok then return nil end
  return "lua-luv is not installed (require('luv') failed: " .. tostring(err):match("[^\n]*") ..
    "); `make test` installs it"
end

-- A host reading its own stdout line by line: returns the popen handle.
local function start_host(args)
  return H.popen(child(HOST .. " " .. args))
end

-- Reads lines from `p` until one matches `pattern`; returns its capture (nil at EOF),
-- and everything read so far.
local function read_until(p, pattern)
  local seen = {}
  for line in p:lines() do
    seen[#seen + 1] = line
    local capture = line:match(pattern)
    if capture then return capture, table.concat(seen, "\n") end
  end
  return nil, table.concat(seen, "\n")
end

-- Sends `msgs` from one socket of this process to 127.0.0.1:port and runs the loop until
-- as many replies came back (or `ms` passed); returns the replies, in arrival order.
local function exchange(port, msgs, ms)
  local client = H.socket("udp4")
  local replies = {}
  client:on("message", function(msg, rinfo) -- other processes' strays are not replies
    if rinfo.port == port then replies[#replies + 1] = msg end
  end)
  for _, m in ipairs(msgs) do client:send(m, port, "127.0.0.1") end
  H.run_until(ms or 5000, function() return #replies >= #msgs end)
  client:close()
  return replies
end

setup(function()
  -- The children need the plain build and the host, whatever this process loaded.
  assert(H.execute("make -s all embed-host embed-host-static >/dev/null"),
    "make all embed-host embed-host-static failed")
end)

after_each(H.cleanup)

describe("way 1: dgram.run('nowait') once per frame", function()
  it("a Lua frame loop gets every echo back, one datagram per frame, and ends by itself",
    function()
      local out, code = run_child(H.lua .. " examples/host_frame_loop.lua 20")
      assert.equals(0, code, out)
      assert_pings(out, "client got echo: ", 20)
      assert.truthy(out:find("host_frame_loop: 20 of 20 echoes in %d+ frames\n"), out)
    end)

  it("the C host in nowait mode runs a script that sends from on_frame", function()
    local out, code = run_child(HOST .. " --mode=nowait examples/embed/frame_echo.lua 15")
    assert.equals(0, code, out)
    assert_pings(out, "client got echo: ", 15)
    assert.truthy(out:find("frame_echo: 15 of 15 echoes by frame %d+\n"), out)
    local s = summary(out)
    assert.equals("nowait", s.mode)
    assert.is_true(s.frames >= 16, out) -- one ping per frame, the stop in a frame of its own
    assert.equals(s.frames, s.runs, out) -- nowait: exactly one run per frame
    assert.equals(0, s.wakeups, out)
  end)
end)

describe("the C host linked with libdgram.a (include/dgram.h, no core.so)", function()
  it("runs the same script in both modes, finding no module files", function()
    for _, mode in ipairs({ "nowait", "poll" }) do
      -- from /tmp with empty Lua paths: only what is linked in can be loaded
      local out, code = run_child(("env -C /tmp LUA_PATH=';' LUA_CPATH=';' %s/%s-static " ..
        "--mode=%s %s/examples/embed/frame_echo.lua 10"):format(os.getenv("PWD"), HOST, mode,
        os.getenv("PWD")))
      assert.equals(0, code, out)
      assert_pings(out, "client got echo: ", 10)
      assert.equals(mode, summary(out).mode)
    end
  end)
end)

describe("way 2: the C host polls dgram.backendFd() itself", function()
  it("runs a script that sends from on_frame, waking in poll() for the echoes", function()
    local out, code = run_child(HOST .. " --mode=poll examples/embed/frame_echo.lua 15")
    assert.equals(0, code, out)
    assert_pings(out, "client got echo: ", 15)
    local s = summary(out)
    assert.equals("poll", s.mode)
    assert.is_true(s.wakeups >= 1, out) -- the echoes woke the host's own poll()
  end)
end)

describe("the C host serving datagrams sent from outside", function()
  local N = 40
  for _, mode in ipairs({ "nowait", "poll" }) do
    it(("in %s mode answers every one of %d datagrams and exits when the script is done")
      :format(mode, N), function()
      local p = start_host(("--mode=%s examples/echo_server.lua 0 %d"):format(mode, N))
      local port, seen = read_until(p, "^server listening 0%.0%.0%.0:(%d+)$")
      if not port then p:close() end
      assert.is_string(port, "the host did not start the server:\n" .. seen)
      local msgs = {}
      for i = 1, N do msgs[i] = ("datagram %d from the spec"):format(i) end
      local replies = exchange(tonumber(port), msgs)
      local rest = p:read("*a")
      local _, _, code = p:close()
      local out = seen .. "\n" .. rest
      assert.equals(0, code, out)
      table.sort(replies, function(a, b) return #a < #b or (#a == #b and a < b) end)
      assert.same(msgs, replies)
      for i = 1, N do
        assert.equals(1, count(out, ("server got: datagram %d from the spec from 127.0.0.1:")
          :format(i)), out)
      end
      assert.equals(mode, summary(out).mode)
    end)
  end
end)

describe("the C host with nothing referenced (an unref'd socket)", function()
  for _, mode in ipairs({ "poll", "nowait" }) do
    it(("in %s mode sleeps between frames and still answers"):format(mode), function()
      local p = start_host(("--mode=%s --seconds 1 spec/host/unref_idle.lua"):format(mode))
      local port, seen = read_until(p, "^idle: listening (%d+)$")
      if not port then p:close() end
      assert.is_string(port, "the host did not start the script:\n" .. seen)
      assert.same({ "pong:ping" }, exchange(tonumber(port), { "ping" }))
      local rest = p:read("*a")
      local _, _, code = p:close()
      local out = seen .. "\n" .. rest
      assert.equals(0, code, out)
      local s = summary(out)
      -- backendTimeout() is -1 here. A spinning host would run dgram thousands of times
      -- a second and use the whole second of CPU; one that sleeps runs it about once per
      -- frame plus once per wake-up of its poll().
      assert.is_true(s.runs <= s.frames + 2 * s.wakeups + 5, out)
      assert.is_true(s.loop_cpu < 0.3, out)
    end)
  end
end)

describe("the C host's contract", function()
  it("prints a script error with its traceback and exits 1", function()
    local out, code = run_child(HOST .. " --mode=poll spec/host/fails_in_callback.lua")
    assert.equals(1, code, out)
    assert.truthy(out:find("fails_in_callback.lua:%d+: failed in 'listening'"), out)
    assert.truthy(out:find("stack traceback:", 1, true), out)
    assert.equals("poll", summary(out).mode)
  end)

  it("gives the script HOSTED, arg and ..., and calls on_frame with the frame number",
    function()
      local out, code = run_child(HOST .. " --fps 100 --seconds 10 spec/host/frames.lua a b")
      assert.equals(0, code, out)
      assert.truthy(out:find("HOSTED=true arg0=spec/host/frames.lua arg1=a arg2=b ...=a,b\n",
        1, true), out)
      assert.truthy(out:find("frames: 1,2,3,4,5\n", 1, true), out)
      local s = summary(out)
      assert.equals(5, s.frames, out) -- on_frame(5) returned false: the host stopped
      assert.equals(100, s.fps, out)
    end)

  it("stops at SIGTERM with its summary", function()
    local p = H.popen("echo pid $$; " ..
      child(HOST .. " --mode=poll --seconds 60 spec/host/unref_idle.lua"))
    local pid, seen = read_until(p, "^pid (%d+)$")
    local port, more = read_until(p, "^idle: listening (%d+)$")
    assert.is_string(port, seen .. "\n" .. more)
    assert.truthy(H.execute("kill -TERM " .. pid))
    local rest = p:read("*a")
    local _, _, code = p:close()
    assert.equals(0, code, rest)
    assert.equals("SIGTERM", summary(rest).signal, rest)
  end)

  it("leaves SIGTERM to a script that took it with dgram.onSignal", function()
    local p = H.popen("echo pid $$; " ..
      child(HOST .. " --mode=poll --seconds 60 spec/host/graceful.lua"))
    local pid, seen = read_until(p, "^pid (%d+)$")
    local ready, more = read_until(p, "^graceful: (ready)$")
    assert.equals("ready", ready, seen .. "\n" .. more)
    assert.truthy(H.execute("kill -TERM " .. pid))
    local rest = p:read("*a")
    local _, _, code = p:close()
    assert.equals(0, code, rest)
    assert.truthy(rest:find("graceful: got SIGTERM\ngraceful: stopping\n", 1, true), rest)
    assert.is_nil(summary(rest).signal, rest) -- the host never saw it
  end)

  it("rejects a bad command line with its usage", function()
    local out, code = run_child(HOST .. " --mode=sometimes x.lua")
    assert.equals(2, code, out)
    assert.truthy(out:find("usage: embed-host [--mode=nowait|poll]", 1, true), out)
  end)
end)

describe("way 3: luv and dgram on one thread", function()
  it("luv drives dgram: uv.new_poll(dgram.backendFd()) and a timer", function()
    local problem = luv_problem()
    if problem then pending(problem) return end
    local out, code = run_child(H.lua .. " examples/luv_drives_dgram.lua 12")
    assert.equals(0, code, out)
    assert_pings(out, "server got: ", 12)
    assert_pings(out, "client got echo: ", 12)
    assert.truthy(out:find("luv_drives_dgram: 12 of 12 echoes\n", 1, true), out)
  end)

  it("dgram drives luv: dgram.watch(uv.backend_fd()) and a timer", function()
    local problem = luv_problem()
    if problem then pending(problem) return end
    local out, code = run_child(H.lua .. " examples/dgram_drives_luv.lua 12")
    assert.equals(0, code, out)
    assert_pings(out, "server got: ", 12)
    assert_pings(out, "client got echo: ", 12)
    assert.truthy(out:find("dgram_drives_luv: 12 of 12 echoes\n", 1, true), out)
  end)
end)

-- dgram.watch (another descriptor on dgram's loop) and dgram.onSignal, and Ctrl-C
-- stopping a script blocked in dgram.run() at once.
local H = require("helper")
local dgram = H.dgram

local has_luv, uv = pcall(require, "luv")

describe("dgram.watch", function()
  after_each(H.cleanup)

  it("calls fn('r') when a pipe becomes readable, until stop()", function()
    assert.is_true(has_luv, "lua-luv makes the pipe here (make test installs it)")
    local fds = uv.pipe()
    local seen = {}
    local w
    w = dgram.watch(fds.read, "r", function(events)
      seen[#seen + 1] = events
      seen.data = uv.fs_read(fds.read, 100)
      w:stop()
    end)
    assert.is_true(dgram.alive(), "a started watcher is referenced")
    H.quiet(20)
    assert.same({}, seen) -- nothing written yet
    uv.fs_write(fds.write, "ping")
    assert.is_true(H.run_until(2000, function() return #seen > 0 end))
    H.quiet(20)
    assert.same({ "r" }, { seen[1] })
    assert.equals(1, #seen)
    assert.equals("ping", seen.data)
    assert.is_false(dgram.alive(), "a stopped watcher is not")
    uv.fs_close(fds.read)
    uv.fs_close(fds.write)
  end)

  it("reports 'w' for a writable pipe, and unref() lets run() end", function()
    assert.is_true(has_luv, "lua-luv makes the pipe here (make test installs it)")
    local fds = uv.pipe()
    local got
    local w = dgram.watch(fds.write, "rw", function(events) got = events end)
    assert.is_true(H.run_until(2000, function() return got ~= nil end))
    assert.equals("w", got)
    w:unref()
    assert.is_false(dgram.alive())
    w:ref()
    assert.is_true(dgram.alive())
    assert.equals(w, w:stop())
    w:stop() -- a second stop is harmless
    uv.fs_close(fds.read)
    uv.fs_close(fds.write)
  end)

  it("refuses bad arguments with error objects", function()
    H.raises("ERR_INVALID_ARG_TYPE", dgram.watch, "0", "r", function() end)
    H.raises("ERR_INVALID_ARG_TYPE", dgram.watch, -1, "r", function() end)
    H.raises("ERR_INVALID_ARG_VALUE", dgram.watch, 0, "x", function() end)
    H.raises("ERR_INVALID_ARG_TYPE", dgram.watch, 0, "r")
    local err = H.raises("EBADF", dgram.watch, 100000, "r", function() end)
    assert.equals("poll", err.syscall)
    assert.is_false(dgram.alive())
  end)
end)

-- Starts `code` in a child lua5.4 that prints "ready" once it is about to block, sends
-- it `signal` and returns its exit status, stdout and stderr. Bounded: a child still
-- there 5 s after the signal is killed (status 137 then).
local function signal_child(code, signal)
  local dir = H.child_dir(code)
  local script = ([[
    %s%s %s/child.lua >%s/out 2>%s/err & pid=$!
    i=0
    while [ $i -lt 1000 ] && ! grep -q ready %s/out 2>/dev/null; do sleep 0.01; i=$((i+1)); done
    sleep 0.1
    kill -%s $pid
    i=0
    while [ $i -lt 500 ] && kill -0 $pid 2>/dev/null; do sleep 0.01; i=$((i+1)); done
    kill -KILL $pid 2>/dev/null
    { wait $pid; echo $? > %s/status; } 2>/dev/null
  ]]):format(H.child_env(), H.lua, dir, dir, dir, dir, signal, dir)
  H.execute(script)
  local function read(name) return H.read_text(dir .. "/" .. name) end
  local status, out, err = tonumber(read("status")), read("out"), read("err")
  H.remove_dir(dir)
  return status, out, err
end

-- The child script: a referenced, idle socket keeps dgram.run() blocked for ever.
local BLOCKED = [[
  local dgram = require("dgram")
  local s = dgram.createSocket("udp4")
  s:bind(0, "127.0.0.1")
  %s
  dgram.setTimeout(1, function() print("ready"); io.stdout:flush() end)
  dgram.run()
  print("run returned")
]]

describe("signals", function()
  it("Ctrl-C (SIGINT) stops a script blocked in dgram.run() at once", function()
    local status, out, err = signal_child(BLOCKED:format(""), "INT")
    assert.equals("ready\n", out)
    assert.equals(1, status, "exit status (124/137: the child had to be killed); " .. err)
    assert.is_truthy(err:find("interrupted!", 1, true), err)
  end)

  it("onSignal('SIGINT', fn) runs fn on the loop instead, for a graceful stop", function()
    local status, out, err = signal_child(BLOCKED:format([[
      dgram.onSignal("SIGINT", function(name) print("got " .. name); s:close() end)
    ]]), "INT")
    assert.equals(0, status, err)
    assert.equals("ready\ngot SIGINT\nrun returned\n", out)
  end)

  it("onSignal('SIGTERM', fn) and a handle's stop()", function()
    local status, out, err = signal_child(BLOCKED:format([[
      local h = dgram.onSignal("SIGHUP", function() print("not this one") end)
      h:stop()
      dgram.onSignal("SIGTERM", function(name) print("got " .. name); s:close() end)
    ]]), "TERM")
    assert.equals(0, status, err)
    assert.equals("ready\ngot SIGTERM\nrun returned\n", out)
  end)

  it("a stopped handle gives the signal its default action back", function()
    local status, out = signal_child(BLOCKED:format([[
      dgram.onSignal("SIGTERM", function() print("not this one") end):stop()
    ]]), "TERM")
    assert.equals(143, status) -- killed by SIGTERM (128 + 15), as without dgram
    assert.equals("ready\n", out)
  end)

  it("handles are unreferenced, and bad names raise ERR_UNKNOWN_SIGNAL", function()
    local h = dgram.onSignal("SIGHUP", function() end)
    assert.is_false(dgram.alive())
    assert.is_false(dgram.run())
    h:stop()
    H.raises("ERR_UNKNOWN_SIGNAL", dgram.onSignal, "SIGKILL", function() end)
    H.raises("ERR_UNKNOWN_SIGNAL", dgram.onSignal, 2, function() end)
    H.raises("ERR_INVALID_ARG_TYPE", dgram.onSignal, "SIGINT", "fn")
  end)
end)

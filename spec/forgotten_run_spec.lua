-- A script that starts sends, binds or timers and ends without ever running the loop is
-- told so on stderr, once, and exits as it would have; a script that ran the loop (any
-- mode) or left nothing referenced is not.
local H = require("helper")

local HINT = H.FORGOTTEN_RUN_HINT

local function script(body)
  return 'local dgram = require("dgram")\nlocal s = dgram.createSocket("udp4")\n' .. body
end

describe("a script that never ran dgram.run()", function()
  it("with a send to a host name waiting: the hint, exit status 0", function()
    local ok, out = H.child(script('s:send("lost", 9, "localhost")'))
    assert.is_true(ok, out)
    assert.equals(HINT, out)
  end)

  it("with a send and its callback waiting: the hint", function()
    local ok, out = H.child(script('s:send("x", 9, "127.0.0.1", function() print("cb") end)'))
    assert.is_true(ok, out)
    assert.equals(HINT, out)
  end)

  it("with a bind waiting: the hint", function()
    local ok, out = H.child(script('s:bind(0, function() print("listening") end)'))
    assert.is_true(ok, out)
    assert.equals(HINT, out)
  end)

  it("with a spawned coroutine never started: the hint", function()
    local ok, out = H.child(script('dgram.spawn(function() print("started") end)'))
    assert.is_true(ok, out)
    assert.equals(HINT, out)
  end)

  it("with a timer armed: the hint", function()
    local ok, out = H.child(script('dgram.setTimeout(10, function() print("fired") end)'))
    assert.is_true(ok, out)
    assert.equals(HINT, out)
  end)

  it("with an interval armed: the hint", function()
    local ok, out = H.child(script('dgram.setInterval(10, function() print("fired") end)'))
    assert.is_true(ok, out)
    assert.equals(HINT, out)
  end)

  it("that exits with a failure status still fails, after the hint", function()
    if _VERSION == "Lua 5.1" and not jit then
      return pending("Lua 5.1's os.exit(3, true) does not close the state (no hint then)")
    end
    local ok, out = H.child(script('s:bind(0)\nos.exit(3, true)'))
    assert.is_false(ok)
    assert.equals(HINT, out)
  end)
end)

describe("no hint", function()
  it("when the script ran the loop", function()
    local ok, out = H.child(script('s:bind(0, function() print("listening"); s:close() end)\n'
      .. "dgram.run()"))
    assert.is_true(ok, out)
    assert.equals("listening\n", out)
  end)

  it("when a host ran it with run('nowait') and left work", function()
    local ok, out = H.child(script('s:bind(0, function() print("listening") end)\n'
      .. 'dgram.run("nowait")'))
    assert.is_true(ok, out)
    assert.equals("listening\n", out)
  end)

  it("when the only timer was cleared or unref'd", function()
    local ok, out = H.child(script('dgram.clearTimeout(dgram.setTimeout(10, print))\n'
      .. 'dgram.setTimeout(10, print):unref()\nprint("done")'))
    assert.is_true(ok, out)
    assert.equals("done\n", out)
  end)

  it("when the script started nothing", function()
    local ok, out = H.child(script('print(s.address and "made")'))
    assert.is_true(ok, out)
    assert.equals("made\n", out)
  end)
end)

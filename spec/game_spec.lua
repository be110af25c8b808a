-- A short game: examples/game_server.lua (standalone, and inside build/embed-host) against
-- examples/game_bots.lua, each its own process; the spec reads the lines they print.
-- The thresholds are lenient on purpose (the machine is shared): what must hold exactly is
-- that no input is lost and that the counts agree.
local H = require("helper")

local BOTS, INPUT_HZ, BOT_SECONDS, SILENT_AFTER = 20, 30, 2, 1
local TICK_HZ, SERVER_SECONDS, TIMEOUT_MS = 60, 3.5, 500

-- The children use the normal build (the sanitizers preloaded into this process are not
-- theirs to load).
local ENV = "LUA_PATH='./lua/?.lua;;' LUA_CPATH='./" .. H.build .. "/?.so;;'"

local function read(path)
  local f = io.open(path)
  if not f then return "" end
  local s = f:read("*a")
  f:close()
  return s
end

-- The k=v fields of the line starting with `tag` in `text` (numbers as numbers).
local function fields(text, tag)
  local line = text:match("\n" .. tag .. " [^\n]*") or text:match("^" .. tag .. " [^\n]*")
  assert(line, "no " .. tag .. " line in:\n" .. text)
  local t = {}
  for k, v in line:gmatch("([%w_]+)=(%S+)") do t[k] = tonumber(v) or v end
  return t
end

-- Runs the server (`server` is the command before the script's path) and the bots; returns
-- the server's and the bots' output.
local function game(server, bot_args)
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir " .. dir))
  local script = ([[
    %s %s examples/game_server.lua 0 %d %s %d 0 %d > %s/server 2>&1 &
    pid=$!
    n=0
    until grep -q '^LISTENING' %s/server || [ $n -ge 200 ]; do sleep 0.05; n=$((n + 1)); done
    port=$(sed -n 's/^LISTENING \([0-9]*\).*/\1/p' %s/server)
    [ -n "$port" ] && %s %s examples/game_bots.lua "$port" %s > %s/bots 2>&1
    wait $pid
  ]]):format(ENV, server, TICK_HZ, SERVER_SECONDS, BOTS, TIMEOUT_MS, dir, dir, dir, ENV,
    H.lua, bot_args, dir)
  H.execute("timeout 60 sh -c '" .. script:gsub("'", "'\\''") .. "'")
  local server_out, bots_out = read(dir .. "/server"), read(dir .. "/bots")
  os.execute("rm -rf " .. dir)
  return server_out, bots_out
end

-- `make asan` builds only the sanitized module; the children need the plain one.
local function plain_build()
  local so = H.build .. "/dgram/core.so"
  if not io.open(so) then H.execute("make -s all >/dev/null") end
  assert.is_truthy(io.open(so), "make all did not build the module")
end

local function check_game(server_cmd)
  plain_build()
  local out, bots_out = game(server_cmd, ("%d %d %d %d"):format(BOTS, INPUT_HZ, BOT_SECONDS,
    SILENT_AFTER))
  local s, b = fields(out, "SERVER"), fields(bots_out, "RESULT")

  -- No input lost, and the server's counts agree with each other and with the bots'.
  assert.is_true(b.inputs_sent > 0)
  assert.equals(b.inputs_sent, s.inputs)
  assert.equals(s.inputs, s.received)
  assert.equals(H.dgram.features.kernelDrops and 0 or "nil", s.kernelDrops) -- as printed
  assert.equals(s.snapshots, s.sent)
  assert.equals(0, s.sendErrors)
  assert.is_true(b.snapshots <= s.snapshots)

  -- Every bot joined, got snapshots at half the tick rate at least, and was dropped once
  -- it fell silent; the server stopped by its own clock.
  assert.equals("time", s.stop)
  assert.equals(BOTS, s.clients)
  assert.equals(BOTS, s.peak)
  assert.equals(BOTS, s.dropped)
  assert.equals(0, s.active)
  assert.equals(0, b.starved)
  assert.is_true(b.min_rate >= TICK_HZ / 2, "a bot got " .. b.min_rate .. " snapshots/s")
  assert.is_true(s.ticks >= TICK_HZ * SERVER_SECONDS / 2, s.ticks .. " ticks")

  -- Bot 1 went silent halfway: its snapshots stopped about TIMEOUT_MS later, long before
  -- the others' (which went on for another second).
  assert.is_true(b.bot1_snapshots > 0)
  assert.is_true(b.bot1_after_ms >= TIMEOUT_MS - 100, b.bot1_after_ms .. " ms")
  assert.is_true(b.bot1_after_ms < TIMEOUT_MS + 500, b.bot1_after_ms .. " ms")
  return s, b
end

local function embed_host()
  local host = H.build .. "/embed-host"
  if not io.open(host) then H.execute("make -s embed-host >/dev/null") end
  assert.is_truthy(io.open(host), "make embed-host did not build the host")
  return host .. " --mode=nowait"
end

describe("the game server example", function()
  it("serves 20 bots standalone: no input lost, snapshots at the tick rate", function()
    local s = check_game(H.lua)
    assert.equals("standalone", s.mode)
  end)

  it("serves 20 bots inside the C host (nowait frames)", function()
    local s = check_game(embed_host())
    assert.equals("hosted", s.mode)
  end)

  it("stops on SIGTERM with its line printed, standalone and in the host", function()
    plain_build()
    for _, server in ipairs({ H.lua, embed_host() }) do
      local dir = os.tmpname()
      H.execute(([[
        %s %s examples/game_server.lua 0 60 30 > %s 2>&1 &
        pid=$!
        n=0
        until grep -q '^LISTENING' %s || [ $n -ge 200 ]; do sleep 0.05; n=$((n + 1)); done
        kill -TERM $pid
        wait $pid
        echo "status=$?" >> %s
      ]]):format(ENV, server, dir, dir, dir))
      local out = read(dir)
      os.remove(dir)
      local s = fields(out, "SERVER")
      assert.equals("SIGTERM", s.stop)
      assert.equals(0, s.clients)
      assert.truthy(out:find("status=0", 1, true), out)
    end
  end)
end)

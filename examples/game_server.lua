-- An authoritative game server: clients send inputs, the server ticks at a fixed rate and
-- sends every client one snapshot per tick.
--   lua5.4 examples/game_server.lua port tickHz seconds [expectedClients] [reusePort] [timeoutMs]
--   build/embed-host --mode=nowait examples/game_server.lua port tickHz seconds ...
-- It listens on 127.0.0.1 (a real server would bind "0.0.0.0").
-- port 0 picks a free port. reusePort is 1 to share the port with other processes (the
-- kernel spreads the clients over them). A client silent for timeoutMs (default 1000) is
-- dropped. The server stops after `seconds`, or on SIGINT/SIGTERM, and prints one line:
--   SERVER impl=lua ticks= missed= clients= ... cpu=
-- Wire format (little-endian, shared with examples/game_bots.lua and bench/game/node_server.js):
--   input    "<BI4dbb": 1, input seq, the bot's send time (ms), move x, move y   (15 bytes)
--   snapshot "<BI4I4dii": 2, tick, last input seq, that input's send time, x, y   (25 bytes)
local dgram = require("dgram")

local port = tonumber(arg[1]) or 41240
local tick_hz = tonumber(arg[2]) or 60
local seconds = tonumber(arg[3]) or 10
local expected = tonumber(arg[4]) or 100
local reuse_port = arg[5] == "1" or arg[5] == "true"
local timeout_ms = tonumber(arg[6]) or 1000

local INPUT, SNAPSHOT = 1, 2
local INPUT_FORMAT, INPUT_SIZE, SNAPSHOT_FORMAT = "<BI4dbb", 15, "<BI4I4dii"

-- The receive buffer holds what arrives while the server is busy elsewhere (a tick's
-- broadcast, a late frame, the scheduler): 100 ms of inputs from every client at up to 60
-- Hz, at about 840 bytes of buffer per small datagram (docs/GAME_SERVER.md measures it).
-- Linux doubles the value set and caps it at net.core.rmem_max first.
local INPUTS_HELD_PER_CLIENT, BYTES_PER_DATAGRAM = 6, 840
local recv_buffer = math.max(212992,
  math.floor(expected * INPUTS_HELD_PER_CLIENT * BYTES_PER_DATAGRAM / 2))

local server = dgram.createSocket({
  type = "udp4",
  reusePort = reuse_port,
  recvBufferSize = recv_buffer,
})

-- Clients by address, then port (no key string to build per datagram), and as an array
-- for the broadcast. A client: { address, port, seq, ts, x, y, seen = tick }.
local by_address, list = {}, {}
local tick, joined, dropped, peak = 0, 0, 0, 0
local inputs, snapshots = 0, 0
local timeout_ticks = math.max(1, math.ceil(timeout_ms * tick_hz / 1000))

-- string.pack is Lua 5.3's: on Lua 5.1 and LuaJIT lua-compat53 gives it
local strings = string.pack and string or require("compat53.string")
local unpack, pack = strings.unpack, strings.pack

server:on("message", function(msg, rinfo)
  if #msg ~= INPUT_SIZE then return end -- not an input: ignored
  local kind, seq, ts, dx, dy = unpack(INPUT_FORMAT, msg)
  if kind ~= INPUT then return end
  local address, from = rinfo.address, rinfo.port
  local ports = by_address[address]
  if not ports then
    ports = {}
    by_address[address] = ports
  end
  local c = ports[from]
  if not c then
    c = { address = address, port = from, seq = 0, ts = 0, x = 0, y = 0, seen = tick }
    ports[from] = c
    list[#list + 1] = c
    joined = joined + 1
    if #list > peak then peak = #list end
  end
  inputs = inputs + 1
  if seq > c.seq then -- late or repeated inputs do not move the player back
    c.seq, c.ts = seq, ts
    c.x, c.y = c.x + dx, c.y + dy
  end
  c.seen = tick
end)

-- Removes list[i] (the last client takes its place).
local function drop(i)
  local c = list[i]
  by_address[c.address][c.port] = nil
  list[i] = list[#list]
  list[#list] = nil
  dropped = dropped + 1
end

local function broadcast()
  local send, oldest = server.send, tick - timeout_ticks
  local i = 1
  while i <= #list do
    local c = list[i]
    if c.seen < oldest then
      drop(i)
    else
      send(server, pack(SNAPSHOT_FORMAT, SNAPSHOT, tick, c.seq, c.ts, c.x, c.y), c.port, c.address)
      snapshots = snapshots + 1
      i = i + 1
    end
  end
end

-- Each tick sends one snapshot to every client, together (one sendmmsg per 64): sends made
-- inside a callback leave together anyway; dgram.batch makes it explicit in a host, and
-- would do it if the host called broadcast from its own frame code.
local ticker = dgram.setFixedInterval(1000 / tick_hz, function()
  tick = tick + 1
  if HOSTED then
    dgram.batch(broadcast)
  else
    broadcast()
  end
end)

local stopper, signals
local function stop(why)
  if not ticker then return end
  local missed = ticker:missed()
  dgram.clearInterval(ticker)
  dgram.clearTimeout(stopper)
  for _, h in ipairs(signals) do h:stop() end
  ticker = nil
  local st = server:stats()
  print(("SERVER impl=lua mode=%s stop=%s ticks=%d missed=%d clients=%d peak=%d dropped=%d " ..
    "active=%d inputs=%d snapshots=%d received=%d sent=%d sendErrors=%d kernelDrops=%s " ..
    "queueDrops=%d rcvbuf=%d cpu=%.3f"):format(HOSTED and "hosted" or "standalone", why,
    tick, missed, joined, peak, dropped, #list, inputs, snapshots, st.received,
    st.sent, st.sendErrors, tostring(st.kernelDrops), st.queueDrops,
    server:getRecvBufferSize(), os.clock()))
  io.stdout:flush()
  server:close()
end

stopper = dgram.setTimeout(seconds * 1000, function() stop("time") end)
signals = {
  dgram.onSignal("SIGINT", function() stop("SIGINT") end),
  dgram.onSignal("SIGTERM", function() stop("SIGTERM") end),
}

server:bind(port, "127.0.0.1", function()
  print(("LISTENING %d rcvbuf=%d"):format(server:address().port, server:getRecvBufferSize()))
  io.stdout:flush()
end)

if not HOSTED then dgram.run() end

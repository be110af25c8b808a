-- The benchmark's setup: the mode (quick|full|report), the configuration, shell helpers
-- and the peers (each checked for being installed). Shared by the other bench/*.lua files.
local MODE = arg[1] or "quick"
-- "report": rewrite bench/RESULTS.md from the last full run's figures (after editing
-- bench/NOTES.md), running nothing.
local REPORT = MODE == "report"
if REPORT then MODE = "full" end
if MODE ~= "quick" and MODE ~= "full" then
  io.stderr:write("usage: driver.lua quick|full|report\n")
  os.exit(2)
end
local QUICK = MODE == "quick"

local cfg = {
  runs = QUICK and 1 or 3,      -- the median of this many runs
  flood_secs = QUICK and 1 or 2, -- how long the flooder sends
  sizes = { 64, 1200 },
  paced_rate = 200000,          -- recv-paced: the same offered load for every receiver
  send_n = 200000,
  echo_secs = QUICK and 0.5 or 1.0,
  sockets_n = 1000,
  cg_k = 20000,                 -- datagrams through callgrind
  guard = 1.10,                 -- instructions may grow this much over bench/BASELINE
}

local B = "build/bench/"
local FLOOD, SINK = B .. "flood", B .. "sink"
local LUA = "lua5.4"


local function sh(cmd)
  local p = io.popen(cmd .. " 2>&1")
  local text = p:read("*a")
  p:close()
  return text
end

local function ok(cmd)
  return os.execute(cmd .. " >/dev/null 2>&1") == true
end

local function lua_has(mod)
  return ok(LUA .. " -e 'require(\"" .. mod .. "\")'")
end

-- ---- the peers -----------------------------------------------------------------------

local peers = {
  { id = "dgram", label = "dgram", cmd = LUA .. " bench/peers/dgram_peer.lua", cb = true },
  { id = "core", label = "dgram.core", cmd = LUA .. " bench/peers/dgram_peer.lua --core",
    cb = true },
  -- dgram with dgram.setBusyPoll(0): what the busy poll after a send is worth
  { id = "nopoll", label = "dgram, busyPoll 0",
    cmd = LUA .. " bench/peers/dgram_peer.lua --busy-poll-0", echo_only = true },
  { id = "luv", label = "luv", cmd = LUA .. " bench/peers/luv_peer.lua", cb = true,
    check = function() return lua_has("luv") or "lua-luv is not installed" end },
  { id = "luvm", label = "luv (mmsgs=20)", cmd = LUA .. " bench/peers/luv_peer.lua --mmsg",
    recv_only = true,
    check = function() return lua_has("luv") or "lua-luv is not installed" end },
  { id = "socket", label = "LuaSocket", cmd = LUA .. " bench/peers/socket_peer.lua",
    check = function() return lua_has("socket") or "lua-socket is not installed" end },
  { id = "node", label = "Node.js", cmd = "node --expose-gc bench/peers/node_peer.js",
    cb = true,
    check = function() return ok("node -e 0") or "node is not installed" end },
  { id = "uv", label = "C libuv", cmd = B .. "uv_peer", cb = true,
    check = function() return ok("test -x " .. B .. "uv_peer") or "uv_peer did not build" end },
  { id = "mmsg", label = "C mmsg", cmd = B .. "mmsg_peer",
    check = function() return ok("test -x " .. B .. "mmsg_peer") or "mmsg_peer did not build" end },
  -- dgram with a receiveBlockList of 100,000 rules that do not match the sender
  { id = "bl100k", label = "dgram, 100k-rule block list",
    cmd = LUA .. " bench/peers/dgram_peer.lua --blocklist-100k", blocklist_only = true },
}
local by_id = {}
for _, p in ipairs(peers) do
  by_id[p.id] = p
  if p.check then
    local r = p.check()
    if r ~= true then p.missing = r end
  end
end

local function progress(msg)
  io.stderr:write(("[%s] %s\n"):format(os.date("%H:%M:%S"), msg))
end

return {
  MODE = MODE, REPORT = REPORT, QUICK = QUICK, cfg = cfg, B = B, FLOOD = FLOOD, SINK = SINK,
  sh = sh, ok = ok, progress = progress, peers = peers, by_id = by_id,
}

-- Multicast with dgram: a receiver joins a group, a sender sends it a few datagrams,
-- both close, and the script exits by itself (within two seconds at worst).
--
-- Joining groups on a real network is not something an example should do, so this one
-- runs only inside a private network namespace whose only interface is lo. From the
-- repository's root, after `make`, as root:
--
--   unshare -n sh -c 'ip link set lo up; ip link set lo multicast on;
--     ip route add 224.0.0.0/4 dev lo;
--     LUA_PATH="./lua/?.lua;./lua/?/init.lua;;" LUA_CPATH="./build/?.so;;"
--     lua5.4 examples/multicast.lua'
--
-- Anywhere else it says why it cannot run and exits 0.

-- Finds the module in this checkout when it is not installed.
local ok, dgram = pcall(require, "dgram")
if not ok then
  local root = (arg and arg[0] or ""):match("^(.-)/?examples/[^/]+$") or "."
  if root == "" then root = "." end
  package.path = root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua;" .. package.path
  package.cpath = root .. "/build/?.so;" .. package.cpath
  dgram = require("dgram")
end

local GROUP = "239.255.42.99" -- administratively scoped: never leaves the site
local COUNT = 3

-- nil when only lo is visible (a private namespace) and lo routes 224.0.0.0/4, else why not.
-- /proc/net/* shows this process's namespace (/sys/class/net may show the host's).
local function why_not()
  local f = io.open("/proc/net/dev")
  if not f then return "cannot read /proc/net/dev" end
  local names = {}
  for line in f:lines() do names[#names + 1] = line:match("^%s*([^%s:|]+):") end
  f:close()
  if #names ~= 1 or names[1] ~= "lo" then
    return "this is not a private network namespace (interfaces: " ..
      table.concat(names, ", ") .. ")"
  end
  local r = io.open("/proc/net/route")
  local routes = r and r:read("*a") or ""
  if r then r:close() end
  if not routes:find("\nlo%s+000000E0%s") then
    return "lo has no route for 224.0.0.0/4 (ip route add 224.0.0.0/4 dev lo)"
  end
  return nil
end

local reason = why_not()
if reason then
  print("multicast example skipped: " .. reason)
  print("run it inside a private network namespace; see the comment at the top of " ..
    "examples/multicast.lua")
  os.exit(0)
end

local receiver = dgram.createSocket({ type = "udp4", reuseAddr = true })
local sender = dgram.createSocket("udp4")
local received, failed, deadline = 0, nil, nil

local function finish(why)
  if why and not failed then print("giving up: " .. why) end
  failed = failed or why
  dgram.clearTimeout(deadline)
  -- close whatever is still open (a second close would raise)
  pcall(receiver.close, receiver)
  pcall(sender.close, sender)
end

-- Nothing here should take long; if it does, stop instead of hanging.
deadline = dgram.setTimeout(2000, function()
  finish(("only %d of %d datagrams arrived within 2 s"):format(received, COUNT))
end)

receiver:on("error", function(err) finish("receiver error: " .. tostring(err)) end)
sender:on("error", function(err) finish("sender error: " .. tostring(err)) end)

receiver:on("message", function(msg, rinfo)
  received = received + 1
  print(("receiver got %q from %s:%d"):format(msg, rinfo.address, rinfo.port))
  if received == COUNT then
    receiver:dropMembership(GROUP, "127.0.0.1")
    finish()
  end
end)

receiver:on("listening", function()
  local port = receiver:address().port
  receiver:addMembership(GROUP, "127.0.0.1")
  print(("receiver joined %s on port %d"):format(GROUP, port))

  sender:bind(0, "127.0.0.1", function()
    sender:setMulticastLoopback(true) -- deliver to this host too
    sender:setMulticastTTL(1)         -- never past the first router
    sender:setMulticastInterface("127.0.0.1")
    for i = 1, COUNT do
      local msg = ("hello group #%d"):format(i)
      sender:send(msg, port, GROUP, function(err)
        if err then finish("send failed: " .. tostring(err)) end
      end)
    end
    print(("sender sent %d datagrams to %s:%d"):format(COUNT, GROUP, port))
  end)
end)

receiver:on("close", function() print("receiver closed") end)
sender:on("close", function() print("sender closed") end)

receiver:bind(0)
dgram.run()

if failed then os.exit(1) end
print("done")

-- Way 1 of running inside a host: the host owns a 60 Hz frame loop and calls
-- dgram.run("nowait") once per frame, which delivers every datagram already waiting and
-- every due timer, and never blocks. Here the "host" is a plain Lua while loop: an echo
-- server and a client in one process, the client sending one datagram per frame.
--   lua5.4 examples/host_frame_loop.lua [count] [fps]
-- Exits by itself once every echo is back (or after 5 s), 0 when all of them came back.
local dgram = require("dgram")

local count = tonumber(arg[1]) or 10
local fps = tonumber(arg[2]) or 60
local period = 1000 / fps

local server = dgram.createSocket("udp4")
server:on("message", function(msg, rinfo)
  server:send(msg, rinfo.port, rinfo.address)
end)
local port -- known once the server is listening
server:bind(0, "127.0.0.1", function() port = server:address().port end)

local client = dgram.createSocket("udp4")
local echoes = 0
client:on("message", function(msg)
  echoes = echoes + 1
  print("client got echo: " .. msg)
end)

-- The host's sleep (love.timer.sleep, nanosleep, ...). Plain Lua has none, so this one
-- waits in dgram's own loop for at most `ms`: a timer bounds the wait, and an early
-- datagram ends it early (run("once") returns after any callback).
local function sleep_until(due)
  while dgram.now() < due do
    local wake = dgram.setTimeout(due - dgram.now(), function() end)
    dgram.run("once")
    dgram.clearTimeout(wake)
  end
end

local start = dgram.now()
local frame, sent = 0, 0
while echoes < count and dgram.now() - start < 5000 do
  frame = frame + 1
  dgram.run("nowait") -- the network part of the frame: everything waiting, at once
  if sent < count and port then -- one datagram per frame
    sent = sent + 1
    -- Frame code's sends leave together when batch returns (one system call per socket).
    dgram.batch(function()
      client:send(("ping #%d"):format(sent), port, "127.0.0.1")
    end)
  end
  sleep_until(start + frame * period)
end

print(("host_frame_loop: %d of %d echoes in %d frames"):format(echoes, count, frame))
client:close()
server:close()
dgram.run("nowait") -- the closes complete
os.exit(echoes == count and 0 or 1, true)

-- A script for the C host (build/embed-host): an echo server and a client in one
-- script, the client sending one datagram from each frame's on_frame(n). Run it as
-- either way the host offers:
--   build/embed-host --mode=nowait examples/embed/frame_echo.lua [count]
--   build/embed-host --mode=poll   examples/embed/frame_echo.lua [count]
-- Stops the host (on_frame returns false) once every echo is back, or after 5 s; the
-- host then exits 0, and 1 when an echo is missing (the script raises an error).
local dgram = require("dgram")

local count = tonumber(arg[1]) or 10

local server = dgram.createSocket("udp4")
server:on("message", function(msg, rinfo)
  server:send(msg, rinfo.port, rinfo.address)
end)
local port -- known once the server is listening
server:bind(0, "127.0.0.1", function() port = server:address().port end)

local client = dgram.createSocket("udp4")
local echoes, sent = 0, 0
client:on("message", function(msg)
  echoes = echoes + 1
  print("client got echo: " .. msg)
end)

local start = dgram.now()

-- Called by the host once per frame, inside dgram.batch: this frame's sends leave
-- together when it returns.
function on_frame(n)
  if echoes == count or dgram.now() - start > 5000 then
    print(("frame_echo: %d of %d echoes by frame %d"):format(echoes, count, n))
    client:close()
    server:close()
    if echoes < count then error("frame_echo: echoes missing") end
    return false
  end
  if port and sent < count then
    sent = sent + 1
    client:send(("ping #%d"):format(sent), port, "127.0.0.1")
  end
end

if not HOSTED then -- plain lua5.4: a frame loop of its own, in dgram's timers
  local frame = 0
  local ticker
  ticker = dgram.setFixedInterval(1000 / 60, function()
    frame = frame + 1
    if on_frame(frame) == false then dgram.clearInterval(ticker) end
  end)
  dgram.run()
end

-- How much receive buffer one small datagram takes (its truesize): sends 30,000 inputs to
-- a socket that is not read, counts what the kernel kept, and divides.
--   lua5.4 bench/game/truesize.lua [payloadBytes] [recvBufferSize]
local dgram = require("dgram")

local size = tonumber(arg[1]) or 15
local set = tonumber(arg[2])
local SENT = 30000

local receiver = dgram.createSocket({ type = "udp4", recvBufferSize = set })
local port
receiver:bind(0, "127.0.0.1", function() port = receiver:address().port end)
while not port do dgram.run("once") end
local buffer = receiver:getRecvBufferSize()

-- Bound first, so that the sends leave when the batch returns (before any read).
local sender = dgram.createSocket("udp4")
local bound = false
sender:bind(0, "127.0.0.1", function() bound = true end)
while not bound do dgram.run("once") end
local payload = string.rep("x", size)
dgram.batch(function()
  for _ = 1, SENT do sender:send(payload, port, "127.0.0.1") end
end)

local kept = SENT - receiver:stats().kernelDrops
print(("payload=%d recvBufferSize=%s buffer=%d kept=%d bytes_per_datagram=%.0f"):format(
  size, tostring(set), buffer, kept, buffer / kept))
sender:close()
receiver:close()
dgram.run()

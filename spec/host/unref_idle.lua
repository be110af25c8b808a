-- Run by spec/host_ways_spec.lua inside build/embed-host: a bound socket the script has
-- unref'd, so nothing referenced is left and dgram.backendTimeout() is -1. The host must
-- sleep in its frames, not spin. Answers "ping" so the spec can see it is still served.
local dgram = require("dgram")

local socket = dgram.createSocket("udp4")
socket:on("message", function(msg, rinfo)
  socket:send("pong:" .. msg, rinfo.port, rinfo.address)
end)
socket:bind(0, "127.0.0.1", function()
  print("idle: listening " .. socket:address().port)
end)
socket:unref()

if not HOSTED then dgram.run() end

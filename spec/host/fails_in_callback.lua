-- Run by spec/host_ways_spec.lua inside build/embed-host: an error raised in a callback
-- must come out of the host's dgram.run("nowait"), printed, with exit status 1.
local dgram = require("dgram")

local socket = dgram.createSocket("udp4")
socket:bind(0, "127.0.0.1", function()
  socket:close()
  error("failed in 'listening'")
end)

if not HOSTED then dgram.run() end

-- Run by spec/host_ways_spec.lua inside build/embed-host: the script takes SIGTERM with
-- dgram.onSignal (the host's own stop no longer applies), says so, and ends the host from
-- the next frame.
local dgram = require("dgram")

local stopping = false
dgram.onSignal("SIGTERM", function(name)
  print("graceful: got " .. name)
  stopping = true
end)
print("graceful: ready")

function on_frame()
  if stopping then
    print("graceful: stopping")
    return false
  end
end

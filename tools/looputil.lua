-- Small loop helpers shared by the soak and fault runs (tools/soak, tools/faults).
local U = {}

-- A socket of `opts.type` (udp4) bound to the loopback address on a random port, once
-- 'listening' was emitted; returns it and its port.
function U.bound(dgram, opts)
  local o = { type = "udp4" }
  for k, v in pairs(opts or {}) do o[k] = v end
  local s = dgram.createSocket(o)
  local listening = false
  s:bind(0, o.type == "udp6" and "::1" or "127.0.0.1", function() listening = true end)
  for _ = 1, 1000 do
    if listening then break end
    dgram.run("once")
  end
  assert(listening, "the socket did not emit 'listening'")
  return s, s:address().port
end

-- Runs the loop until done() or `seconds` passed; returns whether done() became true.
function U.run_until(dgram, seconds, done)
  local deadline = dgram.now() + seconds * 1000
  local wake = dgram.setInterval(20, function() end)
  while not done() and dgram.now() < deadline do dgram.run("once") end
  dgram.clearInterval(wake)
  return done()
end

-- Lets the loop run for `seconds`.
function U.wait(dgram, seconds)
  U.run_until(dgram, seconds, function() return false end)
end

-- A port nothing listens on (bound once, then closed).
function U.free_port(dgram)
  local s, port = U.bound(dgram)
  s:close()
  dgram.run("nowait")
  return port
end

return U

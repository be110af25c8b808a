-- Way 3b of running inside a host: dgram owns the loop (dgram.run()), and luv's loop
-- (Debian's lua-luv) is folded into it: dgram.watch on uv.backend_fd() and a dgram timer
-- for uv.backend_timeout(), both running luv with uv.run("nowait"). A luv echo server
-- answers a dgram client, so both libraries do real work on the one thread.
--   lua5.4 examples/dgram_drives_luv.lua [count]
-- Exits by itself once every echo is back (or after 5 s), 0 when all of them came back.
local uv = require("luv")
local dgram = require("dgram")

local count = tonumber(arg[1]) or 10

-- luv inside dgram ----------------------------------------------------------------------
local luv_timer -- the dgram timer standing for luv's next due time
local luv_watch

-- Runs luv without blocking, then re-arms the timer for luv's next due time
-- (uv.backend_timeout() is -1 when luv has no timer due: no timer then).
local function pump_luv()
  uv.run("nowait")
  if luv_timer then dgram.clearTimeout(luv_timer) end
  luv_timer = nil
  if not uv.loop_alive() then -- luv is done: stop watching it, so dgram.run can end
    if luv_watch then luv_watch:stop() end
    luv_watch = nil
    return
  end
  local ms = uv.backend_timeout()
  if ms >= 0 then luv_timer = dgram.setTimeout(ms, pump_luv) end
end
luv_watch = dgram.watch(uv.backend_fd(), "r", pump_luv)

-- the luv echo server --------------------------------------------------------------------
local server = uv.new_udp()
server:bind("127.0.0.1", 0)
local port = server:getsockname().port
server:recv_start(function(err, data, addr)
  assert(not err, err)
  if not data then return end
  print("server got: " .. data)
  server:send(data, addr.ip, addr.port)
end)

-- the dgram client -------------------------------------------------------------------------
local client = dgram.createSocket("udp4")
local echoes, sent = 0, 0
local ticker, deadline

local function finish()
  dgram.clearInterval(ticker)
  dgram.clearTimeout(deadline)
  client:close()
  server:close()
  pump_luv() -- luv completes the close, notices it has nothing left, and stops
end

client:on("message", function(msg)
  echoes = echoes + 1
  print("client got echo: " .. msg)
  if echoes == count then finish() end
end)
ticker = dgram.setInterval(10, function() -- a datagram every 10 ms, from dgram's timer
  if sent == count then return dgram.clearInterval(ticker) end
  sent = sent + 1
  client:send(("ping #%d"):format(sent), port, "127.0.0.1")
end)
deadline = dgram.setTimeout(5000, function()
  print("dgram_drives_luv: timed out")
  finish()
end)

pump_luv() -- luv's loop may already have work due (the bind)
dgram.run()
print(("dgram_drives_luv: %d of %d echoes"):format(echoes, count))
uv.loop_close()
os.exit(echoes == count and 0 or 1, true)

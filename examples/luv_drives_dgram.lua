-- Way 3a of running inside a host: luv (Debian's lua-luv) owns the loop, and dgram's
-- loop is folded into it: a luv poll handle on dgram.backendFd() and a luv timer for
-- dgram.backendTimeout(), both running dgram with run("nowait"). A dgram echo server
-- answers a luv UDP client, so both libraries do real work on the one thread.
--   lua5.4 examples/luv_drives_dgram.lua [count]
-- Exits by itself once every echo is back (or after 5 s), 0 when all of them came back.
local uv = require("luv")
local dgram = require("dgram")

local count = tonumber(arg[1]) or 10

-- dgram inside luv --------------------------------------------------------------------
local dgram_poll = uv.new_poll(dgram.backendFd())
local dgram_timer = uv.new_timer()

-- Runs dgram without blocking, then re-arms the timer for dgram's next due time.
-- backendTimeout() is -1 when nothing is due (and when nothing referenced is left), so
-- the timer never makes luv spin.
local function pump_dgram()
  if dgram_poll:is_closing() then return end
  dgram.run("nowait")
  dgram_timer:stop()
  local ms = dgram.backendTimeout()
  if ms >= 0 then dgram_timer:start(ms, 0, pump_dgram) end
  if not dgram.alive() and not dgram_poll:is_closing() then -- done: luv may end too
    dgram_poll:close()
    dgram_timer:close()
  end
end
dgram_poll:start("r", pump_dgram)

-- the dgram echo server ------------------------------------------------------------------
local server = dgram.createSocket("udp4")
server:on("message", function(msg, rinfo)
  print("server got: " .. msg)
  server:send(msg, rinfo.port, rinfo.address)
end)

-- the luv client, started once the server listens ---------------------------------------
local client = uv.new_udp()
local echoes, sent = 0, 0
local ticker = uv.new_timer()
local deadline = uv.new_timer()

local function finish()
  ticker:close()
  deadline:close()
  client:close()
  server:close()
  pump_dgram() -- dgram notices the close at once rather than at its next wake-up
end

local function start_client(port)
  client:bind("127.0.0.1", 0)
  client:recv_start(function(err, data)
    assert(not err, err)
    if not data then return end
    echoes = echoes + 1
    print("client got echo: " .. data)
    if echoes == count then finish() end
  end)
  ticker:start(0, 10, function() -- a datagram every 10 ms, from luv's own timer
    if sent == count then return ticker:stop() end
    sent = sent + 1
    client:send(("ping #%d"):format(sent), "127.0.0.1", port)
  end)
end

deadline:start(5000, 0, function()
  print("luv_drives_dgram: timed out")
  finish()
end)

server:bind(0, "127.0.0.1", function() start_client(server:address().port) end)
pump_dgram() -- the bind's 'listening' is due now

uv.run()
print(("luv_drives_dgram: %d of %d echoes"):format(echoes, count))
uv.loop_close()
os.exit(echoes == count and 0 or 1, true)

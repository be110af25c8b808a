-- The manual's UDP server, in Lua: prints what it gets and echoes it back.
--   lua5.4 examples/echo_server.lua [port] [count]
-- With a count it exits after echoing that many datagrams (and after 10 s in any case).
local dgram = require("dgram")

io.stdout:setvbuf("line") -- lines in the order they happen, also into a pipe

local port = tonumber(arg[1]) or 41234
local count = tonumber(arg[2])

local server = dgram.createSocket("udp4")

server:on("error", function(err)
  print("server error: " .. tostring(err))
  server:close()
end)

server:on("message", function(msg, rinfo)
  print(("server got: %s from %s:%d"):format(msg, rinfo.address, rinfo.port))
  server:send(msg, rinfo.port, rinfo.address)
  if count then
    count = count - 1
    if count == 0 then server:close() end
  end
end)

server:on("listening", function()
  local address = server:address()
  print(("server listening %s:%d"):format(address.address, address.port))
end)

server:bind(port)

if count then
  -- A demo must end by itself even when no client shows up.
  dgram.setTimeout(10000, function()
    print("server: no more clients, closing")
    server:close()
  end):unref()
end

-- Inside a host (build/embed-host) the host runs the loop, frame by frame.
if not HOSTED then dgram.run() end

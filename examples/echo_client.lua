-- The manual's UDP client, in Lua: sends a few datagrams to localhost, one at a time,
-- each after the echo of the one before, and prints the echoes. Gives up after 5 s
-- without all of them.
--   lua5.4 examples/echo_client.lua [port] [count]
local dgram = require("dgram")

io.stdout:setvbuf("line") -- lines in the order they happen, also into a pipe

local port = tonumber(arg[1]) or 41234
local count = tonumber(arg[2]) or 3

local client = dgram.createSocket("udp4")
local answers = 0

local deadline = dgram.setTimeout(5000, function()
  print(("client: %d of %d answers, giving up"):format(answers, count))
  client:close()
end)

local function send_next()
  local message = ("Some bytes #%d"):format(answers + 1)
  -- "localhost" is resolved asynchronously; the callback reports a failed send.
  client:send(message, 0, #message, port, "localhost", function(err)
    if err then print("client send error: " .. tostring(err)) end
  end)
end

client:on("message", function(msg, rinfo)
  answers = answers + 1
  print(("client got echo: %s from %s:%d"):format(msg, rinfo.address, rinfo.port))
  if answers == count then
    dgram.clearTimeout(deadline)
    client:close()
  else
    send_next() -- one datagram in flight: the echoes come back in order
  end
end)

send_next()
dgram.run()
os.exit(answers == count and 0 or 1)

-- The manual's UDP client, in Lua: sends a few datagrams to localhost and prints the
-- echoes. Gives up after 2 s without an answer.
--   lua5.4 examples/echo_client.lua [port] [count]
local dgram = require("dgram")

local port = tonumber(arg[1]) or 41234
local count = tonumber(arg[2]) or 3

local client = dgram.createSocket("udp4")
local answers = 0

local deadline = dgram.setTimeout(2000, function()
  print(("client: %d of %d answers, giving up"):format(answers, count))
  client:close()
end)

client:on("message", function(msg, rinfo)
  answers = answers + 1
  print(("client got echo: %s from %s:%d"):format(msg, rinfo.address, rinfo.port))
  if answers == count then
    dgram.clearTimeout(deadline)
    client:close()
  end
end)

for i = 1, count do
  local message = ("Some bytes #%d"):format(i)
  -- "localhost" is resolved asynchronously; the callback reports each send.
  client:send(message, 0, #message, port, "localhost", function(err, bytes)
    if err then
      print("client send error: " .. tostring(err))
    else
      print(("client sent %d bytes"):format(bytes))
    end
  end)
end

dgram.run()
os.exit(answers == count and 0 or 1)

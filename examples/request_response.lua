-- Request/response over UDP in the coroutine style: a client that sends each request with
-- sendAsync and waits for its answer with recv(timeout), retrying up to 3 times (200 ms
-- each), against a small in-process server that loses one request and answers another
-- late. Prints what happens and exits by itself: 0 when every request got its answer.
--   lua5.4 examples/request_response.lua
local dgram = require("dgram")

local TRIES = 3
local TIMEOUT_MS = 200

-- The server: "REQ <id> <try> <text>" -> "RESP <id> <TEXT>". Unreliable on purpose: it
-- drops the first try of request 2 and answers the first try of request 3 after 250 ms
-- (too late: the client has retried by then and will see that answer as stale).
local server = dgram.createSocket("udp4")
local server_open = true
server:on("close", function() server_open = false end)
server:on("message", function(msg, rinfo)
  local id, try, text = msg:match("^REQ (%d+) (%d+) (.*)$")
  if not id then return end
  id, try = tonumber(id), tonumber(try)
  local reply = ("RESP %d %s"):format(id, text:upper())
  if id == 2 and try == 1 then
    print("server: drops request 2 (try 1), as a lossy network would")
  elseif id == 3 and try == 1 then
    print("server: answers request 3 (try 1) only after 250 ms")
    dgram.setTimeout(250, function()
      if server_open then server:send(reply, rinfo.port, rinfo.address) end
    end)
  else
    print(("server: answers request %d (try %d)"):format(id, try))
    server:send(reply, rinfo.port, rinfo.address)
  end
end)
server:bind(0, "127.0.0.1")
local port = server:address().port
print(("server: listening on 127.0.0.1:%d"):format(port))

-- One request: returns the answer's text, or nil and why not.
local function request(sock, id, text)
  for try = 1, TRIES do
    local n, err = sock:sendAsync(("REQ %d %d %s"):format(id, try, text), port, "127.0.0.1")
    if not n then return nil, err end
    print(("client: request %d try %d sent (%d bytes)"):format(id, try, n))
    while true do
      local msg, info = sock:recv(TIMEOUT_MS)
      if not msg then
        if info.code ~= "ETIMEDOUT" then return nil, info end
        print(("client: request %d try %d: no answer in %d ms"):format(id, try, TIMEOUT_MS))
        break
      end
      local rid, answer = msg:match("^RESP (%d+) (.*)$")
      if tonumber(rid) == id then return answer end
      print(("client: ignores a stale answer %q"):format(msg)) -- and keeps waiting
    end
  end
  return nil, ("no answer after %d tries"):format(TRIES)
end

local answered = 0
local requests = { "hello", "lost once", "slow once", "bye" }

dgram.spawn(function()
  local client = dgram.createSocket("udp4")
  for id, text in ipairs(requests) do
    local answer, err = request(client, id, text)
    if answer then
      answered = answered + 1
      print(("client: request %d answered: %q"):format(id, answer))
    else
      print(("client: request %d failed: %s"):format(id, tostring(err)))
    end
  end
  -- A last wait, so that the late answer (if still under way) is seen and ignored.
  local msg = client:recv(100)
  if msg then print(("client: ignores a stale answer %q"):format(msg)) end
  client:close()
  server:close()
end)

dgram.run()
print(("%d of %d requests answered"):format(answered, #requests))
os.exit(answered == #requests and 0 or 1)

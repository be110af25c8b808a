-- The EMFILE case's child process (run by tools/faults/heavy.lua under `ulimit -n`): it
-- uses up every descriptor, tries a new socket and a send whose implicit bind needs one,
-- frees them, and sends again. Prints "key|value" lines for its parent.
local dir = (arg and arg[0] or ""):match("^(.*)/faults/[^/]*$") or "tools"
package.path = dir .. "/?.lua;" .. package.path
local dgram = require("dgram")
local U = require("looputil")

local server, port = U.bound(dgram)
local got = {}
server:on("message", function(msg) got[msg] = true end)
local a = dgram.createSocket("udp4") -- unbound: its first send binds it
local errors = {}
a:on("error", function(e) errors[#errors + 1] = tostring(e.code) end)

local files = {}
for _ = 1, 100000 do
  local f = io.open("/dev/null")
  if not f then break end
  files[#files + 1] = f
end

-- a new socket with no descriptor left: an error object, raised or emitted
local outcome
local made, b = pcall(dgram.createSocket, "udp4")
if not made then
  outcome = "raised " .. tostring(type(b) == "table" and b.code or b)
else
  b:on("error", function(e) outcome = "emitted " .. tostring(e.code) end)
  local ok, e = pcall(b.bind, b, 0, "127.0.0.1", function() outcome = "listening" end)
  if not ok then outcome = "raised " .. tostring(type(e) == "table" and e.code or e) end
  U.run_until(dgram, 2, function() return outcome ~= nil end)
end
print("new|" .. tostring(outcome))

-- a send whose implicit bind fails: its callback once, with EMFILE (issue 10 item 4)
local calls, code = 0, "none"
local ok = pcall(a.send, a, "x", port, "127.0.0.1", function(err)
  calls = calls + 1
  code = err and tostring(err.code) or "ok"
end)
U.wait(dgram, 0.5)
print(("send|%s|%d|%s|%s"):format(tostring(ok), calls, code, table.concat(errors, ",")))

-- descriptors back: the same socket sends and is heard
for _, f in ipairs(files) do f:close() end
collectgarbage()
pcall(a.send, a, "after", port, "127.0.0.1")
U.run_until(dgram, 2, function() return got.after end)
print("after|" .. tostring(got.after == true))
a:close()
server:close()
if b then pcall(b.close, b) end
dgram.run("nowait")

-- IPv6 link-local addresses with a scope (fe80::1%lo) in bind, send and rinfo. They need
-- an fe80:: address on lo, which only a private network namespace may get: spec/run.sh
-- runs this file under `unshare -n`; anywhere else every test is pending with the reason.
local H = require("helper")
local dgram = H.dgram

local LL = "fe80::1%lo"

local problem
local function need_linklocal()
  if problem == nil then
    problem = H.netns_problem() or false
    if not problem and not H.execute("ip -6 addr replace fe80::1/64 dev lo nodad 2>/dev/null") then
      problem = "cannot add fe80::1 to lo in the private network namespace"
    end
    -- A fresh address may drop the very first datagram for a moment: let it settle.
    if not problem then H.execute("sleep 0.2") end
  end
  if problem then pending(problem) end
end

-- Binds a udp6 socket to the link-local address and runs the loop until 'listening'.
local function bound_linklocal()
  local s = H.socket("udp6")
  local listening = false
  s:bind(0, LL, function() listening = true end)
  for _ = 1, 1000 do
    if listening then break end
    dgram.run("once")
  end
  assert.is_true(listening)
  return s, s:address().port
end

describe("IPv6 link-local with a scope (private network namespace)", function()
  after_each(H.cleanup)

  it("binds to fe80::1%lo and address() names the scope", function()
    need_linklocal()
    local s, port = bound_linklocal()
    local a = s:address()
    assert.equals(LL, a.address)
    assert.equals("IPv6", a.family)
    assert.equals("integer", math.type(port))
  end)

  it("sends to fe80::1%lo and rinfo carries the sender's scope", function()
    need_linklocal()
    local server, port = bound_linklocal()
    local client, client_port = bound_linklocal()
    local got
    server:on("message", function(msg, rinfo)
      got = { msg = msg, rinfo = rinfo }
      server:close()
      client:close()
    end)
    client:send("link-local", port, LL)
    H.run(2000)
    assert.equals("link-local", got.msg)
    assert.equals(LL, got.rinfo.address)
    assert.equals(client_port, got.rinfo.port)
    assert.equals("IPv6", got.rinfo.family)
  end)

  it("binding a link-local address without its scope emits EINVAL", function()
    need_linklocal()
    local s = H.socket("udp6")
    local err
    s:on("error", function(e) err = e; s:close() end)
    s:bind(0, "fe80::1")
    H.run(2000)
    assert.equals("EINVAL", err.code)
    assert.equals("bind", err.syscall)
    assert.equals("fe80::1", err.address)
  end)
end)

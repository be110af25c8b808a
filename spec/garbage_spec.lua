-- The hot paths create no Lua garbage beyond what the user receives: a send makes none,
-- a received datagram makes its string and its rinfo table and nothing else.
local H = require("helper")
local dgram = H.dgram

local function kbytes()
  return collectgarbage("count")
end

describe("garbage on the hot paths", function()
  -- LuaJIT's compiler makes its traces on the Lua heap too: not the module's garbage
  before_each(function() if jit then jit.off() end end)
  after_each(function()
    if jit then jit.on() end
    collectgarbage("restart")
    H.cleanup()
  end)

  -- The receiving sockets have no 'message' listener: receiving then allocates nothing.
  it("send without a callback to a literal address allocates nothing", function()
    local _, port = H.bound("udp4")
    local client = H.bound("udp4")
    local payload = ("x"):rep(64)
    -- warm the caches after the collection: before 5.4 it frees the call frames (CallInfo)
    -- that a deep stack such as busted's then allocates again
    collectgarbage("collect")
    for _ = 1, 100 do client:send(payload, port, "127.0.0.1") end
    collectgarbage("stop")
    local before = kbytes()
    for _ = 1, 10000 do client:send(payload, port, "127.0.0.1") end
    local grew = kbytes() - before
    collectgarbage("restart")
    assert.is_true(grew < 1, ("10000 sends allocated %.1f KiB"):format(grew))
  end)

  it("send with a callback allocates nothing once the loop has run", function()
    local _, port = H.bound("udp4")
    local client = H.bound("udp4")
    local payload, done = ("x"):rep(64), 0
    local function sent() done = done + 1 end
    local function batch()
      for _ = 1, 100 do client:send(payload, port, "127.0.0.1", sent) end
      for _ = 1, 100 do if not dgram.run("nowait") then break end end
    end
    batch() -- the deferred queue reaches its size here
    collectgarbage("collect")
    batch() -- (and the call frames a collection freed before 5.4 are made again)
    collectgarbage("stop")
    local before = kbytes()
    for _ = 1, 50 do batch() end
    local grew = kbytes() - before
    collectgarbage("restart")
    assert.equals(5200, done)
    assert.is_true(grew < 1, ("5000 sends with callbacks allocated %.1f KiB"):format(grew))
  end)

  -- Inside dgram.run sends wait in the loop's batch and leave with sendmmsg.
  it("sends from a callback (the batched path) allocate nothing, with or without callbacks",
    function()
      local sink, port = H.bound("udp4", { recvBufferSize = 4 * 1024 * 1024 })
      local client = H.bound("udp4")
      local payload, done, grew = ("x"):rep(64), 0, {}
      local function sent(err) if not err then done = done + 1 end end
      -- Twice each: the first run grows the batch and the deferred queue to their size.
      local function measure(name, cb, want_done)
        grew[name] = nil
        dgram.setTimeout(0, function()
          collectgarbage("collect")
          collectgarbage("stop")
          local before = kbytes()
          for _ = 1, 2000 do client:send(payload, port, "127.0.0.1", cb) end
          grew[name] = kbytes() - before
          collectgarbage("restart")
        end)
        H.run_until(3000, function() return grew[name] ~= nil and done == want_done end)
      end
      for _ = 1, 2 do measure("nocb", nil, 0) end
      for i = 1, 2 do measure("cb", sent, 2000 * i) end
      assert.equals(4000, done)
      assert.is_true(grew.nocb < 1, ("2000 sends allocated %.1f KiB"):format(grew.nocb))
      assert.is_true(grew.cb < 1, ("2000 sends with callbacks allocated %.1f KiB"):format(grew.cb))
      sink:close()
    end)

  it("a received datagram costs its string and its rinfo table, nothing more", function()
    local server, port = H.bound("udp4")
    local client = H.bound("udp4")
    local n, want, got = 0, 500, nil
    local payload = ("y"):rep(64)
    local before
    server:on("message", function(msg, rinfo)
      n = n + 1
      if n == 1 then -- the first one warms the sender-address cache
        collectgarbage("collect")
        collectgarbage("stop")
        before = kbytes()
      elseif n == want + 1 then
        got = kbytes() - before
        collectgarbage("restart")
        server:close()
      end
      assert(#msg == 64 and rinfo.port)
    end)
    -- Paced, so that the receive buffer never overflows.
    for i = 1, want + 1 do
      client:send(payload, port, "127.0.0.1")
      for _ = 1, (i % 20 == 0) and 50 or 0 do
        if n >= i - 1 or not dgram.run("nowait") then break end
      end
    end
    client:close()
    H.run(3000)
    assert.equals(want + 1, n)
    -- What the user receives, built in Lua: a new 64-byte string and a 4-field table.
    local strings, tables = {}, {}
    for i = 1, want do strings[i], tables[i] = false, false end
    collectgarbage("collect")
    collectgarbage("stop")
    local base = kbytes()
    for i = 1, want do
      strings[i] = ("%064d"):format(i)
      tables[i] = { address = "127.0.0.1", family = "IPv4", port = i, size = 64 }
    end
    local expected = kbytes() - base
    collectgarbage("restart")
    assert.equals(want, #strings + #tables - want)
    assert.is_true(got <= expected * 1.1,
      ("%d datagrams allocated %.1f KiB; their strings and rinfo tables take %.1f KiB")
        :format(want, got, expected))
  end)
end)

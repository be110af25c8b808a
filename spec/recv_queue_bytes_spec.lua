-- The coroutine receive queue is bounded in bytes as well as in datagrams: the
-- recvQueueBytes option of createSocket (default 4 MiB), datagrams past the bound dropped
-- and counted in socket:stats().queueDrops and socket:recvDropped().
local H = require("helper")
local dgram = H.dgram

local BIG = 60000 -- bytes of each datagram of a flood
local DEFAULT_BYTES = 4 * 1024 * 1024

-- Sends `n` copies of `msg` to the server one at a time, each once the server has taken
-- the previous one from the kernel (so the kernel's buffer never overflows and every drop
-- is the queue's). Call it inside a spawned coroutine.
local function flood(server, port, n, msg)
  local client = H.socket("udp4")
  local start = server:stats().received
  for i = 1, n do
    local sent, err = client:sendAsync(msg, port, "127.0.0.1")
    assert(sent == #msg, "send " .. i .. ": " .. tostring(err))
    for _ = 1, 2000 do
      if server:stats().received >= start + i then break end
      dgram.sleep(1)
    end
    assert(server:stats().received >= start + i, "datagram " .. i .. " was not received")
  end
  client:close()
end

-- What recv returns until nothing is left: the datagrams in order.
local function drain(server)
  local got = {}
  for _ = 1, 100000 do
    local msg, err = server:recv(50)
    if not msg then
      assert(err.code == "ETIMEDOUT", tostring(err))
      return got
    end
    got[#got + 1] = msg
  end
  error("the queue never ran dry")
end

-- A datagram whose bytes say which one it was: `i` as text, padded to `size`.
local function numbered(i, size)
  local text = tostring(i) .. ":"
  return text .. ("x"):rep(size - #text)
end

local function flood_numbered(server, port, first, last, size)
  for i = first, last do flood(server, port, 1, numbered(i, size)) end
end

local function numbers(msgs)
  local out = {}
  for i, m in ipairs(msgs) do out[i] = tonumber(m:match("^(%d+):")) end
  return out
end

-- Runs body(server, port) in a spawned coroutine, its first recv (which starts the
-- queue) already made; returns once the loop is done.
local function with_queue(opts, body)
  local server, port = H.bound("udp4", opts)
  dgram.spawn(function()
    assert(server:recv(1) == nil) -- starts the receive queue
    body(server, port)
    server:close()
  end)
  H.run(30000)
end

describe("recvQueueBytes", function()
  after_each(H.cleanup)

  for _, bad in ipairs({ "4096", true, {}, print }) do
    it("raises ERR_INVALID_ARG_TYPE for " .. type(bad) .. " " .. tostring(bad), function()
      local err = H.raises("ERR_INVALID_ARG_TYPE", dgram.createSocket,
        { type = "udp4", recvQueueBytes = bad })
      assert.truthy(err.message:find("recvQueueBytes", 1, true), err.message)
      H.raises("ERR_INVALID_ARG_TYPE", dgram.createSocket, { type = "udp6", recvQueueBytes = bad })
    end)
  end

  for _, bad in ipairs({ 0, -1, 1.5, math.huge, -math.huge, 0 / 0, math.mininteger }) do
    it("raises ERR_OUT_OF_RANGE for " .. tostring(bad), function()
      local err = H.raises("ERR_OUT_OF_RANGE", dgram.createSocket,
        { type = "udp4", recvQueueBytes = bad })
      assert.truthy(err.message:find("recvQueueBytes", 1, true), err.message)
    end)
  end

  it("a bad type is reported first, as Node checks the type first", function()
    H.raises("ERR_SOCKET_BAD_TYPE", dgram.createSocket, { type = "udp5", recvQueueBytes = "x" })
  end)

  it("accepts integers >= 1 (an integral float too) and nil", function()
    for _, good in ipairs({ 1, 4096, 65536.0, math.maxinteger }) do
      local s = H.socket({ type = "udp4", recvQueueBytes = good })
      assert.equals("userdata", type(s))
    end
    assert.equals("userdata", type(H.socket({ type = "udp4", recvQueueBytes = nil })))
  end)

  it("with recvQueueBytes = 200000, 20 datagrams of 60000 bytes while nobody waits: the 3 "
    .. "oldest are kept, the 17 others dropped and counted", function()
    local got, stats, dropped
    with_queue({ recvQueueBytes = 200000 }, function(server, port)
      flood_numbered(server, port, 1, 20, BIG)
      got = drain(server)
      stats, dropped = server:stats(), server:recvDropped()
    end)
    assert.same({ 1, 2, 3 }, numbers(got))
    for _, m in ipairs(got) do assert.equals(BIG, #m) end
    assert.equals(17, stats.queueDrops)
    assert.equals("integer", math.type(stats.queueDrops))
    assert.equals(17, dropped)
    assert.equals(20, stats.received)
    assert.equals(0, stats.kernelDrops or 0) -- every drop was the queue's
  end)

  it("bytes taken by recv make room again: after the 3 kept are read, 3 more fit", function()
    local first, second, drops
    with_queue({ recvQueueBytes = 200000 }, function(server, port)
      flood_numbered(server, port, 1, 5, BIG)
      first = drain(server)
      flood_numbered(server, port, 6, 10, BIG)
      second = drain(server)
      drops = server:stats().queueDrops
    end)
    assert.same({ 1, 2, 3 }, numbers(first))
    assert.same({ 6, 7, 8 }, numbers(second))
    assert.equals(4, drops)
  end)

  it("both bounds hold: recvQueueSize = 2 under a large byte bound keeps 2; a byte bound "
    .. "of 10 keeps ten 1-byte datagrams", function()
    local by_count, by_bytes, drops_count, drops_bytes
    with_queue({ recvQueueSize = 2, recvQueueBytes = 1000000 }, function(server, port)
      flood_numbered(server, port, 1, 5, 100)
      by_count = drain(server)
      drops_count = server:stats().queueDrops
    end)
    with_queue({ recvQueueBytes = 10 }, function(server, port)
      for i = 1, 15 do flood(server, port, 1, string.char(64 + i)) end
      by_bytes = drain(server)
      drops_bytes = server:recvDropped()
    end)
    assert.same({ 1, 2 }, numbers(by_count))
    assert.equals(3, drops_count)
    assert.equals("ABCDEFGHIJ", table.concat(by_bytes))
    assert.equals(5, drops_bytes)
  end)

  it("a datagram bigger than the whole bound is dropped when nobody waits, and delivered "
    .. "to a recv that waits (it is never queued)", function()
    local queued, waited, drops
    with_queue({ recvQueueBytes = 1000 }, function(server, port)
      flood(server, port, 1, ("q"):rep(2000))
      queued = drain(server)
      dgram.spawn(function()
        local client = H.socket("udp4")
        client:sendAsync(("w"):rep(2000), port, "127.0.0.1")
        client:close()
      end)
      waited = server:recv(2000 * H.scale)
      drops = server:stats().queueDrops
    end)
    assert.same({}, queued)
    assert.equals(("w"):rep(2000), waited)
    assert.equals(1, drops)
  end)

  it("by default holds 4 MiB: of 150 datagrams of 60000 bytes it keeps 69, drops 81, and "
    .. "Lua's memory grows by about the bound, not by the 9 MB sent", function()
    local got, drops, growth_kb
    with_queue(nil, function(server, port)
      collectgarbage("collect")
      local before = collectgarbage("count")
      flood(server, port, 150, ("d"):rep(BIG))
      collectgarbage("collect")
      growth_kb = collectgarbage("count") - before
      got = drain(server)
      drops = server:stats().queueDrops
    end)
    local kept = math.floor(DEFAULT_BYTES / BIG)
    assert.equals(69, kept)
    assert.equals(kept, #got)
    assert.equals(150 - kept, drops)
    assert.is_true(growth_kb <= DEFAULT_BYTES / 1024 + 1024,
      ("Lua memory grew by %.0f KiB"):format(growth_kb))
  end)
end)

-- The receive path reads in batches of up to 20 datagrams (recvmmsg) and stops reading a
-- socket for the turn once a batch comes back short. Whatever the number waiting, every
-- datagram is delivered, in order, and the socket goes on receiving afterwards.
local H = require("helper")

-- Sends `n` numbered datagrams from the main chunk (they leave at once), so that they wait
-- in the receiver's kernel buffer before the loop reads them.
local function queue(client, port, prefix, n)
  for i = 1, n do client:send(prefix .. i, port, "127.0.0.1") end
end

local function numbered(prefix, n)
  local t = {}
  for i = 1, n do t[i] = prefix .. i end
  return t
end

describe("datagrams waiting when the loop reads them", function()
  after_each(H.cleanup)

  for _, n in ipairs({ 1, 19, 20, 21, 39, 40, 41, 250 }) do
    it(("%d waiting: all delivered in order, then a later one too"):format(n), function()
      local server, port = H.bound("udp4", { recvBufferSize = 1024 * 1024 })
      local client = H.bound("udp4")
      local got, errors = {}, {}
      server:on("message", function(msg) got[#got + 1] = msg end)
      server:on("error", function(err) errors[#errors + 1] = err.code end)
      queue(client, port, "a", n)
      H.run_until(3000, function() return #got == n end)
      assert.same(numbered("a", n), got)
      -- a later datagram, alone, on a later turn
      client:send("late", port, "127.0.0.1")
      H.run_until(3000, function() return #got == n + 1 end)
      assert.equals("late", got[n + 1])
      assert.same({}, errors)
    end)
  end

  it("two sockets with bursts in the same turn each get all of theirs", function()
    local a, pa = H.bound("udp4", { recvBufferSize = 1024 * 1024 })
    local b, pb = H.bound("udp4", { recvBufferSize = 1024 * 1024 })
    local client = H.bound("udp4")
    local got_a, got_b = {}, {}
    a:on("message", function(msg) got_a[#got_a + 1] = msg end)
    b:on("message", function(msg) got_b[#got_b + 1] = msg end)
    queue(client, pa, "a", 7)
    queue(client, pb, "b", 45)
    H.run_until(3000, function() return #got_a == 7 and #got_b == 45 end)
    assert.same(numbered("a", 7), got_a)
    assert.same(numbered("b", 45), got_b)
  end)

  it("bursts sent from the handler itself (short reads every turn) keep coming", function()
    local server, port = H.bound("udp4")
    local client, cport = H.bound("udp4")
    local rounds, got = 0, 0
    -- the server answers each datagram with 3; the client answers each third with 1 more
    server:on("message", function(_, rinfo)
      for i = 1, 3 do server:send("r" .. i, rinfo.port, rinfo.address) end
    end)
    client:on("message", function(msg)
      got = got + 1
      if msg == "r3" and rounds < 30 then
        rounds = rounds + 1
        client:send("q", port, "127.0.0.1")
      end
    end)
    assert.is_number(cport)
    client:send("q", port, "127.0.0.1")
    H.run_until(5000, function() return rounds == 30 and got == 93 end)
    assert.equals(30, rounds)
    assert.equals(93, got)
  end)
end)

-- Address strings are refused, never cut: an embedded NUL, a text before '%' longer than
-- any IPv6 literal, a scope that names no interface, and CIDR prefixes that are not plain
-- decimal numbers in range raise ERR_INVALID_ARG_VALUE at the call, and nothing is sent.
-- The system resolver is never asked for anything: sockets that would resolve use a
-- custom `lookup` that records what it was asked.
-- All traffic goes to 127.0.0.1 / ::1; every wait is bounded.
local H = require("helper")
local raises, run_until, quiet = H.raises, H.run_until, H.quiet

-- A lookup that records each host it is asked for and answers loopback.
local function recording_lookup(calls)
  return function(host, family, cb)
    calls[#calls + 1] = host
    cb(nil, family == 6 and "::1" or "127.0.0.1", family)
  end
end

-- 39 characters that libuv's uv_ip6_addr keeps of a longer text before '%' (::1 in full).
local FULL_LOOPBACK6 = "0000:0000:0000:0000:0000:0000:0000:0001"

describe("strict addresses: block list entries", function()
  after_each(H.cleanup)

  local bad = {
    { "1.2.3.4\0/8", "NUL before the prefix" },
    { "127.0.0.1\0", "trailing NUL" },
    { "127.0.0.1\0.evil", "NUL then junk" },
    { "1.2.3.4/08", "leading zero" },
    { "1.2.3.4/ 8", "space" },
    { "1.2.3.4/+8", "plus sign" },
    { "1.2.3.4/-1", "negative" },
    { "1.2.3.4/33", "past 32" },
    { "::1/129", "past 128" },
    { "::1/0128", "leading zero (v6)" },
    { "1.2.3.4/", "empty prefix" },
    { "1.2.3.4/8x", "trailing junk after the prefix" },
    { "1.2.3.4/8/8", "two prefixes" },
    { "1.2.3.4/0x8", "hex prefix" },
    { "1.2.3.4 ", "trailing space" },
    { " 1.2.3.4", "leading space" },
    { "1.2.3.4x", "trailing junk" },
    { "", "empty" },
    { "/8", "no address" },
    { "::1%nosuchif0", "unknown scope" },
    { "::1%", "empty scope" },
    { FULL_LOOPBACK6 .. "junk%lo", "too long before %" },
    { "127.0.0.1%lo", "scope on IPv4" },
  }
  for _, case in ipairs(bad) do
    for _, name in ipairs({ "receiveBlockList", "sendBlockList" }) do
      it(("%s entry %q (%s) raises ERR_INVALID_ARG_VALUE"):format(name, case[1], case[2]),
        function()
          local err = raises("ERR_INVALID_ARG_VALUE", H.dgram.createSocket,
            { type = "udp6", [name] = { "10.0.0.0/8", case[1] } })
          assert.matches("index 2", err.message, 1, true)
        end)
    end
  end

  local good = { "1.2.3.4/0", "1.2.3.4/32", "1.2.3.4/8", "::/0", "::1/128",
    "::ffff:1.2.3.4/128", "::1%lo", "fe80::1%lo/64", "1.2.3.4" }
  for _, entry in ipairs(good) do
    it(("entry %q is accepted"):format(entry), function()
      local s = H.socket({ type = "udp6", receiveBlockList = { entry },
        sendBlockList = { entry } })
      assert.is_not_nil(s)
    end)
  end

  it("the error shows the whole entry, NUL included, and names a non-string's type",
    function()
      local err = raises("ERR_INVALID_ARG_VALUE", H.dgram.createSocket,
        { type = "udp4", receiveBlockList = { "10.0.0.0/8", "1.2.3.4\0/8" } })
      assert.equals("The property 'options.receiveBlockList' is invalid. "
        .. "Received '1.2.3.4\\x00/8' at index 2", err.message)
      err = raises("ERR_INVALID_ARG_VALUE", H.dgram.createSocket,
        { type = "udp4", sendBlockList = { "10.0.0.0/8", 5 } })
      assert.equals("The property 'options.sendBlockList' is invalid. "
        .. "Received type number (5) at index 2", err.message)
    end)

  it('"127.0.0.1\\0.evil" in sendBlockList is not taken for 127.0.0.1', function()
    -- before: cut at the NUL, the entry blocked 127.0.0.1; now createSocket refuses it
    raises("ERR_INVALID_ARG_VALUE", H.dgram.createSocket,
      { type = "udp4", sendBlockList = { "127.0.0.1\0.evil" } })
  end)
end)

-- Each bad address for send/connect/bind, by socket type. `loopback`: were it cut as it
-- used to be, it would still name loopback or localhost, so a socket without a lookup
-- may try it too (the others only go to a recording lookup: a regression must not reach
-- the network or the system resolver).
local bad_hosts = {
  { "udp4", "127.0.0.1\0.evil", loopback = true },
  { "udp4", "1.2.3.4\0/8" },
  { "udp4", "localhost\0", loopback = true },
  { "udp6", "::1\0", loopback = true },
  { "udp6", "::1%nosuchif0", loopback = true },
  { "udp6", "::1%", loopback = true },
  { "udp6", FULL_LOOPBACK6 .. "junk%lo", loopback = true },
  { "udp4", "127.0.0.1%lo" },
  { "udp4", "example.test%eth0" },
}

describe("strict addresses: send, connect and bind", function()
  after_each(H.cleanup)

  for _, case in ipairs(bad_hosts) do
    local kind, host = case[1], case[2]
    it(("%s send to %q raises ERR_INVALID_ARG_VALUE; nothing arrives; the socket "
      .. "sends afterwards"):format(kind, host), function()
      local r, port, got = H.listener(kind)
      local calls = {}
      local c = H.socket({ type = kind, lookup = recording_lookup(calls) })
      local plain = H.socket(kind)
      local ran = 0
      raises("ERR_INVALID_ARG_VALUE", c.send, c, "bad", port, host, function() ran = ran + 1 end)
      if case.loopback then
        raises("ERR_INVALID_ARG_VALUE", plain.send, plain, "bad", port, host)
      end
      quiet(50)
      assert.same({}, got)
      assert.same({}, calls) -- the lookup was never asked
      assert.equals(0, ran) -- a raised send has no callback
      local good = kind == "udp6" and "::1" or "127.0.0.1"
      assert.is_nil((H.send_wait(plain, "good", port, good)))
      run_until(2000, function() return #got >= 1 end)
      assert.equals("good", got[1] and got[1].msg)
      assert.is_not_nil(r)
    end)

    it(("%s connect to %q raises ERR_INVALID_ARG_VALUE and leaves it unconnected")
      :format(kind, host), function()
      local calls = {}
      local c = H.socket({ type = kind, lookup = recording_lookup(calls) })
      raises("ERR_INVALID_ARG_VALUE", c.connect, c, 9, host)
      quiet(30)
      assert.same({}, calls)
      raises("ERR_SOCKET_DGRAM_NOT_CONNECTED", c.remoteAddress, c)
      local _, port = H.bound(kind)
      local done
      c:connect(port, function(err) done = { err } end)
      run_until(2000, function() return done ~= nil end)
      assert.is_nil(done and done[1])
    end)

    it(("%s bind to %q raises ERR_INVALID_ARG_VALUE; bind works afterwards")
      :format(kind, host), function()
      local calls = {}
      local c = H.socket({ type = kind, lookup = recording_lookup(calls) })
      raises("ERR_INVALID_ARG_VALUE", c.bind, c, 0, host)
      raises("ERR_INVALID_ARG_VALUE", c.bind, c, { port = 0, address = host })
      quiet(30)
      assert.same({}, calls)
      local listening = false
      c:bind(0, kind == "udp6" and "::1" or "127.0.0.1", function() listening = true end)
      run_until(2000, function() return listening end)
      assert.is_true(listening)
    end)
  end

  it("the error names the address with its NUL shown, not cut", function()
    local c = H.socket("udp4")
    local err = raises("ERR_INVALID_ARG_VALUE", c.send, c, "x", 9, "127.0.0.1\0.evil")
    assert.matches("127.0.0.1\\x00.evil", err.message, 1, true)
  end)

  it("a scope that names an interface is accepted: ::1%lo reaches ::1", function()
    local _, port, got = H.listener("udp6")
    local c = H.socket("udp6")
    assert.is_nil((H.send_wait(c, "scoped", port, "::1%lo")))
    run_until(2000, function() return #got >= 1 end)
    assert.equals("scoped", got[1] and got[1].msg)
  end)

  it("a lookup that answers with a NUL in the address fails the send, nothing arrives",
    function()
      local _, port, got = H.listener("udp4")
      local c = H.socket({ type = "udp4", lookup = function(host, family, cb)
        cb(nil, host == "example.test" and "127.0.0.1\0.evil" or host, family)
      end })
      local err = H.send_wait(c, "x", port, "example.test")
      assert.equals("ERR_INVALID_ARG_VALUE", err and err.code)
      quiet(50)
      assert.same({}, got)
    end)

  it("a lookup that answers an unknown scope fails the send, nothing arrives", function()
    local _, port, got = H.listener("udp6")
    local c = H.socket({ type = "udp6", lookup = function(host, family, cb)
      cb(nil, host == "example.test" and "::1%nosuchif0" or host, family)
    end })
    local err = H.send_wait(c, "x", port, "example.test")
    assert.equals("ERR_INVALID_ARG_VALUE", err and err.code)
    quiet(50)
    assert.same({}, got)
  end)
end)

-- receiveBlockList and sendBlockList: what they drop, the errors they give, and
-- the rules they accept.
local H = require("helper")
local raises, run_until, quiet, dgram = H.raises, H.run_until, H.quiet, H.dgram
local listener, texts, bind_wait, fake_lookup = H.listener, H.texts, H.bind_wait, H.fake_lookup

local LO4, LO6 = "127.0.0.1", "::1"

describe("block lists", function()
  after_each(H.cleanup)

  -- Sends three datagrams from a udp4 socket to each port and waits until `control` has
  -- them all, then a little longer.
  local function three_to(ports, control)
    local c = H.socket("udp4")
    for _, port in ipairs(ports) do
      for i = 1, 3 do c:send("d" .. i, port, LO4) end
    end
    run_until(2000, function() return #control >= 3 end)
    quiet(100)
  end

  for _, rule in ipairs({ "127.0.0.1", "127.0.0.0/8", "0.0.0.0/0" }) do
    it(("receiveBlockList {%q} drops datagrams from 127.0.0.1"):format(rule), function()
      local blocked, bport, bgot = listener("udp4", { receiveBlockList = { rule } })
      local _, cport, cgot = listener("udp4")
      local errors = {}
      blocked:on("error", function(err) errors[#errors + 1] = err end)
      three_to({ bport, cport }, cgot)
      assert.same({ "d1", "d2", "d3" }, texts(cgot))
      assert.same({}, bgot)
      assert.same({}, errors)
    end)
  end

  it('receiveBlockList {"10.0.0.0/8"} still gets datagrams from 127.0.0.1', function()
    local _, port, got = listener("udp4", { receiveBlockList = { "10.0.0.0/8" } })
    three_to({ port }, got)
    assert.same({ "d1", "d2", "d3" }, texts(got))
  end)

  it("an IPv4 rule drops ::ffff:127.0.0.1 on a dual-stack udp6 socket", function()
    local s = H.socket({ type = "udp6", receiveBlockList = { "127.0.0.1" } })
    local got = {}
    s:on("message", function(msg) got[#got + 1] = msg end)
    assert.is_nil(bind_wait(s, 0, "::"))
    local _, cport, cgot = listener("udp4")
    three_to({ s:address().port, cport }, cgot)
    assert.same({}, got)
  end)

  it('receiveBlockList {"::1/128"} drops datagrams from ::1 on udp6', function()
    local _, bport, bgot = listener("udp6", { receiveBlockList = { "::1/128" } })
    local _, cport, cgot = listener("udp6", { receiveBlockList = { "fd00::/8" } })
    local c = H.socket("udp6")
    for i = 1, 3 do
      c:send("e" .. i, bport, LO6)
      c:send("e" .. i, cport, LO6)
    end
    run_until(2000, function() return #cgot >= 3 end)
    quiet(100)
    assert.same({ "e1", "e2", "e3" }, texts(cgot))
    assert.same({}, bgot)
  end)

  it('sendBlockList {"127.0.0.1"}: the send callback gets ERR_IP_BLOCKED, later',
    function()
      local _, port, got = listener()
      local c = H.socket({ type = "udp4", sendBlockList = { "127.0.0.1" } })
      local errors, res = {}, nil
      c:on("error", function(err) errors[#errors + 1] = err end)
      c:send("blocked", port, LO4, function(...) res = table.pack(...) end)
      assert.is_nil(res, "the send callback ran inside send")
      run_until(2000, function() return res ~= nil end)
      quiet(100)
      assert.equals("table", type(res[1]))
      assert.equals("ERR_IP_BLOCKED", res[1].code)
      assert.matches("127%.0%.0%.1", res[1].message)
      assert.same({}, errors)
      assert.same({}, got)
    end)

  it('sendBlockList {"127.0.0.1"}: without a callback it is an \'error\'', function()
    local _, port, got = listener()
    local c = H.socket({ type = "udp4", sendBlockList = { "127.0.0.0/8" } })
    local errors = {}
    c:on("error", function(err) errors[#errors + 1] = err end)
    c:send("blocked", port, LO4)
    run_until(2000, function() return #errors > 0 end)
    quiet(50)
    assert.equals(1, #errors)
    assert.equals("ERR_IP_BLOCKED", errors[1].code)
    assert.same({}, got)
    -- the socket is still open and closes cleanly
    local closed = false
    c:close(function() closed = true end)
    run_until(2000, function() return closed end)
    assert.is_true(closed)
  end)

  it("sendBlockList applies to the address a lookup gives", function()
    local _, port, got = listener()
    local c = H.socket({ type = "udp4", sendBlockList = { "127.0.0.1" },
      lookup = fake_lookup({}) })
    local res
    c:send("blocked", port, "example.test", function(err) res = err or "ok" end)
    run_until(2000, function() return res ~= nil end)
    assert.equals("table", type(res))
    assert.equals("ERR_IP_BLOCKED", res.code)
    assert.same({}, got)
  end)

  it('sendBlockList {"10.0.0.0/8"} lets a send to 127.0.0.1 through', function()
    local _, port, got = listener()
    local c = H.socket({ type = "udp4", sendBlockList = { "10.0.0.0/8", "192.0.2.1" } })
    local res
    c:send("through", port, LO4, function(err, n) res = { err, n } end)
    run_until(2000, function() return res ~= nil and #got > 0 end)
    assert.same({ nil, 7 }, res)
    assert.same({ "through" }, texts(got))
  end)

  it('sendBlockList {"::1/128"} blocks sends to ::1 on udp6', function()
    local _, port, got = listener("udp6")
    local c = H.socket({ type = "udp6", sendBlockList = { "::1/128" } })
    local res
    c:send("blocked", port, LO6, function(err) res = err or "ok" end)
    run_until(2000, function() return res ~= nil end)
    quiet(50)
    assert.equals("table", type(res))
    assert.equals("ERR_IP_BLOCKED", res.code)
    assert.same({}, got)
  end)

  it("connect to a blocked address fails with ERR_IP_BLOCKED (as Node)", function()
    local _, port, got = listener()
    local c = H.socket({ type = "udp4", sendBlockList = { "127.0.0.1" } })
    local events = {}
    c:on("connect", function() events[#events + 1] = "connect" end)
    c:on("error", function(err) events[#events + 1] = "error " .. tostring(err.code) end)
    local res
    c:connect(port, LO4, function(err) res = err or "ok" end)
    run_until(2000, function() return res ~= nil end)
    quiet(30)
    assert.equals("table", type(res), "connect succeeded")
    assert.equals("ERR_IP_BLOCKED", res.code)
    assert.same({}, events)
    raises("ERR_SOCKET_DGRAM_NOT_CONNECTED", c.remoteAddress, c)
    assert.same({}, got)
  end)

  it("well-formed entries are accepted", function()
    for _, list in ipairs({ { "127.0.0.1" }, { "10.0.0.0/8", "0.0.0.0/0" }, { "::1" },
      { "::1/128", "fe80::/10", "::/0" }, { "::ffff:127.0.0.1" }, {} }) do
      for _, kind in ipairs({ "udp4", "udp6" }) do
        local s = H.socket({ type = kind, receiveBlockList = list, sendBlockList = list })
        assert.is_not_nil(s)
      end
    end
  end)

  for _, bad in ipairs({ "300.1.1.1", "1.2.3.4/40", 42, "", "1.2.3.4/", "1.2.3.4/x",
    "1.2.3.4/-1", "::1/129", "example.test", "1.2.3", true, {} }) do
    it(("a malformed entry %s (%s) raises ERR_INVALID_ARG_VALUE"):format(
      tostring(bad), type(bad)), function()
      raises("ERR_INVALID_ARG_VALUE", dgram.createSocket,
        { type = "udp4", receiveBlockList = { bad } })
      raises("ERR_INVALID_ARG_VALUE", dgram.createSocket,
        { type = "udp6", sendBlockList = { "127.0.0.1", bad } })
    end)
  end

  it("a block list that is not a table raises ERR_INVALID_ARG_TYPE", function()
    raises("ERR_INVALID_ARG_TYPE", dgram.createSocket,
      { type = "udp4", receiveBlockList = "127.0.0.1" })
    raises("ERR_INVALID_ARG_TYPE", dgram.createSocket, { type = "udp4", sendBlockList = 42 })
  end)
end)

describe("block lists (Node's test-dgram-* cases)", function()
  after_each(H.cleanup)

  it("test-dgram-blocklist: sendBlockList fails connect and send with ERR_IP_BLOCKED; "
    .. "receiveBlockList drops datagrams", function()
      local c = H.socket({ type = "udp4", sendBlockList = { LO4 } })
      local cerr
      c:connect(9999, LO4, function(err) cerr = err or false end)
      local s = H.socket({ type = "udp4", sendBlockList = { LO4 } })
      local serr
      s:send("hello", 9999, LO4, function(err) serr = err or false end)
      run_until(2000, function() return cerr ~= nil and serr ~= nil end)
      assert.equals("ERR_IP_BLOCKED", cerr and cerr.code)
      assert.equals("ERR_IP_BLOCKED", serr and serr.code)
      local r, port = H.bound("udp4", { receiveBlockList = { LO4 } })
      local msgs = 0
      r:on("message", function() msgs = msgs + 1 end)
      local client = H.socket("udp4")
      local res
      client:send("hello", port, LO4, function(err) res = { err = err } end)
      run_until(2000, function() return res ~= nil end)
      quiet(50)
      assert.is_nil(res.err)
      assert.equals(0, msgs)
    end)
end)

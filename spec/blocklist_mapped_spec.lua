-- Block lists and IPv4-mapped IPv6 addresses, matched as Node's net.BlockList matches
-- them: an IPv4 address is ::ffff:a.b.c.d, an IPv4 prefix /p is ::ffff:a.b.c.d/(96+p),
-- and every rule and address is compared in that one 128-bit space.
-- All traffic goes to 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104; every wait is bounded.
local H = require("helper")
local run_until, quiet = H.run_until, H.quiet

-- A dual-stack udp6 socket on :: (random port) recording what it receives.
local function dual_stack_listener(opts)
  local o = { type = "udp6" }
  for k, v in pairs(opts or {}) do o[k] = v end
  local s = H.socket(o)
  local got, listening = {}, false
  s:on("message", function(msg, rinfo) got[#got + 1] = { msg = msg, rinfo = rinfo } end)
  s:bind(0, "::", function() listening = true end)
  run_until(2000, function() return listening end)
  assert.is_true(listening)
  return s, s:address().port, got
end

local texts = H.texts

describe("block lists: IPv4-mapped rules on a dual-stack socket", function()
  after_each(H.cleanup)

  for _, rule in ipairs({ "::ffff:127.0.0.1", "::ffff:127.0.0.0/104", "::ffff:7f00:1",
    "127.0.0.1", "127.0.0.0/8" }) do
    it(("receiveBlockList {%q} drops what a udp4 sender on 127.0.0.1 sends"):format(rule),
      function()
        local _, port, got = dual_stack_listener({ receiveBlockList = { rule } })
        local v4 = H.socket("udp4")
        local v6 = H.socket("udp6")
        local sent, failures = 0, {}
        local function done(err)
          sent = sent + 1
          if err then failures[#failures + 1] = err end
        end
        for i = 1, 3 do v4:send("from v4 " .. i, port, "127.0.0.1", done) end
        v6:send("from ::1", port, "::1", done)
        run_until(2000, function() return sent == 4 and #got >= 1 end)
        assert.same({}, failures)
        quiet(100)
        -- the IPv6 sender shows the socket receives; no IPv4 datagram got through
        assert.same({ "from ::1" }, texts(got))
        assert.equals("::1", got[1].rinfo.address)
      end)
  end

  it("without a matching rule the udp4 sender's datagram arrives, mapped", function()
    local _, port, got = dual_stack_listener({ receiveBlockList = { "::ffff:10.0.0.0/104" } })
    local v4 = H.socket("udp4")
    v4:send("hello", port, "127.0.0.1")
    run_until(2000, function() return #got >= 1 end)
    assert.same({ "hello" }, texts(got))
    assert.equals("::ffff:127.0.0.1", got[1].rinfo.address)
  end)

  it('sendBlockList {"::ffff:127.0.0.1"} refuses 127.0.0.1 (udp4) and ::ffff:127.0.0.1 '
    .. "(udp6) with ERR_IP_BLOCKED; nothing arrives", function()
    local _, port, got = dual_stack_listener()
    local c4 = H.socket({ type = "udp4", sendBlockList = { "::ffff:127.0.0.1" } })
    local c6 = H.socket({ type = "udp6", sendBlockList = { "::ffff:127.0.0.1" } })
    local e4 = H.send_wait(c4, "v4", port, "127.0.0.1")
    local e6 = H.send_wait(c6, "v6", port, "::ffff:127.0.0.1")
    assert.equals("ERR_IP_BLOCKED", e4 and e4.code)
    assert.equals("ERR_IP_BLOCKED", e6 and e6.code)
    assert.equals("127.0.0.1", e4.address)
    assert.equals(port, e4.port)
    assert.equals("::ffff:127.0.0.1", e6.address)
    -- the same sockets still send to what the rule does not cover
    assert.is_nil((H.send_wait(c4, "v4 ok", port, "127.0.0.2")))
    assert.is_nil((H.send_wait(c6, "v6 ok", port, "::1")))
    run_until(2000, function() return #got >= 2 end)
    quiet(50)
    table.sort(got, function(a, b) return a.msg < b.msg end)
    assert.same({ "v4 ok", "v6 ok" }, texts(got))
  end)

  it('sendBlockList {"::ffff:127.0.0.0/104"}: a send without callback emits \'error\'',
    function()
      local c = H.socket({ type = "udp4", sendBlockList = { "::ffff:127.0.0.0/104" } })
      local errors = {}
      c:on("error", function(err) errors[#errors + 1] = err end)
      c:send("x", 9, "127.0.0.9")
      run_until(2000, function() return #errors >= 1 end)
      quiet(30)
      assert.equals(1, #errors)
      assert.equals("ERR_IP_BLOCKED", errors[1].code)
      assert.equals("127.0.0.9", errors[1].address)
    end)

  it('sendBlockList {"::ffff:127.0.0.1"} refuses connect to 127.0.0.1 on udp4', function()
    local c = H.socket({ type = "udp4", sendBlockList = { "::ffff:127.0.0.1" } })
    local done, failure = false, nil
    c:connect(9, "127.0.0.1", function(err) done, failure = true, err end)
    run_until(2000, function() return done end)
    assert.equals("ERR_IP_BLOCKED", failure and failure.code)
  end)
end)

-- Which (rule, destination) pairs block, as Node 20's net.BlockList answers
-- check(destination) after add{Address,Subnet}(rule) (recorded with node v20.20.2).
local node_cases = {
  { "::ffff:127.0.0.1", "udp4", "127.0.0.1", true },
  { "::ffff:127.0.0.1", "udp4", "127.0.0.2", false },
  { "::ffff:127.0.0.1", "udp6", "::ffff:127.0.0.1", true },
  { "::ffff:127.0.0.1", "udp6", "::ffff:127.0.0.2", false },
  { "::ffff:127.0.0.1", "udp6", "::1", false },
  { "::ffff:127.0.0.0/104", "udp4", "127.0.0.2", true },
  { "::ffff:127.0.0.0/104", "udp6", "::ffff:127.0.0.2", true },
  { "::ffff:127.0.0.0/104", "udp6", "::1", false },
  { "::ffff:127.0.0.1/128", "udp4", "127.0.0.1", true },
  { "::ffff:127.0.0.1/128", "udp4", "127.0.0.2", false },
  { "127.0.0.1", "udp6", "::ffff:127.0.0.1", true },
  { "127.0.0.1", "udp6", "::ffff:127.0.0.2", false },
  { "127.0.0.0/8", "udp6", "::ffff:127.0.0.2", true },
  { "127.0.0.0/8", "udp6", "::1", false },
  { "0.0.0.0/0", "udp6", "::ffff:127.0.0.1", true },
  { "0.0.0.0/0", "udp6", "::1", false },
  { "::/0", "udp4", "127.0.0.1", true },
  { "::/1", "udp4", "127.0.0.1", true },
  { "8000::/1", "udp4", "127.0.0.1", false },
  { "::ffff:0:0/96", "udp4", "127.0.0.1", true },
  { "::fffe:0:0/95", "udp4", "127.0.0.1", true },
  { "::ffff:0:0/96", "udp6", "::1", false },
  { "::7f00:1", "udp4", "127.0.0.1", false }, -- IPv4-compatible is not IPv4-mapped
  { "::ffff:128.0.0.0/97", "udp4", "127.0.0.1", false },
}

describe("block lists: mapped and plain rules match as Node's net.BlockList", function()
  after_each(H.cleanup)

  it("every rule/destination pair of the Node table blocks or passes as Node says", function()
    local _, port, got = dual_stack_listener()
    local wrong = {}
    local passed = {}
    for i, case in ipairs(node_cases) do
      local rule, kind, dest, blocks = case[1], case[2], case[3], case[4]
      local c = H.socket({ type = kind, sendBlockList = { rule } })
      local err = H.send_wait(c, tostring(i), port, dest)
      local blocked = err ~= nil and err.code == "ERR_IP_BLOCKED"
      if err ~= nil and not blocked then
        wrong[#wrong + 1] = ("%s %s -> %s: %s"):format(rule, kind, dest, tostring(err))
      elseif blocked ~= blocks then
        wrong[#wrong + 1] = ("%s %s -> %s: %s, Node: %s"):format(rule, kind, dest,
          blocked and "blocked" or "passed", blocks and "blocked" or "passed")
      end
      if not blocked then passed[#passed + 1] = tostring(i) end
      c:close()
    end
    assert.same({}, wrong)
    run_until(3000, function() return #got >= #passed end)
    quiet(50)
    local arrived = texts(got)
    table.sort(arrived)
    table.sort(passed)
    assert.same(passed, arrived)
  end)
end)

-- The order of what a socket sends and reports: sends leave in the order they were made,
-- also when some go to host names resolved later (custom lookups answering after varying
-- delays); a socket counts as connected from the connect() call on; the callback of a
-- send runs before the ECONNREFUSED its datagram provoked.
local H = require("helper")
local dgram = H.dgram
local raises, run_until, quiet = H.raises, H.run_until, H.quiet

local LO4 = "127.0.0.1"

-- A lookup that answers "slowN.test" with 127.0.0.1 after N ms (from a timer), any other
-- name or literal at once with 127.0.0.1; it records the names it was asked.
local function delayed_lookup(asked)
  return function(host, family, cb)
    asked[#asked + 1] = host
    local ms = tonumber(host:match("^slow(%d+)%.test$"))
    if ms then
      dgram.setTimeout(ms, function() cb(nil, LO4, family) end)
    else
      cb(nil, LO4, family)
    end
  end
end

describe("sends leave in the order they were made", function()
  after_each(H.cleanup)

  it("when host names are answered after varying delays (bound socket)", function()
    local _, port, got = H.listener("udp4")
    local asked = {}
    local c = H.socket({ type = "udp4", lookup = delayed_lookup(asked) })
    c:bind(0, LO4)
    run_until(1000, function() return #asked > 0 end)
    quiet(10)
    local hosts = { "slow60.test", LO4, "slow5.test", "fast.test", "slow30.test", LO4,
      "slow0.test", "slow45.test", LO4 }
    local want, calls = {}, {}
    for i, host in ipairs(hosts) do
      want[i] = ("%d %s"):format(i, host)
      c:send(want[i], port, host, function(err)
        calls[#calls + 1] = i .. (err and (" " .. err.code) or "")
      end)
    end
    run_until(5000, function() return #got >= #hosts and #calls >= #hosts end)
    assert.same(want, H.texts(got))
    assert.same({ "1", "2", "3", "4", "5", "6", "7", "8", "9" }, calls)
  end)

  it("when they waited for the implicit bind, whose lookup answers late", function()
    local _, port, got = H.listener("udp4")
    local asked = {}
    local lookup = delayed_lookup(asked)
    local c = H.socket({
      type = "udp4",
      lookup = function(host, family, cb)
        if host == "0.0.0.0" then return lookup("slow40.test", family, cb) end
        return lookup(host, family, cb)
      end,
    })
    local hosts = { LO4, "slow30.test", "fast.test", LO4, "slow10.test", LO4 }
    local want = {}
    for i, host in ipairs(hosts) do
      want[i] = ("%d %s"):format(i, host)
      c:send(want[i], port, host)
    end
    assert.equals(#hosts, c:getSendQueueCount())
    run_until(5000, function() return #got >= #hosts end)
    assert.same(want, H.texts(got))
  end)

  it("with the built-in resolver: literals do not overtake a send to localhost", function()
    local _, port, got = H.listener("udp4")
    local c, _ = H.bound("udp4")
    local want = {}
    for i = 1, 20 do
      want[i] = "m" .. i
      c:send(want[i], port, i % 3 == 1 and "localhost" or LO4)
    end
    run_until(5000, function() return #got >= 20 end)
    assert.same(want, H.texts(got))
  end)

  it("a lookup that fails fails its own send only; the later ones go on in order",
    function()
      local _, port, got = H.listener("udp4")
      local nf = dgram.core.error("ENOTFOUND", "getaddrinfo ENOTFOUND nowhere.test")
      local asked = {}
      local delayed = delayed_lookup(asked)
      local c = H.socket({
        type = "udp4",
        lookup = function(host, family, cb)
          if host == "nowhere.test" then
            dgram.setTimeout(30, function() cb(nf) end)
          else
            delayed(host, family, cb)
          end
        end,
      })
      local calls = {}
      local function cb(i)
        return function(err) calls[#calls + 1] = i .. " " .. tostring(err and err.code) end
      end
      c:send("1", port, "slow10.test", cb(1))
      c:send("2", port, "nowhere.test", cb(2))
      c:send("3", port, LO4, cb(3))
      c:send("4", port, "slow5.test", cb(4))
      run_until(3000, function() return #calls >= 4 end)
      assert.same({ "1", "3", "4" }, H.texts(got))
      assert.same({ "1 nil", "2 ENOTFOUND", "3 nil", "4 nil" }, calls)
    end)

  it("a send made after connect() leaves after the sends made before it", function()
    local _, port, got = H.listener("udp4")
    local asked = {}
    local c = H.socket({ type = "udp4", lookup = delayed_lookup(asked) })
    c:bind(0, LO4)
    run_until(1000, function() return #asked > 0 end)
    quiet(10)
    c:send("1 before", port, "slow40.test")
    c:send("2 before", port, LO4)
    c:connect(port, "slow5.test")
    c:send("3 after")
    run_until(5000, function() return #got >= 3 end)
    assert.same({ "1 before", "2 before", "3 after" }, H.texts(got))
  end)
end)

describe("between connect() and 'connect'", function()
  after_each(H.cleanup)

  it("a send with a port or an address raises ERR_SOCKET_DGRAM_IS_CONNECTED; nothing is "
    .. "sent", function()
    local _, port, got = H.listener("udp4")
    local _, other_port, other_got = H.listener("udp4")
    local asked = {}
    local c = H.socket({ type = "udp4", lookup = delayed_lookup(asked) })
    local connected = false
    c:connect(port, "slow30.test", function(err)
      assert.is_nil(err)
      connected = true
    end)
    local calls = 0
    local function cb() calls = calls + 1 end
    raises("ERR_SOCKET_DGRAM_IS_CONNECTED", c.send, c, "x", other_port)
    raises("ERR_SOCKET_DGRAM_IS_CONNECTED", c.send, c, "x", other_port, LO4)
    raises("ERR_SOCKET_DGRAM_IS_CONNECTED", c.send, c, "x", other_port, LO4, cb)
    raises("ERR_SOCKET_DGRAM_IS_CONNECTED", c.send, c, "xyz", 0, 1, other_port, LO4, cb)
    run_until(3000, function() return connected end)
    assert.is_true(connected)
    raises("ERR_SOCKET_DGRAM_IS_CONNECTED", c.send, c, "x", other_port, cb)
    quiet(30)
    assert.equals(0, calls)
    assert.same({}, H.texts(got))
    assert.same({}, H.texts(other_got))
  end)

  it("a send without a port waits for the connect and goes to the peer", function()
    local _, port, got = H.listener("udp4")
    local asked = {}
    local c = H.socket({ type = "udp4", lookup = delayed_lookup(asked) })
    local order = {}
    c:connect(port, "slow30.test", function() order[#order + 1] = "connect" end)
    c:send("one", function(err, n) order[#order + 1] = "one " .. tostring(err or n) end)
    c:send("three", 1, 2, function(err, n) order[#order + 1] = "hr " .. tostring(err or n) end)
    assert.equals(2, c:getSendQueueCount())
    run_until(3000, function() return #got >= 2 and #order >= 3 end)
    assert.same({ "one", "hr" }, H.texts(got))
    assert.same({ "connect", "one 3", "hr 2" }, order)
  end)

  it("a send that waited for a connect that fails gets ERR_SOCKET_DGRAM_NOT_CONNECTED",
    function()
      local nf = dgram.core.error("ENOTFOUND", "getaddrinfo ENOTFOUND nowhere.test")
      local c = H.socket({
        type = "udp4",
        lookup = function(host, family, cb)
          if host == "nowhere.test" then
            dgram.setTimeout(10, function() cb(nf) end)
          else
            cb(nil, host, family)
          end
        end,
      })
      local res, connect_err = {}, nil
      c:connect(9, "nowhere.test", function(err) connect_err = err end)
      c:send("x", function(err, n) res[#res + 1] = { err, n } end)
      local errors = {}
      c:on("error", function(err) errors[#errors + 1] = err.code end)
      c:send("y")
      run_until(3000, function() return #res >= 1 and #errors >= 1 end)
      quiet(20)
      assert.equals(nf, connect_err)
      assert.equals(1, #res)
      assert.equals("ERR_SOCKET_DGRAM_NOT_CONNECTED", res[1][1].code)
      assert.same({ "ERR_SOCKET_DGRAM_NOT_CONNECTED" }, errors)
      assert.equals(0, c:getSendQueueCount())
    end)
end)

describe("ECONNREFUSED on a connected socket", function()
  after_each(H.cleanup)

  it("comes after the callback of the send whose datagram provoked it", function()
    local dead = H.free_port()
    local c = H.socket("udp4")
    local connected = false
    c:connect(dead, LO4, function() connected = true end)
    run_until(2000, function() return connected end)
    assert.is_true(connected)
    local order = {}
    c:on("error", function(err) order[#order + 1] = "error " .. err.code end)
    local function send_in_loop(i)
      c:send("ping " .. i, function(err, n)
        order[#order + 1] = ("send %d %s"):format(i, err and err.code or tostring(n))
      end)
    end
    -- from inside the loop (a timer), where the ICMP is read in the same turns
    for i = 1, 5 do
      dgram.setTimeout(5 * i, function() send_in_loop(i) end)
    end
    run_until(3000, function() return #order >= 6 end)
    quiet(50)
    assert.equals("send 1 6", order[1])
    local seen = {}
    for _, entry in ipairs(order) do
      local i = tonumber(entry:match("^send (%d+)"))
      if i then seen[i] = true end
      if entry:match("^error") then
        -- every refusal follows the callback of an earlier send
        local before = 0
        for k in pairs(seen) do before = math.max(before, k) end
        assert.is_true(before >= 1, table.concat(order, ", "))
      end
    end
    for i = 1, 5 do assert.is_true(seen[i], "send " .. i .. ": " .. table.concat(order, ", ")) end
  end)
end)

describe("the last literal destination, cached", function()
  after_each(H.cleanup)

  it("survives a send to a host name between two sends to it: all arrive, in order", function()
    local r, port, got = H.listener("udp4")
    local c = H.bound("udp4")
    local errs = {}
    for _, host in ipairs({ "127.0.0.1", "localhost", "127.0.0.1", "localhost" }) do
      c:send(host, port, host, function(err) errs[#errs + 1] = err and err.code or "ok" end)
    end
    assert.is_true(H.run_until(3000, function() return #got == 4 and #errs == 4 end))
    assert.same({ "ok", "ok", "ok", "ok" }, errs)
    assert.same({ "127.0.0.1", "localhost", "127.0.0.1", "localhost" }, H.texts(got))
    assert.equals(r:address().port, port)
  end)
end)

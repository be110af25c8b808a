-- IPv6 specifics: ipv6Only and dual-stack sockets, "::1" and scoped addresses.
local H = require("helper")
local run_until, quiet, listener, texts = H.run_until, H.quiet, H.listener, H.texts
local bind_wait = H.bind_wait

local LO4, LO6 = "127.0.0.1", "::1"

describe("ipv6Only", function()
  after_each(H.cleanup)

  local function bindv6only()
    local f = io.open("/proc/sys/net/ipv6/bindv6only")
    if not f then return nil end
    local v = f:read("*l")
    f:close()
    return v
  end

  -- A udp6 socket bound to "::" (all interfaces) recording what it gets.
  local function any6(opts)
    local o = { type = "udp6" }
    for k, v in pairs(opts or {}) do o[k] = v end
    local s = H.socket(o)
    local got = {}
    s:on("message", function(msg, rinfo) got[#got + 1] = { msg = msg, rinfo = rinfo } end)
    assert.is_nil(bind_wait(s, 0, "::"))
    return s, s:address().port, got
  end

  it("an ipv6Only socket on :: does not receive datagrams sent to 127.0.0.1", function()
    local _, port, got = any6({ ipv6Only = true })
    local c4 = H.socket("udp4")
    local sent = false
    c4:send("v4", port, LO4, function() sent = true end)
    run_until(2000, function() return sent end)
    quiet(150)
    assert.same({}, got)
    -- while IPv6 datagrams do arrive
    local c6 = H.socket("udp6")
    c6:send("v6", port, LO6)
    run_until(2000, function() return #got > 0 end)
    assert.same({ "v6" }, texts(got))
  end)

  it("an ipv6Only socket on :: leaves the IPv4 port free", function()
    local _, port = any6({ ipv6Only = true })
    local s4 = H.socket("udp4")
    local events = {}
    s4:on("error", function(err) events[#events + 1] = "error " .. err.code end)
    s4:on("listening", function() events[#events + 1] = "listening" end)
    s4:bind(port, LO4)
    run_until(2000, function() return #events > 0 end)
    assert.same({ "listening" }, events)
  end)

  it("without ipv6Only a socket on :: is dual-stack: ::ffff:127.0.0.1 arrives", function()
    if bindv6only() == "1" then
      pending("net.ipv6.bindv6only is 1 here: sockets are IPv6-only by default")
      return
    end
    local _, port, got = any6()
    local c4 = H.bound("udp4")
    c4:send("mapped", port, LO4)
    run_until(2000, function() return #got > 0 end)
    assert.same({ "mapped" }, texts(got))
    assert.equals("::ffff:127.0.0.1", got[1].rinfo.address)
    assert.equals("IPv6", got[1].rinfo.family)
    assert.equals(c4:address().port, got[1].rinfo.port)
  end)
end)

describe("IPv6 addresses and scopes", function()
  after_each(H.cleanup)

  it('"::1" binds and a datagram round-trips with rinfo.address "::1"', function()
    local _, port, got = listener("udp6")
    local c = H.bound("udp6")
    c:send("six", port, LO6)
    run_until(2000, function() return #got > 0 end)
    assert.same({ "six" }, texts(got))
    assert.same({ address = LO6, family = "IPv6", port = c:address().port, size = 3 },
      got[1].rinfo)
  end)

  it('a send to "fe80::1%lo" gives a system error (or goes nowhere), never a crash',
    function()
      local c = H.bound("udp6")
      local errors, res = {}, nil
      c:on("error", function(err) errors[#errors + 1] = err end)
      c:send("x", 9, "fe80::1%lo", function(...) res = table.pack(...) end)
      run_until(2000, function() return res ~= nil end)
      assert.is_not_nil(res)
      if res[1] ~= nil then
        assert.equals("table", type(res[1]))
        assert.matches("^E[A-Z_]+$", res[1].code)
        assert.equals("send", res[1].syscall)
        assert.equals("integer", math.type(res[1].errno))
      else
        assert.equals(1, res[2])
      end
      assert.same({}, errors)
      -- the socket keeps working
      local _, port, got = listener("udp6")
      c:send("after", port, LO6)
      run_until(2000, function() return #got > 0 end)
      assert.same({ "after" }, texts(got))
    end)
end)

describe("ipv6Only (Node's test-dgram-* cases)", function()
  after_each(H.cleanup)

  it("test-dgram-ipv6only: with ipv6Only, udp4 can bind 0.0.0.0 on the same port",
    function()
      local s = H.socket({ type = "udp6", ipv6Only = true })
      local port
      s:bind({ port = 0, address = "::" }, function() port = s:address().port end)
      assert.is_true(run_until(2000, function() return port ~= nil end))
      local c = H.socket("udp4")
      local ok, failure = false, nil
      c:on("error", function(e) failure = e end)
      c:bind({ port = port, address = "0.0.0.0" }, function() ok = true end)
      run_until(2000, function() return ok or failure ~= nil end)
      assert.is_nil(failure and failure.code)
      assert.is_true(ok)
    end)
end)

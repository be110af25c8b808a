-- Block lists of 100,000 rules (kept as a sorted, merged range table): the first, the
-- middle and the last rule block, the gaps between rules pass, on the receive and the
-- send path; overlapping and touching prefixes merge without swallowing their neighbours.
-- Correctness only: what a rule costs is measured by `make bench` ("blocklist 100k").
-- All traffic stays in 127.0.0.0/8 on lo; every wait is bounded.
local H = require("helper")
local run_until, quiet = H.run_until, H.quiet

local N = 100000

-- 127.0.0.0 + offset, as text. (Arithmetic, not bit operators: every Lua runs this.)
local function ip(offset)
  local f = math.floor
  return ("127.%d.%d.%d"):format(f(offset / 65536) % 256, f(offset / 256) % 256, offset % 256)
end

-- N single-address rules on the even offsets 2, 4, ..., 2N, in a shuffled order (the
-- table must not depend on the order it is given), so every odd offset is a gap.
local function rules_100k()
  local t = {}
  for i = 1, N do t[i] = ip(2 * i) end
  local seed = 12345
  for i = N, 2, -1 do -- Fisher-Yates with a fixed LCG: the same order on every run
    seed = (seed * 1103515245 + 12345) % 2147483648
    local j = seed % i + 1
    t[i], t[j] = t[j], t[i]
  end
  return t
end

local FIRST, MIDDLE, LAST = 2, 2 * math.floor(N / 2), 2 * N
local blocked_offsets = { FIRST, MIDDLE, LAST }
local passing_offsets = { 1, 3, MIDDLE - 1, MIDDLE + 1, LAST - 1, LAST + 1, 0xff0001 }

describe("block lists with 100,000 rules", function()
  after_each(H.cleanup)

  it("receiveBlockList: senders on the first, middle and last rule are dropped, senders "
    .. "in the gaps arrive", function()
    local s, port, got = H.listener("udp4", { receiveBlockList = rules_100k() })
    local expected = {}
    local sent, failures = 0, {}
    local function done(err)
      sent = sent + 1
      if err then failures[#failures + 1] = tostring(err) end
    end
    local function send_from(offset)
      local c = H.socket("udp4")
      c:bind(0, ip(offset), function() c:send(ip(offset), port, "127.0.0.1", done) end)
    end
    for _, o in ipairs(blocked_offsets) do send_from(o) end
    for _, o in ipairs(passing_offsets) do
      send_from(o)
      expected[#expected + 1] = ip(o)
    end
    local total = #blocked_offsets + #passing_offsets
    run_until(5000, function() return sent == total and #got >= #expected end)
    quiet(100)
    assert.same({}, failures)
    local arrived = {}
    for i, m in ipairs(got) do
      arrived[i] = m.msg
      assert.equals(m.msg, m.rinfo.address) -- each came from the address it names
    end
    table.sort(arrived)
    table.sort(expected)
    assert.same(expected, arrived)
    assert.is_true(s:stats().received == #expected)
  end)

  it("sendBlockList: the first, middle and last rule give ERR_IP_BLOCKED, the gaps send",
    function()
      local c = H.socket({ type = "udp4", sendBlockList = rules_100k() })
      local _, port = H.bound("udp4")
      local wrong = {}
      for _, o in ipairs(blocked_offsets) do
        local err = H.send_wait(c, "x", port, ip(o))
        if not (err and err.code == "ERR_IP_BLOCKED") then
          wrong[#wrong + 1] = ip(o) .. " not blocked: " .. tostring(err)
        end
      end
      for _, o in ipairs(passing_offsets) do
        local err, n = H.send_wait(c, "x", port, ip(o))
        if err or n ~= 1 then wrong[#wrong + 1] = ip(o) .. " refused: " .. tostring(err) end
      end
      assert.same({}, wrong)
    end)

  it("the same list given as udp6 rules in mapped form blocks the same IPv4 addresses",
    function()
      local rules = rules_100k()
      for i = 1, #rules do rules[i] = "::ffff:" .. rules[i] end
      local c = H.socket({ type = "udp4", sendBlockList = rules })
      local _, port = H.bound("udp4")
      local codes = {}
      for _, o in ipairs({ FIRST, FIRST + 1, LAST, LAST + 1 }) do
        local err = H.send_wait(c, "x", port, ip(o))
        codes[#codes + 1] = err and err.code or "sent"
      end
      assert.same({ "ERR_IP_BLOCKED", "sent", "ERR_IP_BLOCKED", "sent" }, codes)
    end)
end)

-- A seeded generator (the same numbers on every run) and a rule-by-rule matcher to check
-- the range table against.
-- (Park and Miller's generator: its products stay below 2^53, exact in the doubles of Lua
-- 5.1 and LuaJIT too, so every Lua draws the same rules.)
local function lcg(seed)
  return function(n)
    seed = seed * 16807 % 2147483647
    return seed % n
  end
end

local function ipv4_rule_matches(rule_addr, prefix, addr)
  local size = 2 ^ (32 - prefix)
  return math.floor(rule_addr / size) == math.floor(addr / size)
end

describe("block lists: random rules against a rule-by-rule check", function()
  after_each(H.cleanup)

  it("2,000 random prefixes in 127.0.0.0/8 (plain and mapped) block exactly the "
    .. "destinations some rule covers", function()
    local rand = lcg(4242)
    local rules, texts = {}, {}
    for i = 1, 2000 do
      local prefix = 17 + rand(16) -- 17..32: nested, overlapping, touching and apart
      local addr = 0x7f000000 + rand(0x1000000)
      rules[i] = { addr = addr, prefix = prefix }
      local text = ip(addr % 0x1000000) .. "/" .. prefix
      if i % 2 == 0 then text = "::ffff:" .. ip(addr % 0x1000000) .. "/" .. (prefix + 96) end
      texts[i] = text
    end
    local c = H.socket({ type = "udp4", sendBlockList = texts })
    local _, port = H.bound("udp4")
    local wrong, blocked_count = {}, 0
    for _ = 1, 300 do
      local offset = rand(0x1000000)
      if offset == 0xffffff or offset == 0 then offset = 1 end -- not lo's broadcast
      local addr = 0x7f000000 + offset
      local want = false
      for _, r in ipairs(rules) do
        if ipv4_rule_matches(r.addr, r.prefix, addr) then want = true; break end
      end
      local err = H.send_wait(c, "x", port, ip(offset))
      local blocked = err ~= nil and err.code == "ERR_IP_BLOCKED"
      if blocked then blocked_count = blocked_count + 1 end
      if blocked ~= want or (err and not blocked) then
        wrong[#wrong + 1] = ip(offset) .. ": " .. (err and tostring(err) or "sent")
      end
    end
    assert.same({}, wrong)
    -- both outcomes were exercised
    assert.is_true(blocked_count > 30 and blocked_count < 270, tostring(blocked_count))
  end)
end)

describe("block lists: overlapping and touching prefixes", function()
  after_each(H.cleanup)

  -- rule list, then { destination, blocked? } pairs (all in 127.0.0.0/8)
  local cases = {
    { { "127.20.0.0/16", "127.20.5.0/24", "127.20.255.255" },
      { { "127.20.0.0", true }, { "127.20.255.255", true }, { "127.21.0.0", false },
        { "127.19.255.255", false } } },
    { { "127.30.128.0/17", "127.30.0.0/17" }, -- touching, given in reverse
      { { "127.30.0.0", true }, { "127.30.127.255", true }, { "127.30.128.0", true },
        { "127.30.255.255", true }, { "127.31.0.0", false }, { "127.29.255.255", false } } },
    { { "127.40.0.5", "127.40.0.0/30", "127.40.0.7" }, -- a gap at .4 and .6
      { { "127.40.0.3", true }, { "127.40.0.4", false }, { "127.40.0.5", true },
        { "127.40.0.6", false }, { "127.40.0.7", true } } },
    { { "127.50.0.0/24", "127.50.0.0/16", "127.50.0.0" }, -- nested, the widest wins
      { { "127.50.200.1", true }, { "127.51.0.0", false } } },
    { { "::/0" }, { { "127.60.0.1", true } } },
    { { "::ffff:255.255.255.255", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "127.0.0.0/8" },
      { { "127.70.0.1", true } } },
  }
  for i, case in ipairs(cases) do
    it(("case %d: {%s}"):format(i, table.concat(case[1], ", ")), function()
      local c = H.socket({ type = "udp4", sendBlockList = case[1] })
      local _, port = H.bound("udp4")
      local wrong = {}
      for _, d in ipairs(case[2]) do
        local err = H.send_wait(c, "x", port, d[1])
        local blocked = err ~= nil and err.code == "ERR_IP_BLOCKED"
        if blocked ~= d[2] or (err and not blocked) then
          wrong[#wrong + 1] = d[1] .. ": " .. (err and tostring(err) or "sent")
        end
      end
      assert.same({}, wrong)
    end)
  end

  it("an IPv6 rule outside ::ffff:0:0/96 (8000::/1) lets IPv4 through", function()
    local c = H.socket({ type = "udp4", sendBlockList = { "8000::/1" } })
    local _, port = H.bound("udp4")
    local err, n = H.send_wait(c, "x", port, "127.0.0.1")
    assert.is_nil(err)
    assert.equals(1, n)
  end)
end)

-- Sends of one loop turn where UDP GSO must not be used, or is refused: multicast and
-- broadcast destinations, and a route whose MTU is smaller than the datagrams. These
-- change lo (its MTU, a default route) and send to groups and broadcast addresses, so
-- they run only inside a private network namespace: spec/run.sh starts them under
-- `unshare -n`. Anywhere else every test here is pending with the reason.
local H = require("helper")
local body, in_turn, count, sender = H.body, H.in_turn, H.count, H.multicast_sender

local function need_netns() H.need_netns(pending) end

-- A udp4 socket bound to `address` (default 0.0.0.0: it gets group and broadcast
-- datagrams too) on a random port; returns it, its port and the list of what it receives.
local function receiver(kind, address)
  local s = H.socket({ type = kind or "udp4", recvBufferSize = H.RCVBUF })
  local got = {}
  s:on("message", function(msg) got[#got + 1] = msg end)
  s:bind(0, address)
  return s, s:address().port, got
end

-- Sends n datagrams of `size` bytes in one turn; returns what they should be and the
-- table the callbacks fill: cbs[i] = table.pack(err, bytes).
local function send_turn(s, n, size, port, address, first)
  local want, cbs = {}, {}
  in_turn(function()
    for i = 1, n do
      want[i] = body((first or 0) + i, size)
      s:send(want[i], port, address, function(...) cbs[i] = table.pack(...) end)
    end
  end)
  return want, cbs
end

-- Waits for want and the callbacks; then every datagram is as sent, in order, and every
-- callback got (nil, size).
local function assert_delivered(got, want, cbs, size)
  H.run_until(5000, function() return #got >= #want and count(cbs) == #want end)
  H.quiet(50)
  assert.equals(#want, #got)
  for i = 1, #want do assert.equals(want[i], got[i], "datagram " .. i) end
  for i = 1, #want do
    assert.is_table(cbs[i], "no callback for send " .. i)
    assert.is_nil(cbs[i][1], "send " .. i .. ": " .. tostring(cbs[i][1]))
    assert.equals(size, cbs[i][2], "send " .. i)
  end
end

-- Runs an ip(8) command; returns whether it succeeded.
local function ip(args)
  return H.execute("ip " .. args .. " >/dev/null 2>&1") == true
end

-- lo's MTU now, read from ip(8) (sysfs shows the host's interfaces here).
local function lo_mtu()
  local p = assert(io.popen("env -u LD_PRELOAD ip -o link show lo 2>/dev/null"))
  local out = p:read("*a")
  p:close()
  return tonumber(out:match(" mtu (%d+)"))
end

describe("one turn's sends over a route that refuses GSO (private network namespace)", function()
  after_each(H.cleanup)

  for _, kind in ipairs({ "udp4", "udp6" }) do
    local host = kind == "udp6" and "::1" or "127.0.0.1"
    it(kind .. ": with lo's MTU at 1280, 1300-byte datagrams arrive (fragmented), then the "
      .. "socket's smaller ones", function()
      need_netns()
      local mtu = lo_mtu()
      assert.is_number(mtu, "cannot read lo's MTU")
      assert.is_true(ip("link set lo mtu 1280"), "cannot set lo's MTU to 1280")
      finally(function() ip("link set lo mtu " .. mtu) end)
      local _, port, got = receiver(kind, host)
      local s = H.socket(kind)
      s:bind(0, host)
      local want, cbs = send_turn(s, 20, 1300, port, host)
      assert_delivered(got, want, cbs, 1300)
      -- the same socket goes on: small ones, then big ones again
      for i = #got, 1, -1 do got[i] = nil end
      want, cbs = send_turn(s, 20, 64, port, host, 100)
      assert_delivered(got, want, cbs, 64)
      for i = #got, 1, -1 do got[i] = nil end
      want, cbs = send_turn(s, 20, 1300, port, host, 200)
      assert_delivered(got, want, cbs, 1300)
    end)
  end
end)

describe("one turn's sends to a group or a broadcast address (private network namespace)",
  function()
    after_each(H.cleanup)

    it("20 datagrams of one size to a joined IPv4 group arrive in order", function()
      need_netns()
      local group = "239.255.20.1"
      local r, port, got = receiver()
      r:addMembership(group)
      local s = sender()
      local want, cbs = send_turn(s, 20, 300, port, group)
      assert_delivered(got, want, cbs, 300)
    end)

    it("a socket connected to a group: 20 datagrams of one size arrive in order", function()
      need_netns()
      local group = "239.255.20.2"
      local r, port, got = receiver()
      r:addMembership(group)
      local s = sender()
      local connected = false
      s:connect(port, group, function() connected = true end)
      H.run_until(2000, function() return connected end)
      assert.is_true(connected)
      local want, cbs = {}, {}
      in_turn(function()
        for i = 1, 20 do
          want[i] = body(i, 200)
          s:send(want[i], function(...) cbs[i] = table.pack(...) end)
        end
      end)
      assert_delivered(got, want, cbs, 200)
    end)

    it("group and unicast destinations interleaved: each receiver gets its own in order",
      function()
        need_netns()
        local group = "239.255.20.3"
        local r1, p1, got1 = receiver()
        r1:addMembership(group)
        local _, p2, got2 = receiver("udp4", "127.0.0.1")
        local s = sender()
        local want1, want2, cbs, n = {}, {}, {}, 0
        in_turn(function()
          for i = 1, 60 do
            local to_group = i % 4 ~= 0 and i <= 40 or (i > 40 and i % 2 == 0)
            local msg = body(i, 120)
            if to_group then want1[#want1 + 1] = msg else want2[#want2 + 1] = msg end
            s:send(msg, to_group and p1 or p2, to_group and group or "127.0.0.1",
              function(...) cbs[i] = table.pack(...) end)
            n = n + 1
          end
        end)
        H.run_until(5000, function()
          return #got1 >= #want1 and #got2 >= #want2 and count(cbs) == n
        end)
        H.quiet(50)
        assert.same(want1, got1)
        assert.same(want2, got2)
        for i = 1, n do
          assert.is_nil(cbs[i][1], "send " .. i .. ": " .. tostring(cbs[i][1]))
          assert.equals(120, cbs[i][2])
        end
      end)

    it("20 datagrams of one size to lo's broadcast address 127.255.255.255 arrive in order",
      function()
        need_netns()
        local _, port, got = receiver()
        local s = sender()
        s:setBroadcast(true)
        local want, cbs = send_turn(s, 20, 250, port, "127.255.255.255")
        assert_delivered(got, want, cbs, 250)
      end)

    it("20 datagrams of one size to 255.255.255.255 arrive in order (default route via lo)",
      function()
        need_netns()
        -- the limited broadcast needs a default route, which a bare namespace has not
        assert.is_true(ip("route add default dev lo"), "cannot add a default route via lo")
        finally(function() ip("route del default dev lo") end)
        local _, port, got = receiver()
        local s = sender()
        s:setBroadcast(true)
        local want, cbs = send_turn(s, 20, 250, port, "255.255.255.255")
        assert_delivered(got, want, cbs, 250)
      end)
  end)

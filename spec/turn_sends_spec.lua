-- Sends of one loop turn: a send made inside dgram.run waits for the other sends of its
-- turn; each socket's run leaves with one sendmmsg (same-size runs to one destination
-- as one UDP GSO write). Checked: what arrives and what the callbacks get.
local H = require("helper")
local gcmodes = require("gcmodes")
local dgram, RCVBUF, receiver, body, in_turn = H.dgram, H.RCVBUF, H.receiver, H.body, H.in_turn
local recorder, count = H.turn_recorder, H.count

local function assert_sent(c, bytes, what)
  assert.is_table(c, (what or "") .. ": no callback")
  assert.is_falsy(c.sync, (what or "") .. ": the callback ran in the turn that sent")
  assert.is_nil(c[1], (what or "") .. ": " .. tostring(c[1]))
  assert.equals(bytes, c[2], what)
  assert.equals("integer", math.type(c[2]), what)
end

-- n datagrams of `size` bytes sent in one loop turn from a `kind` socket arrive whole and
-- in order, and every send's callback gets its byte count on a later turn.
local function check_one_size(kind, n, size)
  local _, port, host, got = receiver(kind)
  local s = H.bound(kind)
  local want, cbs = {}, {}
  in_turn(function()
    for i = 1, n do
      want[i] = body(i, size)
      s:send(want[i], port, host, recorder(cbs, i))
    end
  end)
  H.run_until(5000, function() return #got == n and count(cbs) == n end)
  assert.same(want, got)
  for i = 1, n do assert_sent(cbs[i], size, "send " .. i) end
end

describe("sends of one loop turn", function()
  after_each(H.cleanup)

  it("300 datagrams of 100 bytes from a 'listening' callback arrive whole and in order",
    function()
      local _, port, _, got = receiver()
      local s = H.socket("udp4")
      local cbs, order, returned = {}, {}, false
      s:bind(0, "127.0.0.1", function()
        for i = 1, 300 do
          s:send(body(i, 100), port, "127.0.0.1", function(...)
            order[#order + 1] = i
            cbs[i] = table.pack(...)
          end)
        end
        returned = true
        assert.same({}, order) -- callbacks come on a later turn
      end)
      H.run_until(5000, function() return #got == 300 and #order == 300 end)
      assert.is_true(returned)
      local want, seq = {}, {}
      for i = 1, 300 do want[i], seq[i] = body(i, 100), i end
      assert.same(want, got)
      assert.same(seq, order)
      for i = 1, 300 do
        assert_sent(cbs[i], 100, "send " .. i)
        assert.equals(2, cbs[i].n)
      end
    end)

  it("mixed sizes keep their own bytes: shorter and empty datagrams are not merged", function()
    local _, port, _, got = receiver()
    local s = H.bound("udp4")
    local sizes = { 100, 100, 37, 100, 0, 100, 100, 100, 1 }
    local want, cbs = {}, {}
    in_turn(function()
      for i = 1, 30 * #sizes do
        local size = sizes[(i - 1) % #sizes + 1]
        want[i] = body(i, size)
        s:send(want[i], port, "127.0.0.1", recorder(cbs, i))
      end
    end)
    H.run_until(5000, function() return #got == #want and count(cbs) == #want end)
    assert.equals(#want, #got)
    for i = 1, #want do
      assert.equals(#want[i], #got[i], "length of datagram " .. i)
      assert.equals(want[i], got[i], "datagram " .. i)
      assert_sent(cbs[i], #want[i], "send " .. i)
    end
  end)

  it("120 datagrams of 1200 bytes (more than 65507 bytes of one size) arrive intact", function()
    check_one_size("udp4", 120, 1200)
  end)

  it("runs that fill 65507 bytes exactly, or one byte more, arrive intact", function()
    local _, port, _, got = receiver()
    local s = H.bound("udp4")
    -- 13 x 5039 = 65507; 12 x 5459 = 65508; 65507 alone; then shorter ones after them
    local sizes = {}
    for _ = 1, 14 do sizes[#sizes + 1] = 5039 end
    for _ = 1, 12 do sizes[#sizes + 1] = 5459 end
    sizes[#sizes + 1] = 65507
    sizes[#sizes + 1] = 65507
    sizes[#sizes + 1] = 7
    local want, cbs = {}, {}
    in_turn(function()
      for i, size in ipairs(sizes) do
        want[i] = body(i, size)
        s:send(want[i], port, "127.0.0.1", recorder(cbs, i))
      end
    end)
    H.run_until(5000, function() return #got == #want and count(cbs) == #want end)
    assert.equals(#want, #got)
    for i = 1, #want do
      assert.equals(#want[i], #got[i], "length of datagram " .. i)
      assert.equals(want[i], got[i], "datagram " .. i)
      assert_sent(cbs[i], #want[i], "send " .. i)
    end
  end)

  it("interleaved destinations: each receiver gets its own datagrams in order", function()
    local _, pa, _, got_a = receiver()
    local _, pb, _, got_b = receiver()
    local s = H.bound("udp4")
    -- alternating, then runs of 5 and of 20, then alternating again
    local pattern = {}
    for i = 1, 40 do pattern[#pattern + 1] = i % 2 == 0 and "a" or "b" end
    for _ = 1, 6 do
      for _ = 1, 5 do pattern[#pattern + 1] = "a" end
      for _ = 1, 5 do pattern[#pattern + 1] = "b" end
    end
    for _ = 1, 20 do pattern[#pattern + 1] = "b" end
    for _ = 1, 20 do pattern[#pattern + 1] = "a" end
    for i = 1, 40 do pattern[#pattern + 1] = i % 3 == 0 and "a" or "b" end
    local want = { a = {}, b = {} }
    local cbs = {}
    in_turn(function()
      for i, to in ipairs(pattern) do
        local msg = to .. body(i, 64)
        table.insert(want[to], msg)
        s:send(msg, to == "a" and pa or pb, "127.0.0.1", recorder(cbs, i))
      end
    end)
    H.run_until(5000, function()
      return #got_a == #want.a and #got_b == #want.b and count(cbs) == #pattern
    end)
    assert.same(want.a, got_a)
    assert.same(want.b, got_b)
    for i = 1, #pattern do assert_sent(cbs[i], 65, "send " .. i) end
  end)

  it("two sockets sending in the same turn: each one's datagrams arrive in order", function()
    local r, port = H.bound("udp4", { recvBufferSize = RCVBUF })
    local from = {}
    r:on("message", function(msg, rinfo)
      from[rinfo.port] = from[rinfo.port] or {}
      table.insert(from[rinfo.port], msg)
    end)
    local s1, p1 = H.bound("udp4")
    local s2, p2 = H.bound("udp4")
    local want1, want2 = {}, {}
    in_turn(function()
      for i = 1, 200 do
        -- s1 every time, s2 in runs: s1 s2 s1 s2 s2 s2 ...
        want1[#want1 + 1] = "one" .. body(i, 80)
        s1:send(want1[#want1], port, "127.0.0.1")
        for k = 1, i % 4 do
          want2[#want2 + 1] = "two" .. body(i * 10 + k, 80)
          s2:send(want2[#want2], port, "127.0.0.1")
        end
      end
    end)
    H.run_until(5000, function()
      return #(from[p1] or {}) == #want1 and #(from[p2] or {}) == #want2
    end)
    assert.same(want1, from[p1])
    assert.same(want2, from[p2])
  end)

  it("udp6 over ::1: 300 datagrams of 100 bytes arrive whole and in order", function()
    check_one_size("udp6", 300, 100)
  end)

  it("a connected socket's sends of one turn arrive in order", function()
    local _, port, _, got = receiver()
    local s = H.bound("udp4")
    local connected = false
    s:connect(port, "127.0.0.1", function() connected = true end)
    H.run_until(2000, function() return connected end)
    assert.is_true(connected)
    local want, cbs = {}, {}
    in_turn(function()
      for i = 1, 150 do
        want[i] = body(i, i % 10 == 0 and 20 or 90)
        s:send(want[i], recorder(cbs, i))
      end
    end)
    H.run_until(5000, function() return #got == 150 and count(cbs) == 150 end)
    assert.same(want, got)
    for i = 1, 150 do assert_sent(cbs[i], #want[i], "send " .. i) end
  end)

  it("slices of one string (offset, length) sent in one turn arrive as those slices", function()
    local _, port, _, got = receiver()
    local s = H.bound("udp4")
    local text = {}
    for i = 1, 400 do text[i] = body(i, 50) end
    text = table.concat(text) -- 20000 bytes
    local want, cbs = {}, {}
    in_turn(function()
      for i = 1, 100 do
        local offset, length = (i - 1) * 173 % 19000, i % 7 == 0 and 33 or 150
        want[i] = text:sub(offset + 1, offset + length)
        s:send(text, offset, length, port, "127.0.0.1", recorder(cbs, i))
      end
    end)
    H.run_until(5000, function() return #got == 100 and count(cbs) == 100 end)
    assert.same(want, got)
    for i = 1, 100 do assert_sent(cbs[i], #want[i], "send " .. i) end
  end)

  it("a send from a timer callback leaves before the loop waits for I/O", function()
    local r, port = receiver()
    local s = H.bound("udp4")
    local got, cbs = {}, {}
    r:on("message", function(msg)
      got[#got + 1] = msg
      if #got == 5 then -- nothing else would end dgram.run(): a send left waiting hangs it
        r:close()
        s:close()
      end
    end)
    dgram.setTimeout(5, function()
      for i = 1, 5 do s:send(body(i, 40), port, "127.0.0.1", recorder(cbs, i)) end
    end)
    H.run(3000)
    assert.same({ body(1, 40), body(2, 40), body(3, 40), body(4, 40), body(5, 40) }, got)
    for i = 1, 5 do assert_sent(cbs[i], 40, "send " .. i) end
  end)

  it("a send from the main chunk is delivered by dgram.run('nowait')", function()
    local _, port, _, got = receiver()
    local s = H.bound("udp4")
    local cbs = {}
    for i = 1, 3 do s:send(body(i, 30), port, "127.0.0.1", recorder(cbs, i)) end
    for _ = 1, 200 do
      if #got == 3 and count(cbs) == 3 then break end
      dgram.run("nowait")
      if #got < 3 then H.execute("sleep 0.005") end
    end
    assert.same({ body(1, 30), body(2, 30), body(3, 30) }, got)
    for i = 1, 3 do assert_sent(cbs[i], 30, "send " .. i) end
  end)

  it("a datagram too big fails alone: EMSGSIZE to its callback or 'error', the rest arrive",
    function()
      local _, port, _, got = receiver()
      local s = H.bound("udp4")
      local errors, cbs, want = {}, {}, {}
      s:on("error", function(err) errors[#errors + 1] = err end)
      local big = ("x"):rep(65508)
      in_turn(function()
        for i = 1, 40 do
          local msg = (i == 13 or i == 28) and big or body(i, 100)
          if msg ~= big then want[#want + 1] = msg end
          if i % 3 == 0 or i == 13 then -- 13 has a callback, 28 has none
            s:send(msg, port, "127.0.0.1", recorder(cbs, i))
          else
            s:send(msg, port, "127.0.0.1")
          end
        end
      end)
      H.run_until(5000, function() return #got == #want and cbs[13] and #errors == 1 end)
      H.quiet(50)
      assert.same(want, got)
      local err = cbs[13][1]
      assert.is_table(err, "send 13 should have failed")
      assert.equals("EMSGSIZE", err.code)
      assert.equals("send", err.syscall)
      assert.equals("127.0.0.1", err.address)
      assert.equals(port, err.port)
      assert.equals(1, #errors)
      assert.equals("EMSGSIZE", errors[1].code)
      assert.equals(port, errors[1].port)
      for i = 3, 39, 3 do assert_sent(cbs[i], 100, "send " .. i) end
      assert.equals(14, count(cbs))
    end)

  -- the incremental collector runs finalizers a few at a time, mostly from Lua code; the
  -- generational one runs all pending ones at once, often from the module's C code
  -- (before Lua 5.4: an incremental collector in large steps, spec/gcmodes.lua)
  for _, gc in ipairs({ { "incremental", 100, 400 }, { "generational", 1, 100 } }) do

  it("finalizers that send while hundreds of sends are in flight: each datagram arrives once ("
    .. gc[1] .. " GC)", function()
      local _, port, _, got = receiver()
      local s = H.bound("udp4")
      local made, ran, fin_cbs, cbs, bad = 0, 0, 0, 0, {}
      -- garbage whose finalizer sends (with a callback), from wherever the GC runs it:
      -- a callback, a send, or C code of the module allocating inside dgram.run
      local function garbage()
        made = made + 1
        local id = "gc" .. made
        gcmodes.setmetatable({ pad = { id } }, { __gc = function()
          ran = ran + 1
          s:send(id, port, "127.0.0.1", function(err, n)
            if err or n ~= #id then bad[#bad + 1] = id .. ": " .. tostring(err or n) end
            fin_cbs = fin_cbs + 1
          end)
        end })
      end
      local waves, per_wave, sent = 4, 100, 0
      local function wave()
        for _ = 1, per_wave do
          sent = sent + 1
          local i = sent
          garbage()
          s:send("m" .. i, port, "127.0.0.1", function(err, n)
            if err or n ~= #("m" .. i) then
              bad[#bad + 1] = "m" .. i .. ": " .. tostring(err or n)
            end
            cbs = cbs + 1
            garbage()
            if i % 3 == 0 then collectgarbage("step") end
            if i % per_wave == per_wave / 2 and sent < waves * per_wave then wave() end
          end)
        end
      end
      gcmodes.mode(table.unpack(gc)) -- a collector that keeps up with the garbage
      local ok, err = pcall(function()
        in_turn(wave)
        H.run_until(5000, function() return cbs == waves * per_wave end)
        collectgarbage("collect") -- every finalizer left runs now (outside dgram.run)
        collectgarbage("collect")
        H.run_until(5000, function() return fin_cbs == made and #got == made + sent end)
      end)
      gcmodes.incremental(200, 100) -- Lua 5.4's defaults
      assert(ok, err)
      H.quiet(50)
      assert.same({}, bad)
      assert.equals(waves * per_wave, sent)
      assert.equals(sent, cbs)
      assert.equals(made, ran)
      assert.equals(made, fin_cbs)
      local seen, in_order, last = {}, true, 0
      for _, msg in ipairs(got) do
        seen[msg] = (seen[msg] or 0) + 1
        local i = tonumber(msg:match("^m(%d+)$"))
        if i then
          if i ~= last + 1 then in_order = false end
          last = i
        end
      end
      for i = 1, sent do assert.equals(1, seen["m" .. i], "m" .. i) end
      for i = 1, made do assert.equals(1, seen["gc" .. i], "gc" .. i) end
      assert.equals(sent + made, #got)
      assert.is_true(in_order, "the sends of one socket arrive in the order they were made")
    end)
  end

  it("sends then close() in one turn: every datagram leaves, every callback gets its bytes",
    function()
      local _, port, _, got = receiver()
      local s = H.bound("udp4")
      local cbs, closed, want = {}, false, {}
      in_turn(function()
        for i = 1, 20 do
          want[i] = body(i, 70)
          s:send(want[i], port, "127.0.0.1", recorder(cbs, i))
        end
        s:close(function() closed = true end)
      end)
      H.run_until(3000, function() return #got == 20 and count(cbs) == 20 and closed end)
      assert.same(want, got)
      for i = 1, 20 do assert_sent(cbs[i], 70, "send " .. i) end
      assert.is_true(closed)
    end)
end)

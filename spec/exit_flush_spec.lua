-- Sends made when the Lua state closes or exits, or while its first batch is made
-- (each in a child lua5.4).
local H = require("helper")
local dgram, receiver = H.dgram, H.receiver
local function child(code, ...) return H.child(code, nil, ...) end

-- Waits for `n` datagrams on a receiver the child sent to; the loop's clock is brought up
-- to date first (it stood still while the child ran).
local function wait_for(got, n)
  dgram.run("nowait")
  H.run_until(3000, function() return #got >= n end)
  H.quiet(50)
end

-- Counts the datagrams by content.
local function tally(got)
  local t = {}
  for _, msg in ipairs(got) do t[msg] = (t[msg] or 0) + 1 end
  return t
end

describe("sends when the Lua state closes, or while its batch is new (child lua5.4)", function()
  after_each(H.cleanup)

  it("3 datagrams sent from the main chunk before the state closes arrive", function()
    local _, port, _, got = receiver()
    local ok, out = child([[
      local dgram = require("dgram")
      local s = dgram.createSocket("udp4")
      local listening = false
      s:bind(0, "127.0.0.1", function() listening = true end)
      for _ = 1, 1000 do
        if listening then break end
        dgram.run("once")
      end
      assert(listening, "no 'listening'")
      for i = 1, 3 do
        s:send("main " .. i, tonumber(arg[1]), "127.0.0.1", function() print("callback") end)
      end
      -- the chunk ends here: lua5.4 closes the state, the loop never runs again
    ]], port)
    assert.is_true(ok, out)
    assert.equals("", out)
    wait_for(got, 3)
    assert.same({ "main 1", "main 2", "main 3" }, got)
  end)

  it("a timer's sends leave before dgram.run('once') returns (then exit, state not closed)",
    function()
      local _, port, _, got = receiver()
      local ok, out = child([[
        local dgram = require("dgram")
        local s = dgram.createSocket("udp4")
        local listening, fired = false, false
        s:bind(0, "127.0.0.1", function() listening = true end)
        for _ = 1, 1000 do
          if listening then break end
          dgram.run("once")
        end
        dgram.setTimeout(20, function()
          fired = true
          for i = 1, 3 do s:send("timer " .. i, tonumber(arg[1]), "127.0.0.1") end
        end)
        for _ = 1, 1000 do
          if fired then break end
          dgram.run("once")
        end
        io.write(fired and "fired" or "not fired")
        os.exit(0) -- the state is not closed: only what left inside dgram.run arrives
      ]], port)
      assert.is_true(ok, out)
      assert.equals("fired", out)
      wait_for(got, 3)
      assert.same({ "timer 1", "timer 2", "timer 3" }, got)
    end)

  -- os.exit(0) ends the process without closing the state: a C exit hook sends what
  -- waits (Node's sends would have left before process.exit()). os.exit(0, true) closes
  -- the state from inside dgram.run: the loop's finalizer sends it. No callback runs.
  for _, exit in ipairs({ "os.exit(0)", "os.exit(0, true)" }) do
    it(("3 datagrams batched in a callback that calls %s arrive"):format(exit), function()
      local _, port, _, got = receiver()
      local ok, out = child(([[
        local dgram = require("dgram")
        local s = dgram.createSocket("udp4")
        s:bind(0, "127.0.0.1", function()
          for i = 1, 3 do
            s:send("batched " .. i, tonumber(arg[1]), "127.0.0.1", function() print("callback") end)
          end
          %s
        end)
        dgram.setTimeout(5000, function() print("timed out") s:close() end):unref()
        dgram.run()
        print("dgram.run returned")
      ]]):format(exit), port)
      assert.is_true(ok, out)
      assert.equals("", out)
      wait_for(got, 3)
      assert.same({ "batched 1", "batched 2", "batched 3" }, got)
    end)
  end

  it("finalizers that send while the loop's first batch is made lose nothing", function()
    local _, port, _, got = receiver()
    -- The first send made inside dgram.run creates the loop's batch (a Lua table); the
    -- generational collector, restarted just before, collects at that allocation and
    -- runs the finalizers then, which send too.
    local ok, out = child([[
      local dgram = require("dgram")
      local port = tonumber(arg[1])
      local s = dgram.createSocket("udp4")
      local calls = 0
      local function cb(err) calls = calls + 1 if err then print(err) end end
      local gcmodes = require("gcmodes")
      local mt = { __gc = function(o) s:send(o[1], port, "127.0.0.1", cb) end }
      s:bind(0, "127.0.0.1", function()
        gcmodes.eager()
        collectgarbage("stop")
        for i = 1, 5 do gcmodes.setmetatable({ "gc" .. i }, mt) end
        collectgarbage("restart")
        s:send("first", port, "127.0.0.1", cb)
        gcmodes.incremental()
      end)
      local t = dgram.setTimeout(2000, function() s:close() end)
      while calls < 6 and dgram.run("once") do end
      dgram.clearTimeout(t)
      print("callbacks " .. calls)
    ]], port)
    wait_for(got, 6)
    assert.same({ first = 1, gc1 = 1, gc2 = 1, gc3 = 1, gc4 = 1, gc5 = 1 }, tally(got))
    assert.equals("callbacks 6\n", out)
    assert.is_true(ok, out)
  end)

  it("finalizers that send while a flush grows the callback queue: no crash, nothing lost",
    function()
      local _, port, _, got = receiver()
      -- The flush reports each send to its callback through the deferred queue; when the
      -- queue grows, the collector may run (generational: every pending finalizer at
      -- once), and each finalizer sends with a callback, which a flush in progress lets
      -- leave directly and report through the same queue.
      local ok, out = child([[
        local dgram = require("dgram")
        local port = tonumber(arg[1])
        local s = dgram.createSocket("udp4")
        local calls, want = 0, 0
        local function cb(err) calls = calls + 1 if err then print(err) end end
        local gcmodes = require("gcmodes")
        local mt = { __gc = function(o) s:send(o[1], port, "127.0.0.1", cb) end }
        local msgs = {}
        for i = 1, 200 do msgs[i] = "m" .. i end
        s:bind(0, "127.0.0.1", function()
          s:send("warm", port, "127.0.0.1", cb) -- the loop's batch exists from here on
          dgram.nextTick(function()
            gcmodes.eager(1, 100)
            collectgarbage("stop")
            for i = 1, 200 do gcmodes.setmetatable({ "gc" .. i }, mt) end
            collectgarbage("restart")
            for i = 1, 200 do s:send(msgs[i], port, "127.0.0.1", cb) end
            gcmodes.incremental()
            want = 401
          end)
        end)
        local t = dgram.setTimeout(2000, function() s:close() end)
        while not (want > 0 and calls >= want) and dgram.run("once") do end
        dgram.clearTimeout(t)
        print("callbacks " .. calls)
      ]], port)
      assert.is_true(ok, out)
      assert.equals("callbacks 401\n", out)
      wait_for(got, 401)
      local want = { warm = 1 }
      for i = 1, 200 do want["m" .. i], want["gc" .. i] = 1, 1 end
      assert.same(want, tally(got))
    end)
end)

-- recv, sendAsync and sleep where the running coroutine cannot yield (a table.sort
-- comparator, a string.gsub callback, a finalizer, a dgram callback, the main thread): an
-- ERR_INVALID_STATE error object at the call, and no waiter left behind that could resume
-- a later, unrelated wait. And wait tokens: a wake-up only resumes the wait that armed it.
local H = require("helper")
local gcmodes = require("gcmodes")
local dgram = H.dgram

-- Runs fn inside a context where the running coroutine cannot yield; returns pcall's
-- results for it.
local contexts = {
  ["a table.sort comparator"] = function(fn)
    local result
    table.sort({ 2, 1 }, function(a, b)
      if not result then result = table.pack(pcall(fn)) end
      return a < b
    end)
    return table.unpack(result, 1, result.n)
  end,
  ["a string.gsub callback"] = function(fn)
    local result
    string.gsub("a", "a", function()
      result = table.pack(pcall(fn))
    end)
    return table.unpack(result, 1, result.n)
  end,
  ["a finalizer (__gc)"] = function(fn)
    local result
    gcmodes.setmetatable({}, { __gc = function() result = table.pack(pcall(fn)) end })
    for _ = 1, 4 do
      collectgarbage("collect")
      if result then break end
    end
    assert(result, "the finalizer did not run")
    return table.unpack(result, 1, result.n)
  end,
}
local context_names = { "a table.sort comparator", "a string.gsub callback", "a finalizer (__gc)" }

-- Lua 5.1 (not LuaJIT) has no coroutine.isyieldable: there the yield itself fails, with
-- Lua's own error (docs/API.md, "Lua versions").
local NO_ISYIELDABLE = not coroutine.isyieldable

local function assert_invalid_state(ok, err, what)
  assert.is_false(ok, what .. " should have raised")
  if NO_ISYIELDABLE and type(err) == "string" then
    assert.truthy(err:find("attempt to yield across", 1, true), err)
    return
  end
  assert.equals("table", type(err), "an error object, got: " .. tostring(err))
  assert.equals("ERR_INVALID_STATE", err.code)
  assert.equals("string", type(err.message))
  assert.equals(err.message, tostring(err))
end

-- Each waiting call, run in a context; `server`/`port` are a bound socket.
local calls = {
  ["socket:recv()"] = function(server) return server:recv() end,
  ["socket:recv(10)"] = function(server) return server:recv(10) end,
  ["dgram.sleep(10)"] = function() return dgram.sleep(10) end,
  ["socket:sendAsync"] = function(_, port, client)
    return client:sendAsync("must not leave", port, "127.0.0.1")
  end,
}
local call_names = { "socket:recv()", "socket:recv(10)", "dgram.sleep(10)", "socket:sendAsync" }

describe("a waiting call where the coroutine cannot yield", function()
  after_each(H.cleanup)

  for _, where in ipairs(context_names) do
    for _, what in ipairs(call_names) do
      it(what .. " inside " .. where .. " raises ERR_INVALID_STATE at the call and leaves "
        .. "no waiter: a later sleep(200) is not cut short, nothing is lost", function()
        if NO_ISYIELDABLE and what == "socket:sendAsync" then
          return pending(_VERSION .. " has no coroutine.isyieldable: sendAsync sends, then "
            .. "its yield fails")
        end
        local server, port = H.bound("udp4")
        local client = H.socket("udp4")
        local heard = {}
        -- A listener that counts what reaches the server (sendAsync must send nothing).
        server:on("message", function(msg) heard[#heard + 1] = msg end)
        local ok, err, marker_before_wake, got, finished
        dgram.spawn(function()
          assert(server:recv(1) == nil) -- starts the socket's receive queue
          ok, err = contexts[where](function() return calls[what](server, port, client) end)
          -- A datagram arrives and a 10 ms timer would fire during this sleep: neither may
          -- end it. The 100 ms marker must have run first.
          local marker = false
          dgram.setTimeout(100, function() marker = true end)
          dgram.spawn(function()
            local sender = H.socket("udp4")
            sender:sendAsync("later", port, "127.0.0.1")
            sender:close()
          end)
          dgram.sleep(200)
          marker_before_wake = marker
          got = server:recv(2000 * H.scale) -- the datagram was not given to a stale waiter
          finished = true
          server:close()
          client:close()
        end)
        H.run(5000)
        assert_invalid_state(ok, err, what)
        assert.is_true(marker_before_wake, "sleep(200) returned before a 100 ms timer")
        assert.equals("later", got)
        assert.is_true(finished)
        assert.same({ "later" }, heard) -- sendAsync sent nothing
      end)
    end
  end

  it("a failed sleep(10) in a comparator, then the coroutine ends: run raises nothing (no "
    .. "'cannot resume dead coroutine')", function()
    local ok, err
    dgram.spawn(function()
      ok, err = contexts["a table.sort comparator"](function() dgram.sleep(10) end)
    end)
    -- Something to keep the loop going past the 10 ms.
    dgram.setTimeout(60, function() end)
    H.run() -- raises if a stale wake-up resumes the dead coroutine
    assert_invalid_state(ok, err, "sleep")
  end)

  it("inside a dgram callback when dgram.run was called from a coroutine (not the main "
    .. "thread): ERR_INVALID_STATE, and that coroutine is not resumed later", function()
    local results, after = {}, nil
    local server, port = H.bound("udp4")
    local runner = coroutine.wrap(function()
      dgram.setTimeout(1, function()
        results[1] = table.pack(pcall(dgram.sleep, 10))
        results[2] = table.pack(pcall(server.recv, server, 10))
        results[3] = table.pack(pcall(server.sendAsync, server, "x", port, "127.0.0.1"))
        dgram.setTimeout(100, function() server:close() end)
      end)
      H.run()
      after = "run returned"
      return "done"
    end)
    assert.equals("done", runner())
    assert.equals("run returned", after)
    for i = 1, 3 do
      assert_invalid_state(results[i][1], results[i][2], "call " .. i)
    end
  end)

  it("from the main thread: ERR_INVALID_STATE for each of them", function()
    local server, port = H.bound("udp4")
    for _, what in ipairs(call_names) do
      local ok, err = pcall(calls[what], server, port, server)
      assert_invalid_state(ok, err, what)
    end
  end)
end)

describe("wait tokens", function()
  after_each(H.cleanup)

  it("a sleep cut short by the script resuming its coroutine by hand does not later "
    .. "resume it again (not in its next sleep, not once it is dead)", function()
    local log = {}
    dgram.spawn(function()
      local inner = coroutine.create(function()
        dgram.sleep(10) -- yields to the spawned coroutine, which resumes it at once
        log[#log + 1] = "inner resumed"
        dgram.sleep(200)
        log[#log + 1] = "inner slept 200"
      end)
      dgram.setTimeout(100, function() log[#log + 1] = "100 ms" end)
      assert(coroutine.resume(inner)) -- into the first sleep
      assert(coroutine.resume(inner)) -- by hand: the first sleep is over
    end)
    H.run()
    assert.same({ "inner resumed", "100 ms", "inner slept 200" }, log)
  end)

  it("a spawned coroutine the script starts by hand is not started again by the loop (its "
    .. "first sleep is not cut short)", function()
    local log = {}
    local co = dgram.spawn(function(arg)
      log[#log + 1] = "started with " .. tostring(arg)
      dgram.setTimeout(50, function() log[#log + 1] = "50 ms" end)
      dgram.sleep(100)
      log[#log + 1] = "slept"
    end, "loop arg")
    assert(coroutine.resume(co, "hand arg"))
    H.run()
    assert.same({ "started with hand arg", "50 ms", "slept" }, log)
  end)

  it("a recv given up by a hand resume does not take the next datagram: the next recv "
    .. "gets it", function()
    local server, port = H.bound("udp4")
    local got, early
    dgram.spawn(function()
      local inner = coroutine.create(function()
        early = table.pack(server:recv())
        got = server:recv(2000 * H.scale)
        server:close()
      end)
      assert(coroutine.resume(inner)) -- waits in recv
      assert(coroutine.resume(inner, "by hand")) -- gives that recv up; waits in the next
      local sender = H.socket("udp4")
      sender:sendAsync("for the second recv", port, "127.0.0.1")
      sender:close()
    end)
    H.run()
    assert.equals("by hand", early[1])
    assert.equals("for the second recv", got)
  end)

  it("a coroutine closed while it waits in recv does not swallow the next datagram", function()
    if not coroutine.close then
      return pending(_VERSION .. " has no coroutine.close (Lua 5.4): a coroutine dropped "
        .. "while it waits still waits")
    end
    local server, port = H.bound("udp4")
    local got
    dgram.spawn(function()
      local doomed = coroutine.create(function() server:recv() end)
      assert(coroutine.resume(doomed))
      assert(coroutine.close(doomed))
      dgram.spawn(function()
        got = server:recv(2000 * H.scale)
        server:close()
      end)
      local sender = H.socket("udp4")
      dgram.sleep(20)
      sender:sendAsync("to the live waiter", port, "127.0.0.1")
      sender:close()
    end)
    H.run()
    assert.equals("to the live waiter", got)
  end)
end)

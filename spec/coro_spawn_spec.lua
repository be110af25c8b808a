-- dgram.spawn and dgram.sleep, the coroutine calls outside a coroutine, and errors
-- out of spawned coroutines.
local H = require("helper")
local dgram, send_all, run_error = H.dgram, H.send_all_async, H.run_error

local unpack = table.unpack

describe("dgram.spawn", function()
  after_each(H.cleanup)

  it("runs fn later, not inside spawn, with its extra arguments (nil included)", function()
    local calls, args = 0, nil
    dgram.spawn(function(...)
      calls = calls + 1
      args = table.pack(...)
    end, 1, nil, "three", nil)
    assert.equals(0, calls)
    H.run()
    assert.equals(1, calls)
    assert.equals(4, args.n)
    assert.same({ 1, nil, "three", nil }, { unpack(args, 1, 4) })
  end)

  it("runs the function in a coroutine, not on the thread that called dgram.run", function()
    local inside, is_main
    dgram.spawn(function()
      local co, main = coroutine.running()
      inside, is_main = co, main
    end)
    H.run()
    assert.equals("thread", type(inside))
    assert.is_false(is_main)
  end)

  it("spawned coroutines start in the order they were spawned", function()
    local order = {}
    for i = 1, 5 do dgram.spawn(function() order[#order + 1] = i end) end
    H.run()
    assert.same({ 1, 2, 3, 4, 5 }, order)
  end)

  it("raises ERR_INVALID_ARG_TYPE for a non-function", function()
    local ok, err = pcall(dgram.spawn, "not a function")
    assert.is_false(ok)
    assert.equals("ERR_INVALID_ARG_TYPE", err.code)
  end)
end)

describe("dgram.sleep", function()
  after_each(H.cleanup)

  it("raises ERR_INVALID_ARG_TYPE for a duration that is not a number, at once", function()
    local codes = {}
    dgram.spawn(function()
      for _, v in ipairs({ function() end, "10", {}, true }) do
        local ok, err = pcall(dgram.sleep, v)
        codes[#codes + 1] = not ok and err.code
      end
    end)
    H.run(2000)
    assert.same({ "ERR_INVALID_ARG_TYPE", "ERR_INVALID_ARG_TYPE", "ERR_INVALID_ARG_TYPE",
      "ERR_INVALID_ARG_TYPE" }, codes)
  end)

  it("yields and resumes after the time, letting others run meanwhile", function()
    local order = {}
    dgram.spawn(function()
      order[#order + 1] = "a1"
      dgram.sleep(80)
      order[#order + 1] = "a2"
    end)
    dgram.spawn(function()
      order[#order + 1] = "b1"
      dgram.sleep(10)
      order[#order + 1] = "b2"
      dgram.sleep(0)
      order[#order + 1] = "b3"
    end)
    H.run()
    -- b's 10 ms and a's 80 ms were armed at the same loop time, so b2 comes first; b3's
    -- sleep(0) starts later, so under load it may come after a2.
    assert.same({ "a1", "b1", "b2" }, { order[1], order[2], order[3] })
    assert.equals(5, #order)
    local rest = { order[4], order[5] }
    table.sort(rest)
    assert.same({ "a2", "b3" }, rest)
  end)

  it("keeps dgram.run() going while a coroutine sleeps", function()
    local done = false
    dgram.spawn(function()
      dgram.sleep(50)
      done = true
    end)
    H.run()
    assert.is_true(done)
  end)
end)

describe("outside a coroutine", function()
  after_each(H.cleanup)

  local function assert_raises(fn, ...)
    local ok, err = pcall(fn, ...)
    assert.is_false(ok)
    assert.equals("table", type(err))
    assert.equals("string", type(err.code))
  end

  it("recv, sleep and sendAsync raise an error on the main thread", function()
    local server, port = H.bound("udp4")
    assert_raises(server.recv, server)
    assert_raises(server.recv, server, 10)
    assert_raises(dgram.sleep, 10)
    local client = H.socket("udp4")
    assert_raises(client.sendAsync, client, "x", port, "127.0.0.1")
  end)

  it("and inside a callback, which runs on the thread that called dgram.run", function()
    local server, port = H.bound("udp4")
    local results = {}
    dgram.setTimeout(1, function()
      results[1] = pcall(server.recv, server, 10)
      results[2] = pcall(dgram.sleep, 10)
      results[3] = pcall(server.sendAsync, server, "x", port)
      server:close()
    end)
    H.run()
    assert.same({ false, false, false }, results)
  end)
end)

describe("an error inside a spawned coroutine", function()
  after_each(H.cleanup)

  it("comes out of dgram.run() with the coroutine's traceback; the loop runs again after",
    function()
      local survivor = false
      local function deep_inside()
        error("boom in coroutine")
      end
      dgram.spawn(function()
        dgram.sleep(5)
        deep_inside()
      end)
      dgram.spawn(function()
        dgram.sleep(100)
        survivor = true
      end)
      local err = run_error()
      assert.equals("string", type(err))
      assert.truthy(err:find("boom in coroutine", 1, true), err)
      local tb = err:find("stack traceback", 1, true)
      assert.truthy(tb, err)
      assert.truthy(err:find("deep_inside", tb, true), "the coroutine's frames: " .. err)
      -- The loop is consistent: the other coroutine finishes in the next run.
      H.run()
      assert.is_true(survivor)
      local again = false
      dgram.spawn(function()
        dgram.sleep(1)
        again = true
      end)
      H.run()
      assert.is_true(again)
    end)

  it("raised before its first yield comes out of dgram.run() too", function()
    dgram.spawn(function() error("at once") end)
    local err = run_error()
    assert.truthy(tostring(err):find("at once", 1, true))
    assert.truthy(tostring(err):find("stack traceback", 1, true))
  end)

  it("does not strand the other spawned coroutines: they start in the next run", function()
    local ran = false
    dgram.spawn(function() error("first fails") end)
    dgram.spawn(function() ran = true end)
    run_error()
    H.run()
    assert.is_true(ran)
  end)

  it("in a coroutine woken by close does not strand the other waiting recvs: the next run "
    .. "wakes them with ERR_SOCKET_DGRAM_NOT_RUNNING", function()
    local server = H.bound("udp4")
    local codes = {}
    for i = 1, 3 do
      dgram.spawn(function()
        local _, err = server:recv()
        codes[i] = err and err.code
        if i == 1 then error("first waiter fails") end
      end)
    end
    dgram.setTimeout(20, function() server:close() end)
    local err = run_error()
    assert.truthy(tostring(err):find("first waiter fails", 1, true))
    H.run()
    assert.same({ "ERR_SOCKET_DGRAM_NOT_RUNNING", "ERR_SOCKET_DGRAM_NOT_RUNNING",
      "ERR_SOCKET_DGRAM_NOT_RUNNING" }, codes)
  end)

  -- Each way a coroutine is resumed: first start, sleep, recv woken by a datagram, recv
  -- timed out, recv woken by close, sendAsync completed.
  local paths = {
    start = function() end,
    sleep = function() dgram.sleep(5) end,
    recv_message = function(s, port)
      dgram.spawn(send_all, port, { "wake" })
      assert(s:recv(2000 * H.scale) == "wake")
    end,
    recv_timeout = function(s) assert(s:recv(10) == nil) end,
    recv_close = function(s)
      dgram.setTimeout(10, function() s:close() end)
      assert(s:recv() == nil)
    end,
    sendAsync = function(s, port) assert(s:sendAsync("x", port, "127.0.0.1") == 1) end,
  }

  for _, name in ipairs({ "start", "sleep", "recv_message", "recv_timeout", "recv_close",
    "sendAsync" }) do
    it("comes out as the same table when it is an error object (resumed by " .. name .. ")",
      function()
        local server, port = H.bound("udp4")
        local obj = setmetatable({ code = "EMYOWN" }, { __tostring = function() return "mine" end })
        dgram.spawn(function()
          paths[name](server, port)
          error(obj)
        end)
        local err = run_error()
        assert.equals(obj, err) -- the very same table
        assert.equals("EMYOWN", err.code)
        -- and the loop can run again
        local again = false
        dgram.spawn(function() again = true end)
        pcall(server.close, server)
        H.run()
        assert.is_true(again)
      end)
  end
end)

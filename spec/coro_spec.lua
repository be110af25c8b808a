-- The coroutine style: dgram.spawn, socket:recv([timeout]), socket:sendAsync, dgram.sleep,
-- the recvQueueSize bound and socket:recvDropped(), and errors out of spawned coroutines.
local H = require("helper")
local dgram = H.dgram

local unpack = table.unpack

-- Sends each string of `msgs`, one after the other, from a fresh tracked client to
-- 127.0.0.1:port; call it inside a spawned coroutine.
local function send_all(port, msgs)
  local client = H.socket("udp4")
  for i, m in ipairs(msgs) do
    local n, err = client:sendAsync(m, port, "127.0.0.1")
    assert(n == #m, ("send %d: %s"):format(i, tostring(err)))
  end
  client:close()
end

-- Runs the loop, expecting it to fail; returns what was raised.
local function run_error(ms)
  local ok, err = pcall(H.run, ms)
  assert.is_false(ok, "dgram.run() should have raised")
  return err
end

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

describe("socket:recv", function()
  after_each(H.cleanup)

  it("returns the datagrams in arrival order, with rinfo", function()
    local server, port = H.bound("udp4")
    local msgs = { "one", "two", "", "four", H.all_bytes }
    local got, infos = {}, {}
    local client_port
    dgram.spawn(function()
      for i = 1, #msgs do
        local msg, info = server:recv(2000 * H.scale)
        assert(msg, tostring(info))
        got[i], infos[i] = msg, info
      end
      server:close()
    end)
    dgram.spawn(function()
      local client = H.socket("udp4")
      client:bind(0, "127.0.0.1")
      client_port = client:address().port
      for _, m in ipairs(msgs) do client:sendAsync(m, port, "127.0.0.1") end
      client:close()
    end)
    H.run()
    assert.same(msgs, got)
    for i, info in ipairs(infos) do
      assert.equals("127.0.0.1", info.address)
      assert.equals("IPv4", info.family)
      assert.equals(client_port, info.port)
      assert.equals(#msgs[i], info.size)
    end
  end)

  it("works on udp6 too", function()
    local server, port = H.bound("udp6")
    local got, info
    dgram.spawn(function()
      got, info = server:recv(2000 * H.scale)
      server:close()
    end)
    dgram.spawn(function()
      local client = H.socket("udp6")
      client:sendAsync("over six", port, "::1")
      client:close()
    end)
    H.run()
    assert.equals("over six", got)
    assert.equals("::1", info.address)
    assert.equals("IPv6", info.family)
  end)

  it("with a timeout and no datagram returns nil + ETIMEDOUT after about that time", function()
    local server = H.bound("udp4")
    local early, late = false, false
    -- The 100 ms timeout must end after a 30 ms timer and well before a 2.5 s one.
    dgram.setTimeout(30, function() early = true end)
    local late_timer = dgram.setTimeout(2500 * H.scale, function() late = true end)
    local res
    dgram.spawn(function()
      res = table.pack(server:recv(100))
      dgram.clearTimeout(late_timer)
      server:close()
    end)
    H.run()
    assert.equals(2, res.n)
    assert.is_nil(res[1])
    assert.equals("table", type(res[2]))
    assert.equals("ETIMEDOUT", res[2].code)
    assert.equals("string", type(res[2].message))
    assert.is_true(early, "recv(100) returned before a 30 ms timer fired")
    assert.is_false(late, "recv(100) took more than 2.5 s")
  end)

  it("after a timeout, the next recv still gets the next datagram", function()
    local server, port = H.bound("udp4")
    local first_err, msg
    dgram.spawn(function()
      local _, err = server:recv(30)
      first_err = err and err.code
      local client = H.socket("udp4")
      client:sendAsync("late", port, "127.0.0.1")
      client:close()
      msg = server:recv(2000 * H.scale)
      server:close()
    end)
    H.run()
    assert.equals("ETIMEDOUT", first_err)
    assert.equals("late", msg)
  end)

  it("a datagram arriving before the timeout cancels it (the coroutine resumes once)",
    function()
      local server, port = H.bound("udp4")
      local resumed, msg = 0, nil
      dgram.spawn(function()
        msg = server:recv(150)
        resumed = resumed + 1
        -- Outlive the cancelled timeout: a second resume would break the sleep below.
        dgram.sleep(300)
        resumed = resumed + 1
        server:close()
      end)
      dgram.spawn(function() send_all(port, { "quick" }) end)
      H.run()
      assert.equals("quick", msg)
      assert.equals(2, resumed)
    end)

  it("does not lose datagrams arriving while the coroutine is busy (sleeping): later recvs "
    .. "return them in order", function()
    local server, port = H.bound("udp4")
    local got = {}
    dgram.spawn(function()
      got[#got + 1] = server:recv(2000 * H.scale) -- the first recv starts the queue
      dgram.spawn(send_all, port, { "b", "c", "d", "e", "f" })
      dgram.sleep(200) -- busy while b..f arrive
      for _ = 1, 5 do got[#got + 1] = server:recv(1000 * H.scale) end
      server:close()
    end)
    dgram.spawn(send_all, port, { "a" })
    H.run()
    assert.same({ "a", "b", "c", "d", "e", "f" }, got)
  end)

  it("queue bound: with recvQueueSize=4, 10 datagrams arriving while nobody waits keep the "
    .. "4 oldest; the 6 newer ones are dropped and counted by recvDropped()", function()
    local server, port = H.bound("udp4", { recvQueueSize = 4 })
    local got, timed_out, dropped_before, dropped_after = {}, nil, nil, nil
    dgram.spawn(function()
      assert.equals("start", server:recv(2000 * H.scale))
      dropped_before = server:recvDropped()
      local ten = {}
      for i = 1, 10 do ten[i] = tostring(i) end
      send_all(port, ten)
      dgram.sleep(200) -- nobody receives while the 10 arrive
      while true do
        local msg, err = server:recv(100)
        if not msg then
          timed_out = err.code
          break
        end
        got[#got + 1] = msg
      end
      dropped_after = server:recvDropped()
      server:close()
    end)
    dgram.spawn(send_all, port, { "start" })
    H.run()
    assert.equals(0, dropped_before)
    assert.same({ "1", "2", "3", "4" }, got)
    assert.equals("ETIMEDOUT", timed_out)
    assert.equals(6, dropped_after)
    assert.equals("integer", math.type(dropped_after))
  end)

  it("gets the reply to a request sent with sendAsync just before the first recv (20 rounds)",
    function()
      local server, port = H.bound("udp4")
      server:on("message", function(msg, rinfo)
        server:send("re:" .. msg, rinfo.port, rinfo.address)
      end)
      local got = {}
      dgram.spawn(function()
        for i = 1, 20 do
          local client = H.socket("udp4")
          client:sendAsync("ping" .. i, port, "127.0.0.1")
          got[i] = client:recv(1000 * H.scale) or "lost"
          client:close()
        end
        server:close()
      end)
      H.run(10000)
      for i = 1, 20 do assert.equals("re:ping" .. i, got[i]) end
    end)

  it("recvDropped() is 0 on a socket that never used recv", function()
    local s = H.bound("udp4")
    assert.equals(0, s:recvDropped())
  end)

  it("rejects a recvQueueSize that is not a number or below 1", function()
    local ok, err = pcall(dgram.createSocket, { type = "udp4", recvQueueSize = "4" })
    assert.is_false(ok)
    assert.equals("ERR_INVALID_ARG_TYPE", err.code)
    ok, err = pcall(dgram.createSocket, { type = "udp4", recvQueueSize = 0 })
    assert.is_false(ok)
    assert.equals("ERR_OUT_OF_RANGE", err.code)
  end)

  it("and an on('message') listener on the same socket both see every datagram", function()
    local server, port = H.bound("udp4")
    local heard, received = {}, {}
    server:on("message", function(msg) heard[#heard + 1] = msg end)
    dgram.spawn(function()
      for _ = 1, 3 do received[#received + 1] = server:recv(2000 * H.scale) end
      dgram.sleep(50) -- a listener added after recv started sees the later ones too
      server:close()
    end)
    dgram.spawn(send_all, port, { "x", "y", "z" })
    H.run()
    assert.same({ "x", "y", "z" }, heard)
    assert.same({ "x", "y", "z" }, received)
  end)

  it("a listener added after recv started still sees datagrams, and so does recv", function()
    local server, port = H.bound("udp4")
    local heard, received = {}, {}
    dgram.spawn(function()
      received[#received + 1] = server:recv(2000 * H.scale)
      server:on("message", function(msg) heard[#heard + 1] = msg end)
      dgram.spawn(send_all, port, { "2", "3" })
      for _ = 1, 2 do received[#received + 1] = server:recv(2000 * H.scale) end
      server:close()
    end)
    dgram.spawn(send_all, port, { "1" })
    H.run()
    assert.same({ "1", "2", "3" }, received)
    assert.same({ "2", "3" }, heard)
  end)

  it("with several coroutines waiting, each datagram goes to the one waiting longest",
    function()
      local server, port = H.bound("udp4")
      local got = {}
      for i = 1, 3 do
        dgram.spawn(function() got[i] = server:recv(2000 * H.scale) end)
      end
      dgram.spawn(function()
        send_all(port, { "first", "second", "third" })
        dgram.sleep(50)
        server:close()
      end)
      H.run()
      assert.same({ "first", "second", "third" }, got)
    end)

  it("closing the socket wakes a waiting recv with nil + ERR_SOCKET_DGRAM_NOT_RUNNING",
    function()
      local server = H.bound("udp4")
      local res, closed_event = nil, false
      server:on("close", function() closed_event = true end)
      dgram.spawn(function() res = table.pack(server:recv()) end)
      dgram.setTimeout(50, function() server:close() end)
      H.run()
      assert.equals(2, res.n)
      assert.is_nil(res[1])
      assert.equals("ERR_SOCKET_DGRAM_NOT_RUNNING", res[2].code)
      assert.is_true(closed_event)
    end)

  it("closing the socket wakes every waiting recv, including ones with a timeout", function()
    local server = H.bound("udp4")
    local codes = {}
    for i = 1, 3 do
      dgram.spawn(function()
        local _, err = server:recv(i == 2 and 5000 * H.scale or nil)
        codes[i] = err and err.code
      end)
    end
    dgram.setTimeout(50, function() server:close() end)
    H.run(3000) -- the 5 s timeout must have been cleared by the close
    assert.same({ "ERR_SOCKET_DGRAM_NOT_RUNNING", "ERR_SOCKET_DGRAM_NOT_RUNNING",
      "ERR_SOCKET_DGRAM_NOT_RUNNING" }, codes)
  end)

  it("on a closed socket raises ERR_SOCKET_DGRAM_NOT_RUNNING at once (like every method)",
    function()
      local server = H.bound("udp4")
      server:close()
      local ok, err
      dgram.spawn(function() ok, err = pcall(server.recv, server, 5000) end)
      H.run(2000)
      assert.is_false(ok)
      assert.equals("ERR_SOCKET_DGRAM_NOT_RUNNING", err.code)
    end)

  it("raises ERR_INVALID_ARG_TYPE for a timeout that is not a number", function()
    local server = H.bound("udp4")
    local ok, err
    dgram.spawn(function()
      ok, err = pcall(server.recv, server, "100")
      server:close()
    end)
    H.run()
    assert.is_false(ok)
    assert.equals("ERR_INVALID_ARG_TYPE", err.code)
  end)
end)

describe("socket:sendAsync", function()
  after_each(H.cleanup)

  -- Receives `n` datagrams on `server` (recv started before anything is sent), then closes it.
  local function receive_n(server, n, into)
    dgram.spawn(function()
      for i = 1, n do into[i] = server:recv(2000 * H.scale) end
      server:close()
    end)
  end

  it("keeps the reply that arrives between sendAsync and the first recv", function()
    local server, port = H.bound("udp4")
    server:on("message", function(msg, rinfo) server:send("re:" .. msg, rinfo.port) end)
    local reply
    dgram.spawn(function()
      local client = H.socket("udp4")
      client:sendAsync("ask", port, "127.0.0.1")
      dgram.sleep(100) -- the reply is in long before this recv
      reply = client:recv(1000 * H.scale)
      client:close()
      server:close()
    end)
    H.run()
    assert.equals("re:ask", reply)
  end)

  it("returns the number of bytes sent, after the send completed", function()
    local server, port = H.bound("udp4")
    local n1, n2 = nil, nil
    local got = {}
    receive_n(server, 2, got)
    dgram.spawn(function()
      local client = H.socket("udp4")
      n1 = client:sendAsync("hello", port, "127.0.0.1")
      n2 = client:sendAsync({ "ab", "cd", "ef" }, port) -- array form, default address
      client:close()
    end)
    H.run()
    assert.equals(5, n1)
    assert.equals("integer", math.type(n1))
    assert.equals(6, n2)
    assert.same({ "hello", "abcdef" }, got)
  end)

  it("returns nil + EMSGSIZE for 65508 bytes on udp4, and the socket keeps working", function()
    local server, port = H.bound("udp4")
    local res, after = nil, nil
    local got, errors = {}, {}
    receive_n(server, 1, got)
    dgram.spawn(function()
      local client = H.socket("udp4")
      client:on("error", function(e) errors[#errors + 1] = e end)
      res = table.pack(client:sendAsync(string.rep("x", 65508), port, "127.0.0.1"))
      after = client:sendAsync("still works", port, "127.0.0.1")
      client:close()
    end)
    H.run()
    assert.equals(2, res.n)
    assert.is_nil(res[1])
    assert.equals("table", type(res[2]))
    assert.equals("EMSGSIZE", res[2].code)
    assert.equals(11, after)
    assert.same({ "still works" }, got)
    assert.same({}, errors) -- the error went to sendAsync, not to 'error'
  end)

  it("sends 65507 bytes (the udp4 maximum)", function()
    local server, port = H.bound("udp4")
    local n, got = nil, {}
    receive_n(server, 1, got)
    dgram.spawn(function()
      local client = H.socket("udp4")
      n = client:sendAsync(string.rep("y", 65507), port, "127.0.0.1")
      client:close()
    end)
    H.run()
    assert.equals(65507, n)
    assert.equals(string.rep("y", 65507), got[1])
  end)

  it("returns nil + ERR_SOCKET_DGRAM_NOT_RUNNING when the socket closes while the send "
    .. "waits for a lookup", function()
    local server, port = H.bound("udp4")
    local res
    local client = H.socket("udp4")
    dgram.spawn(function() res = table.pack(client:sendAsync("x", port, "localhost")) end)
    dgram.spawn(function()
      client:close()
      server:close()
    end)
    H.run()
    assert.equals(2, res.n)
    assert.is_nil(res[1])
    assert.equals("ERR_SOCKET_DGRAM_NOT_RUNNING", res[2].code)
  end)

  it("raises bad arguments at once, like send (nothing yields)", function()
    local ok, err
    dgram.spawn(function()
      local client = H.socket("udp4")
      ok, err = pcall(client.sendAsync, client, "x", 0, "127.0.0.1")
      client:close()
    end)
    H.run()
    assert.is_false(ok)
    assert.equals("ERR_SOCKET_BAD_PORT", err.code)
  end)
end)

describe("dgram.sleep", function()
  after_each(H.cleanup)

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

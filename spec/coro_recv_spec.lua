-- socket:recv([timeout]) in a coroutine: order, timeouts, the recvQueueSize bound,
-- recvDropped, listeners beside it, close.
local H = require("helper")
local dgram, send_all = H.dgram, H.send_all_async

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

  it("adds no listener: listenerCount and eventNames stay as the script left them",
    function()
      local server, port = H.bound("udp4")
      local counts
      dgram.spawn(function()
        server:recv(2000 * H.scale)
        counts = { server:listenerCount("message"), server:listenerCount("close"),
          #server:eventNames() }
        server:close()
      end)
      dgram.spawn(send_all, port, { "x" })
      H.run()
      assert.same({ 0, 0, 0 }, counts)
    end)

  it("keeps receiving and is woken by the close after removeAllListeners()", function()
    local server, port = H.bound("udp4")
    local got, err
    dgram.spawn(function()
      got = server:recv() -- no timeout: only a datagram or the close can end it
      err = select(2, server:recv())
    end)
    dgram.setTimeout(20, function()
      server:removeAllListeners()
      dgram.spawn(send_all, port, { "still heard" })
      dgram.setTimeout(50, function()
        server:removeAllListeners("close")
        server:close()
      end)
    end)
    H.run(3000)
    assert.equals("still heard", got)
    assert.equals("ERR_SOCKET_DGRAM_NOT_RUNNING", err and err.code)
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

-- Replies sent while a batch of received datagrams is delivered: order, callbacks,
-- close and option changes behave as for any send.
local H = require("helper")

-- A server whose handler is `on_message`, and a client that has sent it `n` datagrams
-- (queued in the server's kernel buffer before the loop runs, so they arrive as one
-- receive batch) and records what comes back.
local function setup(n, on_message)
  local server, port = H.bound("udp4")
  local client, cport = H.bound("udp4")
  local back = {}
  client:on("message", function(msg) back[#back + 1] = msg end)
  server:on("message", function(msg, rinfo) on_message(server, msg, rinfo, cport) end)
  for i = 1, n do client:send("q" .. i, port, "127.0.0.1") end
  return server, client, back
end

describe("sends made inside a receive batch", function()
  after_each(H.cleanup)

  it("keep their order, mixed with sends that cannot wait (arrays)", function()
    local server, client, back = setup(5, function(s, msg, rinfo)
      s:send("a:" .. msg, rinfo.port, rinfo.address)
      s:send({ "b:", msg }, rinfo.port, rinfo.address) -- an array goes out at once
      s:send("c:" .. msg, rinfo.port, rinfo.address)
    end)
    H.run_until(2000, function() return #back == 15 end)
    server:close()
    client:close()
    H.run(2000)
    local want = {}
    for i = 1, 5 do
      for _, p in ipairs({ "a:", "b:", "c:" }) do want[#want + 1] = p .. "q" .. i end
    end
    assert.same(want, back)
  end)

  it("report each datagram to its own callback, failures included", function()
    local results = {}
    local big = ("x"):rep(65508)
    local server, client, back = setup(3, function(s, msg, rinfo)
      local i = #results + 1
      results[i] = false
      local body = msg == "q2" and big or "r:" .. msg -- the second cannot be sent
      s:send(body, rinfo.port, rinfo.address, function(err, n)
        results[i] = err and err.code or n
      end)
    end)
    H.run_until(2000, function() return #back == 2 and results[3] end)
    server:close()
    client:close()
    H.run(2000)
    assert.same({ 4, "EMSGSIZE", 4 }, results)
    assert.same({ "r:q1", "r:q3" }, back)
  end)

  it("go out before the socket closes when the handler closes it", function()
    local calls = 0
    local server, client, back = setup(3, function(s, msg, rinfo)
      s:send("r:" .. msg, rinfo.port, rinfo.address, function(err)
        assert.is_nil(err)
        calls = calls + 1
      end)
      if msg == "q3" then s:close() end
    end)
    H.run_until(2000, function() return #back == 3 end)
    client:close()
    H.run(2000)
    assert.equals(3, calls)
    assert.same({ "r:q1", "r:q2", "r:q3" }, back)
    assert.is_true(H.dgram.core._private.closed(server))
  end)

  it("go out before an option setter changes the socket", function()
    local server, client, back = setup(2, function(s, msg, rinfo)
      s:send("before:" .. msg, rinfo.port, rinfo.address)
      s:setTTL(64)
      s:send("after:" .. msg, rinfo.port, rinfo.address)
    end)
    H.run_until(2000, function() return #back == 4 end)
    server:close()
    client:close()
    H.run(2000)
    assert.same({ "before:q1", "after:q1", "before:q2", "after:q2" }, back)
  end)
end)

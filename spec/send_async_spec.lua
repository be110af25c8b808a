-- socket:sendAsync in a coroutine: its results, errors and close.
local H = require("helper")
local dgram = H.dgram

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

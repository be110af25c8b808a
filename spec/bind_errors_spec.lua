-- Binds that fail or are repeated: a second bind, EADDRINUSE and retries, bad
-- addresses, closing while a bind waits, implicit binds that fail.
local H = require("helper")
local raises = H.raises

describe("a second bind", function()
  after_each(H.cleanup)

  it("raises ERR_SOCKET_ALREADY_BOUND while the first is completing", function()
    local s = H.socket("udp4")
    s:bind(0, "127.0.0.1")
    raises("ERR_SOCKET_ALREADY_BOUND", s.bind, s, 0, "127.0.0.1")
    raises("ERR_SOCKET_ALREADY_BOUND", s.bind, s)
  end)

  it('raises ERR_SOCKET_ALREADY_BOUND while "localhost" is resolved', function()
    local s = H.socket("udp4")
    s:bind(0, "localhost", function() s:close() end)
    raises("ERR_SOCKET_ALREADY_BOUND", s.bind, s, 0, "127.0.0.1")
    H.run(2000)
  end)

  it("raises ERR_SOCKET_ALREADY_BOUND once bound, and the socket keeps its port", function()
    local s = H.socket("udp4")
    local before, after, err
    s:bind(0, "127.0.0.1", function()
      before = s:address().port
      local ok
      ok, err = pcall(s.bind, s, 0, "127.0.0.1")
      assert.is_false(ok)
      after = s:address().port
      s:close()
    end)
    H.run(2000)
    assert.equals("ERR_SOCKET_ALREADY_BOUND", err.code)
    assert.equals(before, after)
  end)

  it("raises ERR_SOCKET_ALREADY_BOUND after an implicit bind by send", function()
    local server, port = H.bound("udp4")
    local client = H.socket("udp4")
    local err
    client:send("x", port, "127.0.0.1", function()
      local ok
      ok, err = pcall(client.bind, client, 0)
      assert.is_false(ok)
      client:close()
      server:close()
    end)
    H.run(2000)
    assert.equals("ERR_SOCKET_ALREADY_BOUND", err.code)
  end)

  it("does not add its callback as a listener", function()
    local s = H.socket("udp4")
    local calls = 0
    s:bind(0, "127.0.0.1", function() s:close() end)
    pcall(s.bind, s, 0, "127.0.0.1", function() calls = calls + 1 end)
    H.run(2000)
    assert.equals(0, calls)
  end)
end)

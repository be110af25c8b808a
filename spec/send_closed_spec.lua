-- Sends on closed sockets and sends pending when a socket closes.
local H = require("helper")
local dgram, raised = H.dgram, H.raised

local LO4 = "127.0.0.1"

describe("send: closed sockets and pending sends", function()
  after_each(H.cleanup)

  it("send on a closed socket raises ERR_SOCKET_DGRAM_NOT_RUNNING", function()
    local s = H.socket("udp4")
    s:close()
    local err = raised(s.send, s, "x", 1234, LO4)
    assert.equals("ERR_SOCKET_DGRAM_NOT_RUNNING", err.code)
    err = raised(s.send, s, "x", 1234, LO4, function() end)
    assert.equals("ERR_SOCKET_DGRAM_NOT_RUNNING", err.code)
    err = raised(s.send, s, "x", 1234)
    assert.equals("ERR_SOCKET_DGRAM_NOT_RUNNING", err.code)
    H.run(1000)
  end)

  it("send on a closed bound socket raises ERR_SOCKET_DGRAM_NOT_RUNNING, no callback", function()
    local s = H.bound("udp4")
    local calls = 0
    s:close()
    local err = raised(s.send, s, "x", 1234, LO4, function() calls = calls + 1 end)
    assert.equals("ERR_SOCKET_DGRAM_NOT_RUNNING", err.code)
    H.run(1000)
    assert.equals(0, calls)
  end)

  it("send from a 'close' listener raises ERR_SOCKET_DGRAM_NOT_RUNNING", function()
    local s = H.bound("udp4")
    local code
    s:on("close", function()
      local ok, err = pcall(s.send, s, "x", 1234, LO4)
      code = not ok and type(err) == "table" and err.code or tostring(err)
    end)
    s:close()
    H.run(1000)
    assert.equals("ERR_SOCKET_DGRAM_NOT_RUNNING", code)
  end)

  it("argument errors come before the state: a closed socket with a bad port", function()
    local s = H.socket("udp4")
    s:close()
    assert.equals("ERR_SOCKET_BAD_PORT", raised(s.send, s, "x", 0, LO4).code)
    assert.equals("ERR_SOCKET_BAD_PORT", raised(s.send, s, "x").code)
    assert.equals("ERR_SOCKET_BAD_PORT", raised(s.send, s, "x", "nope").code)
    H.run(1000)
  end)

  it("argument errors come before the state: bad message, address, bounds", function()
    local s = H.socket("udp4")
    s:close()
    assert.equals("ERR_INVALID_ARG_TYPE", raised(s.send, s, 42, 1234, LO4).code)
    assert.equals("ERR_INVALID_ARG_TYPE", raised(s.send, s, "x", 1234, 42).code)
    assert.equals("ERR_BUFFER_OUT_OF_BOUNDS", raised(s.send, s, "abc", 2, 5, 1234, LO4).code)
    H.run(1000)
  end)

  it("a send waiting for a 'localhost' lookup gets ERR_SOCKET_DGRAM_NOT_RUNNING (close)", function()
    local server, port = H.bound("udp4")
    local got = {}
    server:on("message", function(msg) got[#got + 1] = msg end)
    local client = H.socket("udp4")
    local calls = {}
    client:send("never", port, "localhost", function(err, n)
      calls[#calls + 1] = { err = err, n = n }
    end)
    client:close()
    dgram.setTimeout(50, function() server:close() end)
    H.run(2000)
    assert.equals(1, #calls)
    assert.is_not_nil(calls[1].err)
    assert.equals("ERR_SOCKET_DGRAM_NOT_RUNNING", calls[1].err.code)
    assert.same({}, got)
  end)

  it("a send waiting for a 'localhost' bind gets ERR_SOCKET_DGRAM_NOT_RUNNING on close", function()
    local server, port = H.bound("udp4")
    local got = {}
    server:on("message", function(msg) got[#got + 1] = msg end)
    local client = H.socket("udp4")
    local calls = {}
    client:bind(0, "localhost")
    client:send("never", port, LO4, function(err, n) calls[#calls + 1] = { err = err, n = n } end)
    client:close()
    dgram.setTimeout(50, function() server:close() end)
    H.run(2000)
    assert.equals(1, #calls)
    assert.is_not_nil(calls[1].err)
    assert.equals("ERR_SOCKET_DGRAM_NOT_RUNNING", calls[1].err.code)
    assert.same({}, got)
  end)

  it("a send handed to the kernel before close gets its callback exactly once", function()
    local server, port = H.bound("udp4")
    server:on("message", function() end)
    local client = H.bound("udp4")
    local calls = {}
    for i = 1, 3 do
      client:send("bye" .. i, port, LO4, function(err, n)
        calls[#calls + 1] = { i = i, err = err, n = n }
      end)
    end
    client:close()
    dgram.setTimeout(50, function() server:close() end)
    H.run(2000)
    assert.equals(3, #calls)
    for i, c in ipairs(calls) do
      assert.equals(i, c.i)
      if c.err then
        assert.equals("ECANCELED", c.err.code)
      else
        assert.equals(4, c.n)
      end
    end
  end)

  it("pending sends without callbacks emit no 'error' after close; 'close' is emitted", function()
    local server, port = H.bound("udp4")
    local client = H.socket("udp4")
    local errors, closed = {}, 0
    client:on("error", function(e) errors[#errors + 1] = e end)
    client:on("close", function() closed = closed + 1 end)
    client:send("a", port, "localhost")
    client:send("b", port, LO4)
    client:close()
    dgram.setTimeout(50, function() server:close() end)
    H.run(2000)
    assert.same({}, errors)
    assert.equals(1, closed)
  end)

  it("closing from a send callback stops the remaining traffic cleanly", function()
    local server, port = H.bound("udp4")
    local client = H.socket("udp4")
    local calls, got = 0, 0
    server:on("message", function() got = got + 1 end)
    for i = 1, 5 do
      client:send("c" .. i, port, function()
        calls = calls + 1
        if i == 1 then client:close() end
      end)
    end
    dgram.setTimeout(50, function() server:close() end)
    H.run(2000)
    assert.equals(5, calls)
    assert.is_true(got <= 5)
  end)

  it("no 'message' is delivered after the receiver closed", function()
    local server, port = H.bound("udp4")
    local client = H.socket("udp4")
    local got = {}
    server:on("message", function(msg)
      got[#got + 1] = msg
      server:close()
    end)
    for i = 1, 5 do client:send("m" .. i, port) end
    dgram.setTimeout(50, function() client:close() end)
    H.run(2000)
    assert.same({ "m1" }, got)
  end)
end)

-- Lua 5.4's `local s <close>` on sockets, loaded by spec/close54_spec.lua on Lua 5.4 only:
-- this file is 5.4 syntax, which older Luas cannot even load.
local H = require("helper")
local raises, dgram, no_raise = H.raises, H.dgram, H.no_raise

describe("<close> (Lua 5.4)", function()
  after_each(H.cleanup)

  it("test-dgram-async-dispose: <close> closes the socket (then NOT_RUNNING); closing "
    .. "an already closed socket that way does not raise", function()
      local closes = 0
      local kept
      do
        local s <close> = dgram.createSocket("udp4")
        s:on("close", function() closes = closes + 1 end)
        kept = s
      end
      H.run(1000)
      assert.equals(1, closes)
      raises("ERR_SOCKET_DGRAM_NOT_RUNNING", kept.address, kept)
      no_raise(function()
        local s <close> = dgram.createSocket("udp4")
        s:close()
      end)
      H.run(1000)
    end)

  it("local s <close> closes the socket when the scope ends", function()
    local outer
    local count = 0
    do
      local s <close> = H.socket("udp4")
      outer = s
      s:on("close", function() count = count + 1 end)
      s:bind(0, "127.0.0.1")
    end
    raises("ERR_SOCKET_DGRAM_NOT_RUNNING", outer.address, outer)
    raises("ERR_SOCKET_DGRAM_NOT_RUNNING", outer.close, outer)
    H.run(1000)
    assert.equals(1, count)
  end)

  it("local s <close> closes the socket when the scope is left by an error", function()
    local outer
    local ok, err = pcall(function()
      local s <close> = H.socket("udp4")
      outer = s
      s:bind(0, "127.0.0.1")
      error("boom", 0)
    end)
    assert.is_false(ok)
    assert.equals("boom", err)
    raises("ERR_SOCKET_DGRAM_NOT_RUNNING", outer.close, outer)
    H.run(1000)
  end)

  it("local s <close> on a socket already closed does nothing", function()
    local count = 0
    local ok, err = pcall(function()
      local s <close> = H.socket("udp4")
      s:on("close", function() count = count + 1 end)
      s:close()
    end)
    assert.is_true(ok, tostring(err))
    H.run(1000)
    assert.equals(1, count)
  end)
end)

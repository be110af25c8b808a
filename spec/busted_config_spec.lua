-- Plain `busted` after `make`, with no LUA_PATH or LUA_CPATH of the user's: .busted gives
-- it the wrapper, the helpers and build/dgram/core.so.
local H = require("helper")

describe("plain busted after make", function()
  it("finds the module and runs a spec that exchanges a datagram", function()
    local f = io.open(H.build .. "/dgram/core.so")
    if not f then pending(H.build .. "/dgram/core.so is not built (make)") end
    f:close()
    local out, status = H.sh("env -u LUA_PATH -u LUA_CPATH busted --output=TAP "
      .. "spec/smoke_spec.lua")
    assert.equals(0, status, out)
    local first = "\nok 1 - a datagram over 127.0.0.1 arrives with its bytes and rinfo\n"
    assert.truthy(("\n" .. out):find(first, 1, true), out)
    assert.is_nil(out:find("not ok", 1, true), out)
  end)
end)

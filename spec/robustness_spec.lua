-- Nothing a script passes crashes the module: every method, with every kind of junk,
-- either works or raises an error object, and the loop stays usable.
local H = require("helper")
local dgram = H.dgram

local junk = {
  n = 14, nil, 0, -1, 1.5, 1e308, 0 / 0, math.mininteger, "", "x", "65536", {},
  function() end, true, coroutine.create(function() end),
}

local skip = {
               recv = true, sleep = true, sendAsync = true } -- coroutine-only: own specs

local function loopback(_, family, cb)
  cb(nil, family == 6 and "::1" or "127.0.0.1", family)
end

describe("robustness", function()
  after_each(H.cleanup)

  it("a method called on something that is not a socket raises ERR_INVALID_ARG_TYPE", function()
    for _, name in ipairs({ "send", "bind", "close", "address", "setTTL", "connect" }) do
      local ok, err = pcall(dgram.Socket[name], 42)
      assert.is_false(ok)
      assert.equals("ERR_INVALID_ARG_TYPE", err.code, name)
    end
  end)

  it("hides the socket metatable from scripts", function()
    local s = H.socket("udp4")
    assert.equals("dgram.socket", getmetatable(s))
  end)

  it("every socket method survives junk arguments with error objects or success", function()
    local names = {}
    for name, fn in pairs(dgram.Socket) do
      if type(fn) == "function" and not skip[name] then names[#names + 1] = name end
    end
    table.sort(names)
    local calls = 0
    for _, name in ipairs(names) do
      for i = 1, junk.n do
        for j = 1, junk.n, 3 do
          -- A lookup of our own: junk host names must never reach the system resolver.
          local s = H.socket({ type = i % 2 == 0 and "udp4" or "udp6", lookup = loopback })
          s:on("error", function() end)
          local ok, err = pcall(s[name], s, junk[i], junk[j], junk[(i + j) % junk.n + 1])
          calls = calls + 1
          if not ok then
            assert.equals("table", type(err), name .. ": " .. tostring(err))
            assert.equals("string", type(err.code), name)
          end
          pcall(s.close, s)
        end
      end
      for _ = 1, 20 do
        local ok, more = pcall(dgram.run, "nowait")
        if ok and not more then break end
      end
    end
    assert.is_true(calls > 500)
    -- and the loop still carries a datagram
    local server, port = H.bound("udp4")
    local got
    local client = H.socket("udp4")
    server:on("message", function(msg)
      got = msg
      server:close()
      client:close()
    end)
    client:send("still here", port, "127.0.0.1")
    H.run(2000)
    assert.equals("still here", got)
  end)
end)

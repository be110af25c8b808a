-- Sends on a connected socket: every form, callbacks, empty and multi-part messages,
-- and connect/disconnect state errors.
local H = require("helper")
local dgram = H.dgram

local LO4 = "127.0.0.1"

describe("send: connected sockets", function()
  after_each(H.cleanup)

  -- A client connected to a loopback server; `fn(client, t)` runs after 'connect'.
  local function connected(fn)
    local server, port = H.bound("udp4")
    local client = H.socket("udp4")
    local t = { msgs = {}, server = server, client = client, port = port }
    server:on("message", function(msg) t.msgs[#t.msgs + 1] = msg end)
    client:connect(port, LO4, function() fn(client, t) end)
    H.run(2000)
    return t
  end

  local function finish(t)
    dgram.setTimeout(30, function()
      t.server:close()
      t.client:close()
    end)
  end

  it("send(msg) and send(msg, cb) go to the peer", function()
    local res
    local t = connected(function(c, t)
      c:send("plain")
      c:send("with cb", function(err, n)
        res = { err, n }
        finish(t)
      end)
    end)
    assert.same({ "plain", "with cb" }, t.msgs)
    assert.same({ nil, 7 }, res)
  end)

  it("send(msg, offset, length[, cb]) slices on a connected socket", function()
    local res
    local t = connected(function(c, t)
      c:send("hello world", 6, 5)
      c:send("hello world", 0, 5, function(err, n)
        res = { err, n }
        finish(t)
      end)
    end)
    assert.same({ "world", "hello" }, t.msgs)
    assert.same({ nil, 5 }, res)
  end)

  it("a port or address on a connected socket raises ERR_SOCKET_DGRAM_IS_CONNECTED", function()
    local codes = {}
    local t = connected(function(c, t)
      local forms = { { "x", t.port }, { "x", t.port, LO4 }, { "x", 0, 1, t.port, LO4 } }
      for _, args in ipairs(forms) do
        local ok, err = pcall(c.send, c, table.unpack(args))
        codes[#codes + 1] = not ok and type(err) == "table" and err.code or tostring(err)
      end
      finish(t)
    end)
    assert.same({ "ERR_SOCKET_DGRAM_IS_CONNECTED", "ERR_SOCKET_DGRAM_IS_CONNECTED",
      "ERR_SOCKET_DGRAM_IS_CONNECTED" }, codes)
    assert.same({}, t.msgs)
  end)
end)

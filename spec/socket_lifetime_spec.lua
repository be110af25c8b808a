-- Socket lifetimes: sockets the script dropped keep working, closed ones are
-- collected (<close>: spec/close54.lua).
local H = require("helper")
local dgram, nop, prun, run_until, assert_idle = H.dgram, H.nop, H.prun, H.wait, H.assert_idle

describe("socket lifetimes", function()
  after_each(H.cleanup)

  -- Closes every still-live socket of the weak table `weak`.
  local function close_all(weak)
    for _, s in pairs(weak) do pcall(s.close, s) end
  end

  it("a bound socket the script dropped still receives and emits", function()
    local got = {}
    local weak = setmetatable({}, { __mode = "v" })
    local port
    local function make()
      local s = dgram.createSocket("udp4")
      s:on("message", function(msg, rinfo) got[#got + 1] = { msg = msg, port = rinfo.port } end)
      s:on("listening", function() got.listening = true end)
      s:bind(0, "127.0.0.1")
      port = s:address().port
      weak.server = s
    end
    make()
    for _ = 1, 5 do dgram.run("nowait") end
    collectgarbage()
    collectgarbage()
    assert.is_not_nil(weak.server, "a bound socket was collected")
    assert.is_true(got.listening)
    local client = H.socket("udp4")
    client:send("still here", port, "127.0.0.1")
    assert.is_true(run_until(function()
      collectgarbage()
      return #got > 0
    end, 2000))
    assert.equals("still here", got[1].msg)
    assert.equals(client:address().port, got[1].port)
    close_all(weak)
    H.cleanup()
    collectgarbage()
    collectgarbage()
    assert.is_nil(weak.server, "the closed socket was not collected")
  end)

  it("dgram.createSocket('udp4'):send(...) with no reference kept still sends", function()
    local server, port = H.bound("udp4")
    local weak = setmetatable({}, { __mode = "v" })
    local got
    server:on("message", function(m)
      got = m
      server:close()
      close_all(weak) -- the sender stays bound after sending; close it so run ends
    end)
    do
      local c = dgram.createSocket("udp4")
      weak.client = c
      c:send("fire and forget", port, "127.0.0.1")
    end
    collectgarbage()
    collectgarbage()
    local r = prun(2000, function()
      server:close()
      close_all(weak)
    end)
    assert.is_true(r[1], tostring(r[2]))
    assert.is_false(r.expired)
    assert.equals("fire and forget", got)
    assert_idle()
  end)

  it("the Node idiom: send, then close in the send callback, no reference kept", function()
    local server, port = H.bound("udp4")
    local got, sent
    server:on("message", function(m)
      got = m
      server:close()
    end)
    local weak = setmetatable({}, { __mode = "v" })
    local function fire()
      local client = dgram.createSocket("udp4")
      weak.client = client
      client:send("bye", port, "127.0.0.1", function(err, n)
        sent = { err = err, n = n }
        client:close()
      end)
    end
    fire()
    collectgarbage()
    collectgarbage()
    local r = prun(2000, function()
      server:close()
      close_all(weak)
    end)
    assert.is_true(r[1], tostring(r[2]))
    assert.is_false(r.expired)
    assert.equals("bye", got)
    assert.is_nil(sent.err)
    assert.equals(3, sent.n)
    collectgarbage()
    collectgarbage()
    assert.is_nil(weak.client, "the closed client was not collected")
  end)

  it("a closed socket with no reference is collected after run", function()
    local weak = setmetatable({}, { __mode = "v" })
    local closed = false
    do
      local s = dgram.createSocket("udp4")
      s:bind(0, "127.0.0.1")
      s:on("close", function() closed = true end)
      s:close()
      weak[1] = s
    end
    collectgarbage()
    collectgarbage()
    assert.is_false(dgram.run())
    assert.is_true(closed, "'close' was not emitted")
    collectgarbage()
    collectgarbage()
    assert.is_nil(weak[1])
  end)

  it("a closed socket dropped before run still emits 'close'", function()
    local closed = 0
    do
      local s = dgram.createSocket("udp4")
      s:on("close", function() closed = closed + 1 end)
      s:bind(0, "127.0.0.1")
      s:close()
    end
    collectgarbage()
    collectgarbage()
    dgram.run()
    assert.equals(1, closed)
  end)

  it("an unbound, never-used socket is collected without trouble", function()
    local weak = setmetatable({}, { __mode = "v" })
    for i = 1, 50 do
      local s = dgram.createSocket(i % 2 == 0 and "udp4" or "udp6")
      if i % 3 == 0 then s:on("message", nop) end
      if i % 5 == 0 then s:unref() end
      weak[i] = s
    end
    weak.blocked = dgram.createSocket({
      type = "udp4", receiveBlockList = { "10.0.0.0/8" }, sendBlockList = { "192.0.2.1" },
    })
    collectgarbage()
    collectgarbage()
    assert.is_nil(next(weak))
    assert.is_false(dgram.run("nowait"))
    assert.is_false(dgram.run())
  end)

  it("a socket that was never bound does not keep run going", function()
    local s = H.socket("udp4")
    s:on("message", nop)
    local r = prun(1000, function() s:close() end)
    assert.is_true(r[1], tostring(r[2]))
    assert.is_false(r[2])
    assert.is_false(r.expired)
  end)

  it("many dropped, bound-then-closed sockets are all collected", function()
    local weak = setmetatable({}, { __mode = "v" })
    for i = 1, 30 do
      local s = dgram.createSocket("udp4")
      s:bind(0, "127.0.0.1")
      s:close()
      weak[i] = s
    end
    dgram.run()
    collectgarbage()
    collectgarbage()
    assert.is_nil(next(weak))
  end)
end)

describe("Lua lifetime", function()
  after_each(H.cleanup)

  it("a closed socket can be collected", function()
    local weak = setmetatable({}, { __mode = "v" })
    do
      local s = dgram.createSocket("udp4")
      s:bind(0, "127.0.0.1")
      s:close()
      weak[1] = s
    end
    H.run(1000)
    collectgarbage()
    collectgarbage()
    assert.is_nil(weak[1])
  end)

  it("a never-bound socket nobody references can be collected", function()
    local weak = setmetatable({}, { __mode = "v" })
    do
      weak[1] = dgram.createSocket("udp6")
    end
    collectgarbage()
    collectgarbage()
    assert.is_nil(weak[1])
    H.run(1000)
  end)

  it("a bound socket nobody references keeps receiving", function()
    local weak = setmetatable({}, { __mode = "v" })
    local got
    local port
    do
      local s = dgram.createSocket("udp4")
      weak[1] = s
      s:on("message", function(msg, _)
        got = msg
        weak[1]:close()
      end)
      s:bind(0, "127.0.0.1", function() port = weak[1]:address().port end)
    end
    -- safety net: the server is not tracked by H, so close it if the test goes wrong
    local guard = dgram.setTimeout(1500 * H.scale, function()
      if weak[1] then pcall(weak[1].close, weak[1]) end
    end)
    guard:unref()
    local client = H.socket("udp4")
    dgram.setTimeout(10, function()
      collectgarbage()
      collectgarbage()
      client:send("alive", port, "127.0.0.1", function() client:close() end)
    end)
    H.run(2000)
    dgram.clearTimeout(guard)
    assert.equals("alive", got)
  end)
end)

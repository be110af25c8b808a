-- Every raised error is an error object (a table with code and message, __tostring giving
-- the message): nextTick with a non-function, EventEmitter methods called with a dot
-- instead of a colon or on something that is not an emitter, the coroutine calls on
-- something that is not a socket, dgram.core.error's own arguments. And an 'error' event
-- with no listener comes out of dgram.run() as that same error object.
local H = require("helper")
local dgram = H.dgram
local EventEmitter = dgram.EventEmitter

local function nop() end

-- Like H.raises, and the object reads well: its message is a string and tostring gives it.
local function raises(code, fn, ...)
  local err = H.raises(code, fn, ...)
  assert.equals("string", type(err.message))
  assert.equals(err.message, tostring(err))
  return err
end

-- Values that are neither a function nor an emitter nor a socket.
local function hostile_values()
  return {
    { "nil", nil }, { "a number", 42 }, { "a string", "x" }, { "a boolean", true },
    { "a coroutine", coroutine.create(nop) }, { "a file (userdata)", io.stdout },
  }
end

describe("dgram.nextTick", function()
  after_each(H.cleanup)

  for _, case in ipairs(hostile_values()) do
    it("raises ERR_INVALID_ARG_TYPE for " .. case[1] .. ", from dgram and dgram.core", function()
      local err = raises("ERR_INVALID_ARG_TYPE", dgram.nextTick, case[2])
      assert.truthy(err.message:find("function", 1, true), err.message)
      raises("ERR_INVALID_ARG_TYPE", dgram.core.nextTick, case[2], 1, 2)
    end)
  end

  it("raises ERR_INVALID_ARG_TYPE for a table, and queues nothing", function()
    local called = false
    raises("ERR_INVALID_ARG_TYPE", dgram.nextTick, setmetatable({}, {
      __call = function() called = true end }))
    H.run()
    assert.is_false(called)
  end)

  it("still calls a function later with its arguments", function()
    local got
    dgram.nextTick(function(a, b) got = { a, b } end, "a", "b")
    assert.is_nil(got)
    H.run()
    assert.same({ "a", "b" }, got)
  end)
end)

local methods = { "on", "addListener", "once", "prependListener", "prependOnceListener",
  "off", "removeListener", "removeAllListeners", "emit", "listeners", "rawListeners",
  "listenerCount", "eventNames" }

describe("EventEmitter methods on something that is not an emitter", function()
  after_each(H.cleanup)

  local selves = hostile_values()
  selves[#selves + 1] = { "a function", nop }
  selves[#selves + 1] = { "a table whose _events is not a method", { _events = 5 } }

  for _, case in ipairs(selves) do
    it("raise ERR_INVALID_ARG_TYPE for " .. case[1] .. ", with a hint at the colon", function()
      for _, m in ipairs(methods) do
        local err = raises("ERR_INVALID_ARG_TYPE", EventEmitter[m], case[2], "x", nop)
        assert.truthy(err.message:find("colon", 1, true), m .. ": " .. err.message)
        err = raises("ERR_INVALID_ARG_TYPE", dgram.Socket[m], case[2], "x", nop)
        assert.truthy(err.message:find("colon", 1, true), m .. " on Socket: " .. err.message)
      end
    end)
  end

  it("a socket's methods called with a dot raise ERR_INVALID_ARG_TYPE hinting at the colon, "
    .. "and the socket stays as it was", function()
    local s = H.socket("udp4")
    for _, m in ipairs(methods) do
      local err = raises("ERR_INVALID_ARG_TYPE", s[m], "message", nop)
      assert.truthy(err.message:find("colon", 1, true), m .. ": " .. err.message)
      raises("ERR_INVALID_ARG_TYPE", s[m], nil, "message", nop)
    end
    assert.equals(0, s:listenerCount("message"))
    local heard = 0
    s:on("message", function() heard = heard + 1 end)
    assert.equals(1, s:listenerCount("message"))
    s:emit("message", "m", {})
    assert.equals(1, heard)
  end)

  it("an emitter's methods called with a dot raise too", function()
    local e = EventEmitter.new()
    raises("ERR_INVALID_ARG_TYPE", e.on, "x", nop)
    raises("ERR_INVALID_ARG_TYPE", e.emit, "x")
    raises("ERR_INVALID_ARG_TYPE", e.listenerCount, "x")
  end)

  it("work on a plain table, as Node's methods work on any object", function()
    local t, got = {}, nil
    EventEmitter.on(t, "x", function(v) got = v end)
    assert.equals(1, EventEmitter.listenerCount(t, "x"))
    assert.is_true(EventEmitter.emit(t, "x", 7))
    assert.equals(7, got)
  end)

  it("EventEmitter.new raises ERR_INVALID_ARG_TYPE for what is not a table", function()
    for _, case in ipairs(hostile_values()) do
      if case[2] ~= nil then raises("ERR_INVALID_ARG_TYPE", EventEmitter.new, case[2]) end
    end
    assert.equals(EventEmitter, getmetatable(EventEmitter.new()))
  end)
end)

describe("EventEmitter arguments", function()
  after_each(H.cleanup)

  local emitters = {
    { "an emitter", function() return EventEmitter.new() end },
    { "a socket", function() return H.socket("udp4") end },
  }
  for _, kind in ipairs(emitters) do
    it("on " .. kind[1] .. ": a listener that is not a function or a name that is not a "
      .. "string raises ERR_INVALID_ARG_TYPE from every method that takes them", function()
      local e = kind[2]()
      for _, m in ipairs({ "on", "addListener", "once", "prependListener",
        "prependOnceListener", "off", "removeListener" }) do
        for _, bad in ipairs({ 42, "f", {}, true }) do
          local err = raises("ERR_INVALID_ARG_TYPE", e[m], e, "x", bad)
          assert.truthy(err.message:find("listener", 1, true), m .. ": " .. err.message)
        end
        raises("ERR_INVALID_ARG_TYPE", e[m], e, "x")
        for _, bad in ipairs({ 42, {}, true, nop }) do
          raises("ERR_INVALID_ARG_TYPE", e[m], e, bad, nop)
        end
      end
      raises("ERR_INVALID_ARG_TYPE", e.emit, e, 42)
      raises("ERR_INVALID_ARG_TYPE", e.removeAllListeners, e, 42)
      assert.same({}, e:eventNames())
    end)

    it("on " .. kind[1] .. ": emit('error', v) with no listener raises an error object as "
      .. "it is, and wraps any other value in ERR_UNHANDLED_ERROR (as Node)", function()
      local e = kind[2]()
      local obj = { code = "EMINE" }
      local ok, got = pcall(e.emit, e, "error", obj)
      assert.is_false(ok)
      assert.is_true(rawequal(obj, got))
      for _, v in ipairs({ "boom", 42, false }) do
        local err = raises("ERR_UNHANDLED_ERROR", e.emit, e, "error", v)
        assert.equals(v, err.context)
        assert.truthy(err.message:find(tostring(v), 1, true), err.message)
      end
      local err = raises("ERR_UNHANDLED_ERROR", e.emit, e, "error")
      assert.is_nil(err.context)
    end)
  end
end)

describe("the coroutine calls on something that is not a socket", function()
  after_each(H.cleanup)

  it("recv, sendAsync and recvDropped raise ERR_INVALID_ARG_TYPE", function()
    local results = {}
    dgram.spawn(function()
      for _, case in ipairs(hostile_values()) do
        results[#results + 1] = { case[1], pcall(dgram.Socket.recv, case[2], 10) }
        results[#results + 1] = { case[1], pcall(dgram.Socket.sendAsync, case[2], "x", 9) }
      end
    end)
    H.run()
    assert.equals(12, #results)
    for _, r in ipairs(results) do
      assert.is_false(r[2], r[1])
      assert.equals("table", type(r[3]), r[1] .. ": " .. tostring(r[3]))
      assert.equals("ERR_INVALID_ARG_TYPE", r[3].code)
    end
    for _, case in ipairs(hostile_values()) do
      raises("ERR_INVALID_ARG_TYPE", dgram.Socket.recvDropped, case[2])
    end
  end)
end)

describe("dgram.core.error", function()
  it("makes an error object, and raises ERR_INVALID_ARG_TYPE for a code or message that is "
    .. "not a string", function()
    local e = dgram.core.error("EX", "a message", { port = 7 })
    assert.same({ "EX", "a message", 7 }, { e.code, e.message, e.port })
    assert.equals("a message", tostring(e))
    for _, case in ipairs(hostile_values()) do
      if type(case[2]) ~= "string" then
        raises("ERR_INVALID_ARG_TYPE", dgram.core.error, case[2], "m")
        raises("ERR_INVALID_ARG_TYPE", dgram.core.error, "EX", case[2])
      end
    end
  end)
end)

describe("an 'error' event with no listener", function()
  after_each(H.cleanup)

  -- Makes `s` fail once with EADDRINUSE: it binds to the port `taken` holds.
  local function bind_clash(s, port)
    s:bind(port, "127.0.0.1")
  end

  local function run_raises()
    local ok, err = pcall(H.run)
    assert.is_false(ok, "dgram.run() should have raised")
    return err
  end

  it("comes out of dgram.run() as the error object (code, syscall, port, tostring); the "
    .. "socket can bind again after", function()
    local _, port = H.bound("udp4")
    local s = H.socket("udp4")
    bind_clash(s, port)
    local err = run_raises()
    assert.equals("table", type(err))
    assert.equals("EADDRINUSE", err.code)
    assert.equals("bind", err.syscall)
    assert.equals(port, err.port)
    assert.equals(err.message, tostring(err))
    local listening = false
    s:bind(0, "127.0.0.1", function() listening = true end)
    H.run_until(2000, function() return listening end)
    assert.is_true(listening)
  end)

  it("after a once('error') listener took the first error, the second comes out of run",
    function()
      local _, port = H.bound("udp4")
      local s = H.socket("udp4")
      local first
      s:once("error", function(e) first = e end)
      bind_clash(s, port)
      H.run_until(2000, function() return first ~= nil end)
      assert.equals("EADDRINUSE", first.code)
      bind_clash(s, port)
      local err = run_raises()
      assert.equals("EADDRINUSE", err.code)
      assert.is_false(rawequal(first, err))
    end)

  it("after removeAllListeners('error') took two listeners away, it comes out of run",
    function()
      local _, port = H.bound("udp4")
      local s = H.socket("udp4")
      local heard = 0
      s:on("error", function() heard = heard + 1 end)
      s:on("error", function() heard = heard + 1 end)
      s:removeAllListeners("error")
      bind_clash(s, port)
      local err = run_raises()
      assert.equals("EADDRINUSE", err.code)
      assert.equals(0, heard)
    end)

  it("a send failure without a callback (EMSGSIZE) comes out of run, and the socket sends "
    .. "after", function()
    local server, port = H.bound("udp4")
    local got
    server:on("message", function(m) got = m end)
    local s = H.socket("udp4")
    s:send(("x"):rep(65508), port, "127.0.0.1")
    local err = run_raises()
    assert.equals("EMSGSIZE", err.code)
    assert.equals("send", err.syscall)
    s:send("after", port, "127.0.0.1")
    H.run_until(2000, function() return got ~= nil end)
    assert.equals("after", got)
  end)

  it("emitted from Lua inside a callback comes out of run as the very same table", function()
    local s = H.socket("udp4")
    local obj = setmetatable({ code = "EMINE" }, { __tostring = function() return "mine" end })
    dgram.setTimeout(1, function() s:emit("error", obj) end)
    local err = run_raises()
    assert.is_true(rawequal(obj, err))
  end)
end)

-- Node's EventEmitter: dgram.EventEmitter on its own, and the same methods on sockets,
-- where 'message' listeners (one, several, added and removed) get every datagram.
local H = require("helper")
local dgram = H.dgram
local EventEmitter = dgram.EventEmitter

local nop = H.nop

-- A fresh emitter. API.md exports the class "for reuse" without naming a constructor;
-- EventEmitter.new() is the one lua/dgram/emitter.lua provides.
local function new_emitter()
  return EventEmitter.new()
end

local recorder, tags = H.recorder, H.tags

local function assert_invalid_listener(fn)
  local ok, err = pcall(fn)
  assert.is_false(ok)
  assert.equals("table", type(err))
  assert.equals("ERR_INVALID_ARG_TYPE", err.code)
  assert.is_truthy(tostring(err):find("listener", 1, true), tostring(err))
end

-- The same EventEmitter contract, for a plain emitter and for a socket.
local kinds = {
  { name = "dgram.EventEmitter", make = new_emitter },
  { name = "a socket", make = function() return H.socket("udp4") end },
}

for _, kind in ipairs(kinds) do
  local make = kind.make

  describe("EventEmitter methods on " .. kind.name, function()
    after_each(H.cleanup)

    it("on/addListener register listeners that emit calls with its arguments", function()
      local e, log = make(), {}
      e:on("ping", recorder(log, "on"))
      e:addListener("ping", recorder(log, "addListener"))
      assert.is_true(e:emit("ping", 1, "two", nil, false))
      assert.same({ "on", "addListener" }, tags(log))
      for _, entry in ipairs(log) do
        assert.equals(4, entry.args.n)
        assert.equals(1, entry.args[1])
        assert.equals("two", entry.args[2])
        assert.is_nil(entry.args[3])
        assert.is_false(entry.args[4])
      end
    end)

    it("emit returns true with listeners and false without", function()
      local e = make()
      assert.is_false(e:emit("nobody"))
      e:on("somebody", nop)
      assert.is_true(e:emit("somebody"))
      assert.is_false(e:emit("nobody"))
    end)

    it("calls listeners in registration order, a repeated one as often as added", function()
      local e, order = make(), {}
      local function a() order[#order + 1] = "a" end
      e:on("x", a)
      e:on("x", function() order[#order + 1] = "b" end)
      e:on("x", a)
      e:on("x", function() order[#order + 1] = "c" end)
      e:emit("x")
      assert.same({ "a", "b", "a", "c" }, order)
      assert.equals(4, e:listenerCount("x"))
    end)

    it("on, once, off, addListener and removeListener return the object, so calls chain",
      function()
        local e, log = make(), {}
        local f, g = recorder(log, "f"), recorder(log, "g")
        assert.equals(e, e:on("x", f))
        assert.equals(e, e:once("x", g))
        assert.equals(e, e:addListener("x", g))
        assert.equals(e, e:off("x", g))
        assert.equals(e, e:removeListener("x", f))
        assert.equals(e, e:removeAllListeners("x"))
        assert.equals(e, e:removeAllListeners())
        e:on("y", f):once("y", g):on("y", f):off("y", f)
        assert.same({ f, g }, e:listeners("y"))
        e:emit("y")
        assert.same({ "f", "g" }, tags(log))
      end)

    it("once calls a listener for the first emit only, with the arguments", function()
      local e, log = make(), {}
      e:once("x", recorder(log, "once"))
      assert.equals(1, e:listenerCount("x"))
      assert.is_true(e:emit("x", "first", 1))
      assert.equals(0, e:listenerCount("x"))
      assert.is_false(e:emit("x", "second"))
      assert.equals(1, #log)
      assert.equals("first", log[1].args[1])
      assert.equals(1, log[1].args[2])
    end)

    it("once inside its own listener re-registers for the next emit", function()
      local e, n = make(), 0
      local function again()
        n = n + 1
        if n < 3 then e:once("x", again) end
      end
      e:once("x", again)
      for _ = 1, 5 do e:emit("x") end
      assert.equals(3, n)
    end)

    it("off removes the most recently added instance only", function()
      local e, order = make(), {}
      local function f() order[#order + 1] = "f" end
      local function g() order[#order + 1] = "g" end
      e:on("x", f):on("x", g):on("x", f)
      e:off("x", f)
      assert.same({ f, g }, e:listeners("x"))
      e:emit("x")
      assert.same({ "f", "g" }, order)
      e:removeListener("x", f)
      assert.same({ g }, e:listeners("x"))
    end)

    it("off of a function that is not registered does nothing", function()
      local e = make()
      e:on("x", nop)
      assert.equals(e, e:off("x", function() end))
      assert.equals(e, e:off("never", nop))
      assert.equals(1, e:listenerCount("x"))
    end)

    it("off removes a once listener by its original function", function()
      local e, called = make(), false
      local function f() called = true end
      e:once("x", f)
      assert.same({ f }, e:listeners("x"))
      e:off("x", f)
      assert.equals(0, e:listenerCount("x"))
      assert.is_false(e:emit("x"))
      assert.is_false(called)
    end)

    it("removeAllListeners(name) clears one event, removeAllListeners() all", function()
      local e = make()
      e:on("a", nop):on("a", nop):on("b", nop):once("c", nop)
      e:removeAllListeners("a")
      assert.equals(0, e:listenerCount("a"))
      assert.equals(1, e:listenerCount("b"))
      assert.equals(1, e:listenerCount("c"))
      assert.is_false(e:emit("a"))
      e:removeAllListeners()
      assert.equals(0, e:listenerCount("b"))
      assert.equals(0, e:listenerCount("c"))
      assert.is_false(e:emit("b"))
      assert.is_false(e:emit("c"))
      e:on("b", nop) -- still usable afterwards
      assert.is_true(e:emit("b"))
    end)

    it("listeners(name) returns a copy in order; listenerCount counts", function()
      local e = make()
      local f, g = function() end, function() end
      assert.same({}, e:listeners("x"))
      assert.equals(0, e:listenerCount("x"))
      e:on("x", f):on("x", g)
      local l = e:listeners("x")
      assert.same({ f, g }, l)
      assert.equals(f, l[1])
      assert.equals(g, l[2])
      l[1], l[3] = nil, nop
      assert.same({ f, g }, e:listeners("x"))
      assert.equals(2, e:listenerCount("x"))
      assert.equals("integer", math.type(e:listenerCount("x")))
    end)

    it("a listener added during emit is not called by that emit", function()
      local e, order = make(), {}
      e:on("x", function()
        order[#order + 1] = "first"
        e:on("x", function() order[#order + 1] = "added" end)
      end)
      e:emit("x")
      assert.same({ "first" }, order)
      e:emit("x")
      assert.same({ "first", "first", "added" }, order)
    end)

    it("a listener removed during emit is still called by that emit (as Node)", function()
      local e, order = make(), {}
      local function second() order[#order + 1] = "second" end
      e:on("x", function()
        order[#order + 1] = "first"
        e:off("x", second)
      end)
      e:on("x", second)
      e:emit("x")
      assert.same({ "first", "second" }, order)
      e:emit("x")
      assert.same({ "first", "second", "first" }, order)
    end)

    it("rejects a listener that is not a function with ERR_INVALID_ARG_TYPE", function()
      local e = make()
      for _, bad in ipairs({ "str", 42, {}, true }) do
        assert_invalid_listener(function() e:on("x", bad) end)
        assert_invalid_listener(function() e:addListener("x", bad) end)
        assert_invalid_listener(function() e:once("x", bad) end)
        assert_invalid_listener(function() e:off("x", bad) end)
      end
      assert_invalid_listener(function() e:on("x") end)
      assert_invalid_listener(function() e:once("x", nil) end)
      assert.equals(0, e:listenerCount("x"))
    end)

    it("emit('error', e) with no listener raises e itself", function()
      local e = make()
      local err = { code = "EBOOM" }
      local ok, got = pcall(e.emit, e, "error", err)
      assert.is_false(ok)
      assert.is_true(rawequal(err, got))
    end)

    it("emit('error', e) with a listener calls it and raises nothing", function()
      local e, got = make(), nil
      local err = { code = "EBOOM" }
      e:on("error", function(x) got = x end)
      assert.is_true(e:emit("error", err))
      assert.is_true(rawequal(err, got))
    end)

    it("an error in a listener comes out of emit and skips later listeners", function()
      local e, later = make(), false
      local boom = {}
      e:on("x", function() error(boom) end)
      e:on("x", function() later = true end)
      local ok, got = pcall(e.emit, e, "x")
      assert.is_false(ok)
      assert.is_true(rawequal(boom, got))
      assert.is_false(later)
      assert.equals(2, e:listenerCount("x")) -- and nothing was removed
    end)
  end)
end

describe("dgram.EventEmitter", function()
  it("is exported by dgram", function()
    assert.equals("table", type(EventEmitter))
    for _, m in ipairs({ "on", "addListener", "once", "off", "removeListener",
      "removeAllListeners", "emit", "listeners", "listenerCount" }) do
      assert.equals("function", type(EventEmitter[m]), m)
    end
  end)

  it("keeps separate emitters separate", function()
    local a, b = new_emitter(), new_emitter()
    local hits = 0
    a:on("x", function() hits = hits + 1 end)
    assert.is_false(b:emit("x"))
    assert.equals(0, b:listenerCount("x"))
    assert.is_true(a:emit("x"))
    assert.equals(1, hits)
  end)

  it("works for an object whose class inherits from it", function()
    local Class = setmetatable({}, { __index = EventEmitter })
    Class.__index = Class
    function Class.new() return setmetatable({}, Class) end
    function Class:fire(v) return self:emit("fired", v) end
    local a, b = Class.new(), Class.new()
    local got
    a:on("fired", function(v) got = v end)
    assert.is_true(a:fire(7))
    assert.is_false(b:fire(8))
    assert.equals(7, got)
    assert.equals(0, b:listenerCount("fired"))
  end)
end)

describe("'message' listeners on a socket", function()
  after_each(H.cleanup)

  local run_until = H.wait

  -- Sends `msgs` in order from `client` to 127.0.0.1:port and runs the loop until every
  -- send callback ran and `expect()` holds (or 2 s passed); then a little more so that a
  -- datagram that should not be delivered anywhere has its chance to show up.
  local function exchange(client, port, msgs, expect)
    local done = 0
    for _, m in ipairs(msgs) do
      client:send(m, port, "127.0.0.1", function(err)
        assert(err == nil, tostring(err))
        done = done + 1
      end)
    end
    local ok = run_until(function() return done == #msgs and expect() end, 2000)
    local settle = false
    dgram.setTimeout(20, function() settle = true end)
    run_until(function() return settle end, 1000)
    return ok
  end

  local function collector()
    local got = {}
    return got, function(msg, rinfo)
      assert.equals("table", type(rinfo))
      got[#got + 1] = msg
    end
  end

  it("one listener (given to createSocket) receives every datagram", function()
    local got, cb = collector()
    local server = H.socket("udp4", cb)
    assert.equals(1, server:listenerCount("message"))
    server:bind(0, "127.0.0.1")
    local port = server:address().port
    local client = H.socket("udp4")
    assert.is_true(exchange(client, port, { "a", "b", "c" }, function() return #got == 3 end))
    assert.same({ "a", "b", "c" }, got)
  end)

  it("several listeners all receive each datagram, in registration order", function()
    local server, port = H.bound("udp4")
    local order = {}
    local got1, got2, got3 = {}, {}, {}
    server:on("message", function(m)
      got1[#got1 + 1] = m
      order[#order + 1] = "1" .. m
    end)
    server:on("message", function(m)
      got2[#got2 + 1] = m
      order[#order + 1] = "2" .. m
    end)
    server:addListener("message", function(m, rinfo)
      got3[#got3 + 1] = m
      order[#order + 1] = "3" .. m
      assert.equals("127.0.0.1", rinfo.address)
    end)
    local client = H.socket("udp4")
    assert.is_true(exchange(client, port, { "x", "y" }, function() return #got3 == 2 end))
    assert.same({ "x", "y" }, got1)
    assert.same({ "x", "y" }, got2)
    assert.same({ "x", "y" }, got3)
    assert.same({ "1x", "2x", "3x", "1y", "2y", "3y" }, order)
  end)

  it("delivery follows listeners as they are added and removed", function()
    local server, port = H.bound("udp4")
    local client = H.socket("udp4")
    local a, fa = collector()
    local b, fb = collector()
    local c, fc = collector()

    server:on("message", fa)
    assert.is_true(exchange(client, port, { "1" }, function() return #a == 1 end))

    server:on("message", fb) -- one -> two listeners
    assert.is_true(exchange(client, port, { "2" }, function() return #b == 1 end))

    server:off("message", fa) -- two -> one again (the other one)
    assert.is_true(exchange(client, port, { "3" }, function() return #b == 2 end))

    server:on("message", fc):on("message", fa) -- three, then drop the middle one
    server:removeListener("message", fc)
    assert.is_true(exchange(client, port, { "4" }, function() return #a == 3 end))

    server:removeAllListeners("message") -- none: the datagram is dropped
    exchange(client, port, { "5" }, function() return true end)

    server:on("message", fc) -- delivery resumes
    assert.is_true(exchange(client, port, { "6" }, function() return #c == 1 end))

    assert.same({ "1", "2", "4" }, a)
    assert.same({ "2", "3", "4" }, b)
    assert.same({ "6" }, c)
  end)

  it("a once 'message' listener gets only the first datagram", function()
    local server, port = H.bound("udp4")
    local first, all = {}, {}
    server:once("message", function(m) first[#first + 1] = m end)
    server:on("message", function(m) all[#all + 1] = m end)
    local client = H.socket("udp4")
    assert.is_true(exchange(client, port, { "p", "q", "r" }, function() return #all == 3 end))
    assert.same({ "p" }, first)
    assert.same({ "p", "q", "r" }, all)
    assert.equals(1, server:listenerCount("message"))
  end)

  it("a single once 'message' listener, then none: later datagrams are dropped", function()
    local server, port = H.bound("udp4")
    local got = {}
    server:once("message", function(m) got[#got + 1] = m end)
    local client = H.socket("udp4")
    assert.is_true(exchange(client, port, { "only" }, function() return #got == 1 end))
    exchange(client, port, { "dropped" }, function() return true end)
    assert.same({ "only" }, got)
    assert.equals(0, server:listenerCount("message"))
  end)

  it("a 'message' listener added inside a 'message' listener starts with the next one",
    function()
      local server, port = H.bound("udp4")
      local got, late = {}, {}
      server:on("message", function(m)
        got[#got + 1] = m
        if #got == 1 then server:on("message", function(x) late[#late + 1] = x end) end
      end)
      local client = H.socket("udp4")
      assert.is_true(exchange(client, port, { "1" }, function() return #got == 1 end))
      assert.is_true(exchange(client, port, { "2" }, function() return #late == 1 end))
      assert.same({ "1", "2" }, got)
      assert.same({ "2" }, late)
    end)

  it("several 'listening' and 'close' listeners all run, once each", function()
    local s = H.socket("udp4")
    local log = {}
    s:on("listening", function() log[#log + 1] = "l1" end)
    s:on("listening", function() log[#log + 1] = "l2" end)
    s:on("close", function() log[#log + 1] = "c1" end)
    s:once("close", function() log[#log + 1] = "c2" end)
    s:bind(0, "127.0.0.1")
    dgram.setTimeout(10, function() s:close() end)
    H.run(2000)
    assert.same({ "l1", "l2", "c1", "c2" }, log)
  end)

  it("socket:emit('error', e) with no listener raises e", function()
    local s = H.socket("udp4")
    local e = { code = "EX" }
    local ok, got = pcall(s.emit, s, "error", e)
    assert.is_false(ok)
    assert.is_true(rawequal(e, got))
  end)

  it("socket:emit calls the Lua listeners of any event, including 'message'", function()
    local s = H.socket("udp4")
    local got
    s:on("message", function(m, r) got = { m, r } end)
    local rinfo = { address = "127.0.0.1", port = 9, family = "IPv4", size = 3 }
    assert.is_true(s:emit("message", "abc", rinfo))
    assert.equals("abc", got[1])
    assert.equals(rinfo, got[2])
    assert.is_true(s:on("custom", nop):emit("custom"))
    assert.is_false(s:emit("other"))
  end)
end)

-- A socket's first listener of a core event is kept by the C core alone; the listener table
-- is made from the core's handlers when another EventEmitter call needs it. A script must
-- not be able to tell.
describe("a socket's first listener of a core event", function()
  after_each(H.cleanup)

  it("is seen by listeners, listenerCount, rawListeners and eventNames", function()
    local s = H.socket("udp4")
    local function f() end
    local function g() end
    assert.equals(s, s:on("message", f))
    assert.equals(s, s:addListener("close", g))
    assert.same({ f }, s:listeners("message"))
    assert.same({ f }, s:rawListeners("message"))
    assert.equals(1, s:listenerCount("message"))
    assert.equals(1, s:listenerCount("close"))
    assert.equals(0, s:listenerCount("error"))
    local names = s:eventNames()
    table.sort(names)
    assert.same({ "close", "message" }, names)
  end)

  it("is followed by later listeners of the same event, in order", function()
    local server, port = H.bound("udp4")
    local log = {}
    server:on("message", function(msg) log[#log + 1] = "first " .. msg end)
    server:on("message", function(msg) log[#log + 1] = "second " .. msg end)
    server:prependListener("message", function(msg) log[#log + 1] = "zeroth " .. msg end)
    local client = H.socket("udp4")
    client:send("hi", port, "127.0.0.1")
    H.run_until(2000, function() return #log == 3 end)
    assert.same({ "zeroth hi", "first hi", "second hi" }, log)
  end)

  it("can be removed by off or removeAllListeners, and then nothing is called", function()
    for _, remove in ipairs({
      function(s, f) s:off("message", f) end,
      function(s) s:removeAllListeners("message") end,
      function(s) s:removeAllListeners() end,
    }) do
      local server, port = H.bound("udp4")
      local called = 0
      local function f() called = called + 1 end
      server:on("message", f)
      remove(server, f)
      assert.equals(0, server:listenerCount("message"))
      local client = H.socket("udp4")
      client:send("hi", port, "127.0.0.1")
      H.quiet(50)
      assert.equals(0, called)
      server:close()
      client:close()
    end
  end)

  it("is called by socket:emit from Lua, like any listener", function()
    local s = H.socket("udp4")
    local got
    s:on("message", function(msg, rinfo) got = { msg, rinfo.port } end)
    assert.is_true(s:emit("message", "abc", { port = 7 }))
    assert.same({ "abc", 7 }, got)
  end)

  it("is announced to a 'newListener' listener added before it", function()
    local s = H.socket("udp4")
    local seen = {}
    local function f() end
    s:on("newListener", function(name, fn) seen[#seen + 1] = { name, fn } end)
    s:on("message", f)
    assert.same({ { "message", f } }, seen)
    assert.same({ f }, s:listeners("message"))
  end)

  it("'error' and 'listening' listeners get their events, before a bind callback", function()
    local s = H.socket("udp4")
    local log = {}
    s:on("listening", function() log[#log + 1] = "listening" end)
    s:on("error", function(err) log[#log + 1] = err.code end)
    s:bind(0, "127.0.0.1", function() log[#log + 1] = "bind callback" end)
    H.run_until(2000, function() return #log == 2 end)
    assert.same({ "listening", "bind callback" }, log)
    local other = H.socket("udp4")
    other:on("error", function(err) log[#log + 1] = err.code end)
    other:bind(s:address().port, "127.0.0.1")
    H.run_until(2000, function() return #log == 3 end)
    assert.equals("EADDRINUSE", log[3])
  end)
end)

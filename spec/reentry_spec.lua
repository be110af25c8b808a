-- Lua that runs inside a socket's own call: a finalizer run by an allocation of close,
-- send, bind or connect, and the metamethods bind(options) runs. Whatever it does to the
-- socket, the call finds it out: nothing reaches a closing handle, every callback runs
-- once, no descriptor leaks.
local H = require("helper")
local gcmodes = require("gcmodes")

-- For H.finalize_inside: an object whose finalizer calls fn, and notes where it ran.
local ran_inside
local function garbage(fn)
  ran_inside = nil
  return function()
    gcmodes.setmetatable({}, { __gc = function()
      ran_inside = H.in_call
      fn()
    end })
  end
end

-- Lua 5.1 (not LuaJIT) looks for garbage at other places than 5.3, 5.4 and LuaJIT: none
-- inside these calls, so no finalizer can run there (the other Luas cover the calls).
local NO_GC_INSIDE = _VERSION == "Lua 5.1" and not jit
  and "Lua 5.1 runs no collection step inside these calls: no finalizer can run there"

-- The finalizer ran inside the call, not before or after it.
local function assert_ran_inside()
  assert.is_true(ran_inside, "the finalizer did not run inside the call")
end

-- Counts how often each event is emitted on s.
local function count_events(s, ...)
  local n = {}
  for _, name in ipairs({ ... }) do
    n[name] = 0
    s:on(name, function() n[name] = n[name] + 1 end)
  end
  return n
end

describe("a finalizer that closes the socket inside one of its calls", function()
  after_each(H.cleanup)

  it("inside close(): the socket closes once, 'close' is emitted once, and the finalizer's "
    .. "close raises ERR_SOCKET_DGRAM_NOT_RUNNING", function()
      if NO_GC_INSIDE then return pending(NO_GC_INSIDE) end
      local s = H.bound("udp4")
      local n = count_events(s, "close")
      local inner
      -- the usual wrapper: an object that closes the socket it owns when collected
      local ok, err = H.finalize_inside(garbage(function()
        inner = table.pack(pcall(s.close, s))
      end), function() return s:close() end)
      assert_ran_inside()
      assert(ok, tostring(err))
      assert.is_table(inner, "the finalizer did not run")
      assert.is_false(inner[1], "the finalizer ran before close(), not inside it")
      assert.equals("ERR_SOCKET_DGRAM_NOT_RUNNING", inner[2].code)
      H.run(1000)
      assert.equals(1, n.close)
    end)

  it("inside close(): sends waiting for the implicit bind each get ERR_SOCKET_DGRAM_NOT_RUNNING "
    .. "once", function()
      if NO_GC_INSIDE then return pending(NO_GC_INSIDE) end
      local s = H.socket("udp4")
      local codes = {}
      for i = 1, 3 do
        s:send("m" .. i, 9, "127.0.0.1", function(e, bytes)
          codes[#codes + 1] = e and e.code or bytes
        end)
      end
      local inner
      local ok, err = H.finalize_inside(garbage(function()
        inner = table.pack(pcall(s.close, s))
      end), function() return s:close() end)
      assert_ran_inside()
      assert(ok, tostring(err))
      assert.is_false(inner[1])
      H.run(1000)
      assert.same({ "ERR_SOCKET_DGRAM_NOT_RUNNING", "ERR_SOCKET_DGRAM_NOT_RUNNING",
        "ERR_SOCKET_DGRAM_NOT_RUNNING" }, codes)
    end)

  it("inside close(): a send from the finalizer raises ERR_SOCKET_DGRAM_NOT_RUNNING and sends "
    .. "nothing", function()
      if NO_GC_INSIDE then return pending(NO_GC_INSIDE) end
      local r, port = H.bound("udp4")
      local got = 0
      r:on("message", function() got = got + 1 end)
      local s = H.bound("udp4")
      local inner
      local ok, err = H.finalize_inside(garbage(function()
        inner = table.pack(pcall(s.send, s, "late", port, "127.0.0.1"))
      end), function() return s:close() end)
      assert_ran_inside()
      assert(ok, tostring(err))
      assert.is_false(inner[1])
      assert.equals("ERR_SOCKET_DGRAM_NOT_RUNNING", inner[2].code)
      H.quiet(50)
      assert.equals(0, got)
    end)
end)

-- In a child lua5.4, whose fresh Lua state allocates at known places: there the first
-- allocation inside send, bind or connect on an unbound socket is the implicit bind's.
-- (Here, strings that other specs keep alive are reused without an allocation.)
local window = [[
  local H = require("helper")
  local gcmodes = require("gcmodes")
  local s = H.dgram.createSocket("udp4")
  local fds = H.open_fds()
  local n = { close = 0, listening = 0, connect = 0, error = 0 }
  for name in pairs(n) do s:on(name, function() n[name] = n[name] + 1 end) end
  local cbs = {}
  local function cb(err) cbs[#cbs + 1] = err and err.code or "sent" end
  -- the core's bind and connect, which the wrapper's call after checking its arguments in
  -- Lua (where a finalizer would run first)
  local function core_of(method, name)
    for i = 1, math.huge do
      local k, v = debug.getupvalue(method, i)
      if k == name then return v end
      assert(k, name)
    end
  end
  local bind, connect = core_of(s.bind, "core_bind"), core_of(s.connect, "core_connect")
  local calls = {
    send = function() return s:send("x", 9, "127.0.0.1", cb) end,
    bind = function() return bind(s, 0) end,
    connect = function() return connect(s, 9, "127.0.0.1") end,
  }
  local inside
  local function make()
    gcmodes.setmetatable({}, { __gc = function()
      inside = H.in_call
      pcall(s.close, s)
    end })
  end
  -- Growing the stack would collect (and finalize) before the call's C code runs: it is
  -- grown first, and with 300 values on it the collections keep room enough for the call.
  select("#", table.unpack({}, 1, 2000))
  local ok, err = (function(...) -- luacheck: no unused
    return H.finalize_inside(make, calls[arg[1] ])
  end)(table.unpack({}, 1, 300))
  H.dgram.run()
  print(("finalizer inside: %s; %s; callbacks: %s; close %d, listening %d, connect %d, "
    .. "error %d; descriptors left: %d"):format(tostring(inside),
    ok and "returned" or "raised " .. tostring(err.code), table.concat(cbs, " "), n.close,
    n.listening, n.connect, n.error, H.open_fds() - fds))
]]

describe("a finalizer that closes the socket inside the implicit bind of a call", function()
  -- A send is queued before its implicit bind: the close that the finalizer makes gives
  -- it ERR_SOCKET_DGRAM_NOT_RUNNING, as to every send waiting for the bind (API.md,
  -- close). bind and connect raise it.
  local outcome = {
    send = "returned; callbacks: ERR_SOCKET_DGRAM_NOT_RUNNING",
    bind = "raised ERR_SOCKET_DGRAM_NOT_RUNNING; callbacks: ",
    connect = "raised ERR_SOCKET_DGRAM_NOT_RUNNING; callbacks: ",
  }
  for _, call in ipairs({ "send", "bind", "connect" }) do
    it(call .. "(): " .. outcome[call] .. "; 'close' is emitted once, no descriptor is left "
      .. "open (child lua5.4)", function()
        if NO_GC_INSIDE then return pending(NO_GC_INSIDE) end
        local ok, out = H.child(window, 20, call)
        assert.is_true(ok, out)
        assert.equals("finalizer inside: true; " .. outcome[call] .. "; "
          .. "close 1, listening 0, connect 0, error 0; descriptors left: 0\n", out)
      end)
  end
end)

describe("bind(options) whose options run Lua on the same socket", function()
  after_each(H.cleanup)

  -- options whose `port` field is computed by fn (an __index metamethod)
  local function options(fn)
    return setmetatable({ address = "127.0.0.1" }, { __index = function(_, key)
      if key == "port" then return fn() end
    end })
  end

  it("that close it: bind raises ERR_SOCKET_DGRAM_NOT_RUNNING, 'close' once, no descriptor "
    .. "left open", function()
      local fds = H.open_fds()
      local s = H.socket("udp4")
      local n = count_events(s, "close", "listening", "error")
      H.raises("ERR_SOCKET_DGRAM_NOT_RUNNING", s.bind, s, options(function()
        s:close()
        return 0
      end))
      H.run(1000)
      assert.same({ close = 1, listening = 0, error = 0 }, n)
      assert.equals(fds, H.open_fds())
    end)

  it("that bind it: bind raises ERR_SOCKET_ALREADY_BOUND; the socket is bound once and kept "
    .. "alive while it receives, with no reference left to it", function()
      local got, closed, listening, port = nil, false, 0, nil
      do
        local s = H.dgram.createSocket("udp4") -- not H.socket: no reference kept
        s:on("listening", function()
          listening = listening + 1
          port = s:address().port
        end)
        s:on("message", function(msg)
          got = msg
          s:close()
        end)
        s:on("close", function() closed = true end)
        H.raises("ERR_SOCKET_ALREADY_BOUND", s.bind, s, options(function()
          s:bind(0, "127.0.0.1")
          return 0
        end))
      end
      H.run_until(2000, function() return port ~= nil end)
      collectgarbage("collect") -- an unanchored socket would be collected here
      collectgarbage("collect")
      local c = H.socket("udp4")
      c:send("still here", port, "127.0.0.1")
      H.run_until(2000, function() return closed end)
      assert.equals(1, listening)
      assert.equals("still here", got)
      assert.is_true(closed)
    end)

  it("that send on it: bind raises ERR_SOCKET_ALREADY_BOUND; the send's datagram arrives and "
    .. "its callback runs once", function()
      local r, port = H.bound("udp4")
      local got = {}
      r:on("message", function(msg) got[#got + 1] = msg end)
      local s = H.socket("udp4")
      local n = count_events(s, "listening", "error")
      local results = {}
      H.raises("ERR_SOCKET_ALREADY_BOUND", s.bind, s, options(function()
        s:send("from __index", port, "127.0.0.1", function(err, bytes)
          results[#results + 1] = err and err.code or bytes
        end)
        return 0
      end))
      H.run_until(2000, function() return #got > 0 and #results > 0 end)
      H.quiet(50)
      assert.same({ "from __index" }, got)
      assert.same({ #"from __index" }, results)
      assert.same({ listening = 1, error = 0 }, n)
    end)
end)

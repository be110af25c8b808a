-- Helpers that exchange datagrams between the sockets of one test; spec/helper.lua loads
-- this file, so specs use them as H.name after `local H = require("helper")`.
local H = require("helper")
local assert = require("luassert")
local dgram = H.dgram

-- A fresh socket connected to `port` (`address` may be nil) once its connect callback ran.
function H.connected_client(kind, port, address)
  local c = H.socket(kind or "udp4")
  local done, failure = false, nil
  c:connect(port, address, function(err) done, failure = true, err end)
  assert.is_true(H.run_until(2000, function() return done end), "connect never completed")
  assert.is_nil(failure)
  return c
end

-- A socket bound to loopback (H.bound) that records what it receives in `got` as
-- { msg =, rinfo = }; returns the socket, its port, `got` and its host.
function H.listener(kind, opts)
  local s, port, host = H.bound(kind or "udp4", opts)
  local got = {}
  s:on("message", function(msg, rinfo) got[#got + 1] = { msg = msg, rinfo = rinfo } end)
  return s, port, got, host
end

-- The payloads of a H.listener's `got`, in order.
function H.texts(got)
  local t = {}
  for i, m in ipairs(got) do t[i] = m.msg end
  return t
end

-- A port that was free a moment ago (bound on loopback, closed, 'close' emitted).
function H.free_port(kind)
  local s, port = H.bound(kind or "udp4")
  s:close()
  H.quiet(10)
  return port
end

-- s:send(msg, port, host, cb) and runs the loop until cb; returns cb's err, bytes.
function H.send_wait(s, msg, port, host)
  local done, res = false, nil
  s:send(msg, port, host, function(err, n)
    done, res = true, { err, n }
  end)
  H.run_until(3000, function() return done end)
  assert(done, "the send callback did not run")
  return res[1], res[2]
end

-- Receive buffers big enough for a few hundred datagrams sent before the receiver reads
-- (the kernel caps the request at net.core.rmem_max, then doubles it).
H.RCVBUF = 1024 * 1024

-- A socket bound to loopback with a receive buffer of H.RCVBUF; returns it, its port, its
-- host and the list of the payloads it receives.
function H.receiver(kind)
  local r, port, host = H.bound(kind or "udp4", { recvBufferSize = H.RCVBUF })
  local got = {}
  r:on("message", function(msg) got[#got + 1] = msg end)
  return r, port, host, got
end

-- Datagram i of `size` bytes: its number first, then a letter that changes with i, so a
-- datagram cut at the wrong place or swapped with another does not compare equal.
function H.body(i, size)
  local head = i .. ":"
  if size < #head then return string.char(i % 256):rep(size) end
  return head .. string.char(97 + i % 26):rep(size - #head)
end

local in_turn_fn = false -- true while H.in_turn's fn runs

-- Runs fn from a callback (inside dgram.run), so its sends are one loop turn's.
function H.in_turn(fn)
  local ran = false
  dgram.nextTick(function()
    in_turn_fn = true
    local ok, err = pcall(fn)
    in_turn_fn = false
    if not ok then error(err, 0) end
    ran = true
  end)
  assert.is_true(H.run_until(2000, function() return ran end), "the tick did not run")
end

-- A send callback that stores its arguments in t[i], and in t[i].sync whether it ran
-- during the H.in_turn turn that sent (it must come on a later one).
function H.turn_recorder(t, i)
  return function(...)
    t[i] = table.pack(...)
    t[i].sync = in_turn_fn
  end
end

-- A bound `kind` socket (at `address`) whose multicast datagrams loop back to this host.
function H.multicast_sender(kind, address)
  local s = H.socket(kind or "udp4")
  s:bind(0, address)
  assert.is_true(s:setMulticastLoopback(true))
  return s
end

-- H.connected_client for a udp4 socket.
function H.connected_client4(port, address) return H.connected_client("udp4", port, address) end

-- Sends each string of `msgs` from a fresh tracked udp4 client to 127.0.0.1:port; closes
-- the client and calls on_done() (if any) once every send callback ran.
function H.send_all(port, msgs, on_done)
  local client = H.socket("udp4")
  local left = #msgs
  for _, m in ipairs(msgs) do
    client:send(m, port, "127.0.0.1", function(err)
      assert(err == nil, tostring(err))
      left = left - 1
      if left == 0 then
        client:close()
        if on_done then on_done() end
      end
    end)
  end
  return client
end

-- Inside a spawned coroutine: sends each string of `msgs` in turn with sendAsync from a
-- fresh tracked udp4 client to 127.0.0.1:port, then closes the client.
function H.send_all_async(port, msgs)
  local client = H.socket("udp4")
  for i, m in ipairs(msgs) do
    local n, err = client:sendAsync(m, port, "127.0.0.1")
    assert(n == #m, ("send %d: %s"):format(i, tostring(err)))
  end
  client:close()
end

-- A datagram sender and a receiver on loopback. `fn(client, port, t)` sends; `t.cb()`
-- builds a send callback that records its arguments (and whether `send` had returned).
-- Both sockets are closed once the receiver has `nmsg` datagrams and `ncb` callbacks
-- ran; `t.msgs`, `t.infos`, `t.cbs` hold what was seen.
function H.exchange(kind, nmsg, ncb, fn)
  local server, port = H.bound(kind)
  local client = H.socket(kind)
  local t = { msgs = {}, infos = {}, cbs = {}, errors = {}, client = client, server = server }
  local done = false
  local function check()
    if not done and #t.msgs >= nmsg and #t.cbs >= ncb then
      done = true
      server:close()
      client:close()
    end
  end
  server:on("message", function(msg, rinfo)
    t.msgs[#t.msgs + 1] = msg
    t.infos[#t.infos + 1] = rinfo
    -- the sender is bound by now, however it got bound: its port, for rinfo checks
    if not done then t.cport = client:address().port end
    check()
  end)
  client:on("error", function(err) t.errors[#t.errors + 1] = err end)
  function t.cb()
    local box = { returned = false }
    local function cb(...)
      t.cbs[#t.cbs + 1] = table.pack(...)
      t.cbs[#t.cbs].sync = not box.returned
      check()
    end
    return cb, function() box.returned = true end
  end
  -- send via `client:send(...)` with a recording callback appended; marks the return.
  function t.send(...)
    local cb, returned = t.cb()
    local args = table.pack(...)
    args[args.n + 1] = cb
    client:send(table.unpack(args, 1, args.n + 1))
    returned()
  end
  -- same, the callback not last but where `at` says (for the long forms with nil holes).
  function t.send_at(at, ...)
    local cb, returned = t.cb()
    local args = table.pack(...)
    args[at] = cb
    client:send(table.unpack(args, 1, math.max(args.n, at)))
    returned()
  end
  fn(client, port, t)
  check()
  H.run(2000)
  return t
end

-- One successful callback: (nil, bytes), not run inside send.
function H.assert_cb_ok(c, bytes)
  assert.is_nil(c[1], c[1] and tostring(c[1]))
  assert.equals(bytes, c[2])
  assert.equals("integer", math.type(c[2]))
  assert.is_false(c.sync, "the callback ran inside send")
end

-- Binds `s` and runs the loop until 'listening' (returns nil) or 'error' (returns it).
function H.bind_wait(s, port, address)
  local listening, failure = false, nil
  local function onerror(err) failure = err end
  s:on("error", onerror)
  s:bind(port, address, function() listening = true end)
  H.run_until(2000, function() return listening or failure ~= nil end)
  s:off("error", onerror)
  assert.is_true(listening or failure ~= nil, "neither 'listening' nor 'error'")
  return failure
end

-- Binds `s` with the given arguments; runs the loop until 'listening' (then closes
-- it) and returns what address() said inside 'listening', and how often it fired.
function H.bind_and_listen(s, ...)
  local seen, count = nil, 0
  s:on("listening", function()
    count = count + 1
    seen = s:address()
    s:close()
  end)
  s:bind(...)
  H.run(2000)
  return seen, count
end

-- A `lookup` option for tests: "example.test" is loopback (127.0.0.1 or ::1 by family),
-- any other name is handed back as it is (IP literals stay literals). Each call is
-- recorded in `calls`; with `delay`, the answer comes from a timer instead of at once.
function H.fake_lookup(calls, delay)
  return function(host, family, cb)
    calls[#calls + 1] = { host = host, family = family, cb = type(cb) }
    local ip = host
    if host == "example.test" then ip = family == 6 and "::1" or "127.0.0.1" end
    if delay then
      dgram.setTimeout(delay, function() cb(nil, ip, family) end)
    else
      cb(nil, ip, family)
    end
  end
end

-- The first call recorded by H.fake_lookup for `host`, or nil.
function H.find_call(calls, host)
  for _, c in ipairs(calls) do
    if c.host == host then return c end
  end
  return nil
end

-- A `lookup` option that answers IP literals with themselves, "localhost" with loopback
-- and anything else with ENOTFOUND (so no real name is ever resolved).
function H.local_lookup(calls)
  return function(host, family, cb)
    if calls then calls[#calls + 1] = { host = host, family = family } end
    if host == "localhost" then
      cb(nil, family == 6 and "::1" or "127.0.0.1", family)
    elseif host:match("^[%d%.]+$") then
      cb(nil, host, 4)
    elseif host:find(":", 1, true) then
      cb(nil, host, 6)
    else
      cb({ code = "ENOTFOUND", message = "getaddrinfo ENOTFOUND " .. host,
           syscall = "getaddrinfo", hostname = host })
    end
  end
end

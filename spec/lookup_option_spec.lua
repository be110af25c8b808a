-- The createSocket `lookup` option: used by bind, connect and send, its answers,
-- errors and misuse.
local H = require("helper")
local raises, run_until, quiet, dgram = H.raises, H.run_until, H.quiet, H.dgram
local listener, texts, bind_wait, fake_lookup = H.listener, H.texts, H.bind_wait, H.fake_lookup
local find_call, local_lookup = H.find_call, H.local_lookup

local LO4, LO6 = "127.0.0.1", "::1"

describe("the lookup option", function()
  after_each(H.cleanup)

  it("bind resolves through lookup(host, 4, cb) and binds the address it gives", function()
    local calls = {}
    local s = H.socket({ type = "udp4", lookup = fake_lookup(calls) })
    local bound
    s:bind(0, "example.test", function() bound = s:address() end)
    run_until(2000, function() return bound ~= nil end)
    assert.equals(LO4, bound.address)
    assert.same({ { host = "example.test", family = 4, cb = "function" } }, calls)
  end)

  it("send resolves through lookup(host, 4, cb) and sends to the address it gives",
    function()
      local _, port, got = listener("udp4")
      local calls = {}
      local c = H.socket({ type = "udp4", lookup = fake_lookup(calls) })
      local res
      c:send("via lookup", port, "example.test", function(err, n) res = { err, n } end)
      run_until(2000, function() return res ~= nil and #got > 0 end)
      assert.same({ nil, 10 }, res)
      assert.same({ "via lookup" }, texts(got))
      assert.same({ host = "example.test", family = 4, cb = "function" },
        find_call(calls, "example.test"))
      for _, call in ipairs(calls) do
        assert.equals(4, call.family)
        assert.equals("function", call.cb)
      end
    end)

  it("connect resolves through lookup(host, 4, cb)", function()
    local _, port, got = listener("udp4")
    local calls = {}
    local c = H.socket({ type = "udp4", lookup = fake_lookup(calls) })
    local done = false
    c:connect(port, "example.test", function(err)
      assert.is_nil(err)
      done = true
    end)
    run_until(2000, function() return done end)
    assert.same({ address = LO4, family = "IPv4", port = port }, c:remoteAddress())
    assert.same({ host = "example.test", family = 4, cb = "function" },
      find_call(calls, "example.test"))
    c:send("connected via lookup")
    run_until(2000, function() return #got > 0 end)
    assert.same({ "connected via lookup" }, texts(got))
  end)

  it("a udp6 socket's lookup gets family 6", function()
    local _, port, got = listener("udp6")
    local calls = {}
    local c = H.socket({ type = "udp6", lookup = fake_lookup(calls) })
    c:bind(0, "example.test")
    c:send("six", port, "example.test")
    run_until(2000, function() return #got > 0 end)
    assert.same({ "six" }, texts(got))
    assert.equals(LO6, got[1].rinfo.address)
    assert.is_true(#calls >= 2)
    for _, call in ipairs(calls) do
      assert.equals(6, call.family)
      assert.equals("example.test", call.host)
    end
  end)

  it("a custom lookup sees IP literals too, as Node's does", function()
    local _, port, got = listener("udp4")
    local calls = {}
    local c = H.socket({ type = "udp4", lookup = fake_lookup(calls) })
    c:bind(0, LO4)
    c:send("literal", port, LO4)
    run_until(2000, function() return #got > 0 end)
    assert.same({ { host = LO4, family = 4, cb = "function" },
      { host = LO4, family = 4, cb = "function" } }, calls)
  end)

  it("an answer given later (from a timer) works for bind, connect and send", function()
    local _, port, got = listener("udp4")
    local calls = {}
    local c = H.socket({ type = "udp4", lookup = fake_lookup(calls, 20) })
    local steps = {}
    c:bind(0, "example.test", function()
      steps[#steps + 1] = "listening " .. c:address().address
      c:connect(port, "example.test", function(err)
        steps[#steps + 1] = "connect " .. tostring(err)
        c:send("later", function(e) steps[#steps + 1] = "sent " .. tostring(e) end)
      end)
    end)
    run_until(3000, function() return #steps >= 3 and #got > 0 end)
    assert.same({ "listening 127.0.0.1", "connect nil", "sent nil" }, steps)
    assert.same({ "later" }, texts(got))
  end)

  it("an answer given at once still calls the send callback later", function()
    local _, port, got = listener("udp4")
    local c = H.socket({ type = "udp4", lookup = fake_lookup({}) })
    assert.is_nil(bind_wait(c, 0, LO4))
    local res
    c:send("sync", port, "example.test", function(err, n) res = { err, n } end)
    assert.is_nil(res, "the send callback ran inside send")
    run_until(2000, function() return res ~= nil and #got > 0 end)
    assert.same({ nil, 4 }, res)
  end)

  it("an error from lookup goes to the send callback, as it is", function()
    local _, port, got = listener("udp4")
    local nf = dgram.core.error("ENOTFOUND", "getaddrinfo ENOTFOUND nowhere.test")
    local c = H.socket({
      type = "udp4",
      lookup = function(host, family, cb)
        if host == "nowhere.test" then cb(nf) else cb(nil, host, family) end
      end,
    })
    local errors = {}
    c:on("error", function(err) errors[#errors + 1] = err end)
    local res
    c:send("lost", port, "nowhere.test", function(...) res = table.pack(...) end)
    assert.is_nil(res)
    run_until(2000, function() return res ~= nil end)
    quiet(50)
    assert.equals(nf, res[1])
    assert.equals("ENOTFOUND", res[1].code)
    assert.same({}, errors)
    assert.same({}, got)
  end)

  it("an error from lookup without a send callback is emitted as 'error'", function()
    local nf = dgram.core.error("ENOTFOUND", "getaddrinfo ENOTFOUND nowhere.test")
    local c = H.socket({
      type = "udp4",
      lookup = function(host, family, cb)
        if host == "nowhere.test" then
          dgram.setTimeout(5, function() cb(nf) end)
        else
          cb(nil, host, family)
        end
      end,
    })
    local errors = {}
    c:on("error", function(err) errors[#errors + 1] = err end)
    c:send("lost", 9, "nowhere.test")
    run_until(2000, function() return #errors > 0 end)
    quiet(30)
    assert.equals(1, #errors)
    assert.equals(nf, errors[1])
  end)

  it("an error from lookup fails connect (to its callback); the socket stays unconnected",
    function()
      local _, port = listener("udp4")
      local fail = true
      local nf = dgram.core.error("ENOTFOUND", "getaddrinfo ENOTFOUND nowhere.test")
      local c = H.socket({
        type = "udp4",
        lookup = function(host, family, cb)
          if host == "nowhere.test" and fail then cb(nf) else cb(nil, LO4, family) end
        end,
      })
      local events = {}
      c:on("connect", function() events[#events + 1] = "connect" end)
      c:on("error", function(err) events[#events + 1] = "error " .. tostring(err.code) end)
      local res
      c:connect(port, "nowhere.test", function(...) res = table.pack(...) end)
      run_until(2000, function() return res ~= nil end)
      quiet(30)
      assert.equals(nf, res[1])
      assert.same({}, events)
      raises("ERR_SOCKET_DGRAM_NOT_CONNECTED", c.remoteAddress, c)
      fail = false
      local done = false
      c:connect(port, "nowhere.test", function(err)
        assert.is_nil(err)
        done = true
      end)
      run_until(2000, function() return done end)
      assert.equals(port, c:remoteAddress().port)
    end)

  it("an error from lookup fails connect as 'error' when there is no callback", function()
    local nf = dgram.core.error("ENOTFOUND", "getaddrinfo ENOTFOUND nowhere.test")
    local c = H.socket({
      type = "udp4",
      lookup = function(host, family, cb)
        if host == "nowhere.test" then cb(nf) else cb(nil, host, family) end
      end,
    })
    local errors = {}
    c:on("error", function(err) errors[#errors + 1] = err end)
    c:connect(9, "nowhere.test")
    run_until(2000, function() return #errors > 0 end)
    assert.equals(nf, errors[1])
    raises("ERR_SOCKET_DGRAM_NOT_CONNECTED", c.remoteAddress, c)
  end)

  it("a second call of lookup's callback is ignored (sync)", function()
    local _, port, got = listener("udp4")
    local c = H.socket({
      type = "udp4",
      lookup = function(host, family, cb)
        local ip = host == "example.test" and LO4 or host
        cb(nil, ip, family)
        cb(nil, ip, family)
      end,
    })
    local calls, listening = 0, 0
    c:on("listening", function() listening = listening + 1 end)
    c:send("once", port, "example.test", function() calls = calls + 1 end)
    run_until(2000, function() return calls > 0 and #got > 0 end)
    quiet(100)
    assert.equals(1, calls)
    assert.equals(1, listening)
    assert.same({ "once" }, texts(got))
  end)

  it("a second call of lookup's callback is ignored (error first, later answer)", function()
    local _, port, got = listener("udp4")
    local nf = dgram.core.error("ENOTFOUND", "getaddrinfo ENOTFOUND example.test")
    local c = H.socket({
      type = "udp4",
      lookup = function(host, family, cb)
        if host ~= "example.test" then return cb(nil, host, family) end
        cb(nf)
        dgram.setTimeout(10, function() cb(nil, LO4, family) end)
      end,
    })
    local results = {}
    c:send("never", port, "example.test", function(err) results[#results + 1] = err or "ok" end)
    run_until(2000, function() return #results > 0 end)
    quiet(100)
    assert.same({ nf }, results)
    assert.same({}, got)
  end)

  it("an address lookup gives that is not an IP fails the send with a system error",
    function()
      local c = H.socket({
        type = "udp4",
        lookup = function(host, family, cb)
          cb(nil, host == "bogus.test" and "not-an-ip" or host, family)
        end,
      })
      local res
      c:send("x", 9, "bogus.test", function(err) res = err or "ok" end)
      run_until(2000, function() return res ~= nil end)
      assert.equals("table", type(res))
      assert.equals("EINVAL", res.code)
      -- the socket keeps working
      local _, port, got = listener("udp4")
      c:send("fine", port, LO4)
      run_until(2000, function() return #got > 0 end)
      assert.same({ "fine" }, texts(got))
    end)

  for _, bad in ipairs({ "lookup", 42, true, {} }) do
    it(("lookup = %s (%s) raises ERR_INVALID_ARG_TYPE"):format(tostring(bad), type(bad)),
      function()
        raises("ERR_INVALID_ARG_TYPE", dgram.createSocket, { type = "udp4", lookup = bad })
        raises("ERR_INVALID_ARG_TYPE", dgram.createSocket, { type = "udp6", lookup = bad })
      end)
  end
end)

describe("the lookup option (Node's test-dgram-* cases)", function()
  after_each(H.cleanup)

  it("test-dgram-custom-lookup: lookup is called by bind(); non-functions raise", function()
    local calls = {}
    local s = H.socket({ type = "udp4", lookup = local_lookup(calls) })
    local listening = false
    s:bind(function() listening = true end)
    assert.is_true(run_until(2000, function() return listening end))
    assert.equals(1, #calls)
    assert.equals("0.0.0.0", calls[1].host)
    assert.equals(4, calls[1].family)
    for _, bad in ipairs({ true, false, 0, 1, 0 / 0, "", "foo", {} }) do
      local err = raises("ERR_INVALID_ARG_TYPE", dgram.createSocket,
        { type = "udp4", lookup = bad })
      assert.is_truthy(err.message:find('"lookup"', 1, true), err.message)
    end
  end)
end)

-- Strict addresses where a regression would reach a network, so inside a private network
-- namespace (spec/run.sh): multicast calls whose address has an embedded NUL raise
-- ERR_INVALID_ARG_VALUE (libuv would cut it and join the group), and host names no DNS
-- could hold (a space, an empty or 64-character label, a slash, 254+ characters) fail as
-- Node's resolver fails for a name that does not exist, with ENOTFOUND from getaddrinfo,
-- without a nameserver being asked (stand-ins for /etc/resolv.conf's count the queries).
local H = require("helper")
local run_until, quiet = H.run_until, H.quiet

local problem = H.netns_problem()

-- Stands in for the nameservers of /etc/resolv.conf inside this namespace: each query
-- that reaches one is counted in `queries` and answered NXDOMAIN at once. Returns
-- queries and a function that removes the addresses it added to lo.
local function fake_nameservers()
  local servers = {}
  local f = io.open("/etc/resolv.conf")
  for line in (f and f:lines() or function() end) do
    local ns = line:match("^%s*nameserver%s+([%x%.:]+)%s*$")
    if ns then servers[#servers + 1] = ns end
  end
  if f then f:close() end
  if #servers == 0 then servers[1] = "127.0.0.1" end -- glibc's default
  local queries, added = {}, {}
  for _, ns in ipairs(servers) do
    local v6 = ns:find(":", 1, true) ~= nil
    local cidr = ns .. (v6 and "/128" or "/32")
    if H.execute("ip addr add " .. cidr .. " dev lo 2>/dev/null") then added[#added + 1] = cidr end
    local s = H.socket(v6 and "udp6" or "udp4")
    s:on("message", function(msg, rinfo)
      queries[#queries + 1] = msg
      if #msg > 12 then -- the same id and question, flags: response, NXDOMAIN
        s:send(msg:sub(1, 2) .. "\x81\x83" .. msg:sub(5, 6) .. ("\0"):rep(6) .. msg:sub(13),
          rinfo.port, rinfo.address)
      end
    end)
    local listening = false
    s:bind(53, ns, function() listening = true end)
    run_until(2000, function() return listening end)
    assert(listening, "could not listen on " .. ns .. ":53")
  end
  return queries, function()
    for _, cidr in ipairs(added) do H.execute("ip addr del " .. cidr .. " dev lo 2>/dev/null") end
  end
end

local impossible = {
  "no such.host", "a..b", ".leading.dot", "trailing.dot..", "a/b", "127.0.0.1 ",
  " 127.0.0.1", "tab\there", "semi;colon", ("x"):rep(64) .. ".test",
  ("abcdefghi."):rep(26) .. "test", "under:colon",
}

describe("impossible host names with the built-in resolver", function()
  after_each(H.cleanup)

  for _, host in ipairs(impossible) do
    it(("send to %q fails with ENOTFOUND (getaddrinfo), later, and nothing is sent")
      :format(host), function()
      if problem then
        pending(problem)
        return
      end
      local queries, undo = fake_nameservers()
      finally(undo)
      local _, port, got = H.listener("udp4")
      local c = H.socket("udp4")
      local ran, err = 0, nil
      c:send("x", port, host, function(e)
        ran = ran + 1
        err = e
      end)
      assert.equals(0, ran) -- never inside send
      run_until(3000, function() return ran > 0 end)
      quiet(30)
      assert.equals(1, ran)
      assert.equals("ENOTFOUND", err and err.code)
      assert.equals("getaddrinfo", err.syscall)
      assert.equals(host, err.hostname)
      assert.equals("getaddrinfo ENOTFOUND " .. host, err.message)
      assert.same({}, got)
      assert.equals(0, c:stats().sent)
      assert.equals(0, #queries, "the system resolver asked a nameserver")
    end)
  end

  it("connect and bind to an impossible name fail with ENOTFOUND too", function()
    if problem then
      pending(problem)
      return
    end
    local queries, undo = fake_nameservers()
    finally(undo)
    local c = H.socket("udp4")
    local cerr
    c:connect(9, "no such.host", function(e) cerr = e end)
    local b = H.socket("udp4")
    local berr
    b:on("error", function(e) berr = e end)
    b:bind(0, "a..b")
    run_until(3000, function() return cerr ~= nil and berr ~= nil end)
    assert.equals("ENOTFOUND", cerr and cerr.code)
    assert.equals("ENOTFOUND", berr and berr.code)
    assert.equals(0, #queries, "the system resolver asked a nameserver")
  end)
end)

describe("strict addresses: multicast calls", function()
  after_each(H.cleanup)

  local calls = {
    { "addMembership", { "224.0.0.114\0junk" } },
    { "addMembership", { "224.0.0.114", "127.0.0.1\0junk" } },
    { "dropMembership", { "224.0.0.114\0" } },
    { "addSourceSpecificMembership", { "127.0.0.1\0x", "232.1.1.1" } },
    { "addSourceSpecificMembership", { "127.0.0.1", "232.1.1.1\0x" } },
    { "dropSourceSpecificMembership", { "127.0.0.1", "232.1.1.1", "127.0.0.1\0x" } },
    { "setMulticastInterface", { "127.0.0.1\0junk" } },
  }
  for _, call in ipairs(calls) do
    local shown = {}
    for i, a in ipairs(call[2]) do shown[i] = ("%q"):format(a) end
    it(("%s(%s) raises ERR_INVALID_ARG_VALUE; the socket is as it was"):format(call[1],
      table.concat(shown, ", ")), function()
      if problem then
        pending(problem)
        return
      end
      local s = H.socket("udp4")
      if call[1] == "setMulticastInterface" or call[1]:match("^drop") then
        s:bind(0, "127.0.0.1")
        run_until(2000, function() return pcall(s.address, s) end)
      end
      local bound = pcall(s.address, s)
      H.raises("ERR_INVALID_ARG_VALUE", s[call[1]], s, table.unpack(call[2]))
      assert.equals(bound, (pcall(s.address, s)))
    end)
  end
end)

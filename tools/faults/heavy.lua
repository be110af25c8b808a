-- The fault cases that need more than a route: loss made by nft (`numgen random`),
-- descriptors exhausted (EMFILE, in a child process under `ulimit -n`), and a full libuv
-- send queue (a tiny send buffer behind a slow `tbf` queueing discipline on lo). Same
-- result shape as cases.lua; inside a private network namespace only.
local U = require("looputil")
local C = require("faults.cases")

local H = {}

local function has(cmd)
  return C.sh("command -v " .. cmd)
end

-- 30% of the requests to an echo server dropped by nft; a client in coroutine style
-- retries each request with recv(timeout) until its answer came: all complete.
function H.loss(dgram, o)
  o = o or {}
  if not has("nft") then
    return { name = "30% loss (nft numgen random)", skipped = "nft is not installed " ..
      "(sh tools/deps.sh nftables)" }
  end
  local server, port = U.bound(dgram)
  server:on("message", function(msg, rinfo)
    server:send("re:" .. msg, rinfo.port, rinfo.address)
  end)
  assert(C.sh("nft add table inet dgramfaults && nft add chain inet dgramfaults input " ..
    "'{ type filter hook input priority 0; }' && nft add rule inet dgramfaults input " ..
    "udp dport " .. port .. " numgen random mod 100 '<' 30 drop"), "nft rules refused")
  local n, timeout = o.requests or 300, o.timeout or 30
  local done, retries, failed = 0, 0, 0
  local client = U.bound(dgram)
  local finished = false
  dgram.spawn(function()
    for i = 1, n do
      local want, ok = "re:" .. i, false
      for attempt = 1, 20 do
        if attempt > 1 then retries = retries + 1 end
        client:send(tostring(i), port, "127.0.0.1")
        local deadline = dgram.now() + timeout
        repeat -- a late answer to an earlier try of this request may come first
          local msg, err = client:recv(math.max(1, math.ceil(deadline - dgram.now())))
          if msg == want then ok = true end
        until ok or err or dgram.now() >= deadline
        if ok then break end
      end
      if ok then done = done + 1 else failed = failed + 1 end
    end
    finished = true
  end)
  U.run_until(dgram, o.seconds or 60, function() return finished end)
  C.sh("nft delete table inet dgramfaults")
  client:close()
  server:close()
  dgram.run("nowait")
  local loss = retries / (n + retries)
  return { name = "30% loss (nft numgen random) with recv(timeout) retries",
           expected = "all complete", outcome = done == n and "all complete" or
             ("%d of %d complete"):format(done, n),
           ok = done == n and finished, usable = true,
           detail = ("%d requests, %d retries, observed loss %.0f%%"):format(n, retries,
             loss * 100), retries = retries, loss = loss }
end

-- A send queue that fills: lo shaped to 10 Mbit/s by tbf, a 4 KB send buffer and a burst
-- of datagrams: the kernel says EAGAIN, libuv queues (getSendQueueCount > 0), every
-- callback runs once, the queue drains to 0, everything arrives.
function H.send_queue(dgram, o)
  o = o or {}
  if not C.sh("tc qdisc replace dev lo root tbf rate 10mbit burst 5kb latency 2s") then
    return { name = "full libuv send queue", skipped = "tc tbf refused on lo" }
  end
  local n, size = o.count or 300, o.size or 1000
  local server, port = U.bound(dgram)
  local got = 0
  server:on("message", function() got = got + 1 end)
  local client = U.bound(dgram, { sendBufferSize = 4096 })
  local calls, errors, twice, peak_count, peak_size = {}, 0, 0, 0, 0
  local payload = ("q"):rep(size)
  for i = 1, n do
    client:send(payload, port, "127.0.0.1", function(err)
      calls[i] = (calls[i] or 0) + 1
      if calls[i] > 1 then twice = twice + 1 end
      if err then errors = errors + 1 end
    end)
    peak_count = math.max(peak_count, client:getSendQueueCount())
    peak_size = math.max(peak_size, client:getSendQueueSize())
  end
  local ran = function()
    local k = 0
    for _ in pairs(calls) do k = k + 1 end
    return k
  end
  U.run_until(dgram, o.seconds or 20, function() return ran() == n and got == n end)
  local left = client:getSendQueueCount()
  local after = pcall(client.send, client, "after", port, "127.0.0.1")
  U.run_until(dgram, 2, function() return got == n + 1 end)
  local is_usable = after and got == n + 1
  C.sh("tc qdisc del dev lo root")
  client:close()
  server:close()
  dgram.run("nowait")
  local outcome = (peak_count > 0 and "queued" or "never queued") ..
    (ran() == n and twice == 0 and ", every callback once" or ", callbacks missing") ..
    (left == 0 and ", drained" or ", not drained") ..
    (got >= n and ", all delivered" or (", %d of %d delivered"):format(got, n))
  return { name = "full libuv send queue (tbf on lo, 4 KB send buffer)",
           expected = "queued, every callback once, drained, all delivered",
           outcome = outcome, usable = is_usable,
           ok = outcome == "queued, every callback once, drained, all delivered" and is_usable,
           detail = ("%d sends of %d bytes: queue peak %d datagrams / %d bytes, %d errors")
             :format(n, size, peak_count, peak_size, errors), peak = peak_count }
end

-- Descriptors exhausted (a child under `ulimit -n 64` opens /dev/null until it cannot):
-- a new socket fails with an error object EMFILE; a send whose implicit bind fails gets
-- its callback once with EMFILE (item 4 of issue 10); once descriptors are free again the
-- same socket sends.
function H.emfile()
  -- the sanitizers (make asan) are for the Lua under test only, not for sh
  local cmd = ("env -u LD_PRELOAD sh -c 'ulimit -n 64 && exec env LD_PRELOAD=%s %s " ..
    "tools/faults/emfile_child.lua'"):format(os.getenv("LD_PRELOAD") or "",
    os.getenv("LUA") or "lua5.4")
  local p = io.popen(cmd)
  local out = p:read("*a")
  p:close()
  local new = out:match("new|([^\n]*)") or "child failed: " .. out
  local sent, calls, code, errors = out:match("send|(%a+)|(%d+)|([^|]*)|([^\n]*)")
  local after = out:match("after|(%a+)") == "true"
  local send_outcome = sent == "true" and ("callbacks %s (%s)"):format(calls, code) or
    "send raised"
  return {
    { name = "a new socket with no descriptor left", expected = "EMFILE",
      outcome = (new:match("EMFILE") and "EMFILE") or new,
      ok = new:match("EMFILE") ~= nil, usable = after, detail = new },
    { name = "a send whose implicit bind gets EMFILE", expected = "callbacks 1 (EMFILE)",
      outcome = send_outcome, ok = send_outcome == "callbacks 1 (EMFILE)", usable = after,
      detail = "'error' events: " .. tostring(errors), item = "item 4" },
  }
end

return H

-- A message of 4 GiB + 10 bytes is never cast to 32 bits (issue: a 10-byte datagram
-- reported as sent). Slow and memory-hungry (~4.1 GiB, up to a minute): not in `make
-- test`; `make slow-specs` (and `make faults`) run it.
local H = require("helper")

-- MemAvailable from /proc/meminfo, in bytes (0 when unknown).
local function available_memory()
  local f = io.open("/proc/meminfo")
  local text = f and f:read("*a") or ""
  if f then f:close() end
  return (tonumber(text:match("MemAvailable:%s*(%d+) kB")) or 0) * 1024
end

describe("a message of 4 GiB + 10 bytes (child lua5.4, ~4.1 GiB of memory)", function()
  after_each(H.cleanup)

  -- A machine without the memory reports it as pending, with the reason.
  local need = 8 * 2 ^ 30
  local why = available_memory() < need and
    ("needs %d GiB of available memory"):format(need // 2 ^ 30)
  local test = why and pending or it
  test("fails with EMSGSIZE whole, sliced, in an array and waiting for the bind; never as a "
    .. "10-byte datagram; a 10-byte slice at offset 2^32 is sent right"
    .. (why and " (skipped: " .. why .. ")" or ""), function()
      local r, port = H.bound("udp4")
      local got = {}
      r:on("message", function(msg) got[#got + 1] = msg end)
      local ok, out = H.child([[
        local dgram = require("dgram")
        local port = tonumber(arg[1])
        -- 64 MiB, then 64 of them and 10 bytes in one concatenation (one allocation)
        local h = ("0123456789abcdef"):rep(4 * 2 ^ 20)
        local big = load("local h = ... return " .. ("h .. "):rep(64) .. "'0123456789'")(h)
        h = nil
        collectgarbage()
        assert(#big == 2 ^ 32 + 10)
        local res = {}
        local function cb(name)
          return function(err, n) res[#res + 1] = name .. " " .. (err and err.code or n) end
        end
        local s = dgram.createSocket("udp4")
        s:bind(0, "127.0.0.1", function()
          s:send(big, port, "127.0.0.1", cb("whole"))
          s:send(big, 0, #big, port, "127.0.0.1", cb("slice"))
          s:send({ "ab", big }, port, "127.0.0.1", cb("array"))
          s:send(big, 2 ^ 32, 10, port, "127.0.0.1", cb("tail"))
          s:send(big, port, "127.0.0.1") -- no callback: 'error'
        end)
        s:on("error", function(err) res[#res + 1] = "error " .. err.code end)
        local u = dgram.createSocket("udp4") -- unbound: the send waits for the bind
        u:send(big, 1, #big - 1, port, "127.0.0.1", cb("waiting"))
        local t = dgram.setTimeout(5000, function() s:close() u:close() end)
        while #res < 6 and dgram.run("once") do end
        dgram.clearTimeout(t)
        table.sort(res)
        print(table.concat(res, "\n"))
      ]], 300, port)
      assert.is_true(ok, out)
      assert.equals(table.concat({ "array EMSGSIZE", "error EMSGSIZE", "slice EMSGSIZE",
        "tail 10", "waiting EMSGSIZE", "whole EMSGSIZE" }, "\n") .. "\n", out)
      H.run_until(2000, function() return #got > 0 end)
      H.quiet(50)
      assert.same({ "0123456789" }, got)
    end)
end)

-- Messages longer than a UDP datagram can be fail with EMSGSIZE (to the callback, or as
-- 'error'), whatever their form: libuv takes 32-bit lengths, so a length is judged before
-- any cast could make a 4 GiB + 10 byte message a 10-byte datagram.
local H = require("helper")

local UDP_MAX = 65535 - 8 -- the largest UDP payload (IPv6; IPv4's is 65507)

-- Sends with a callback from a bound socket of `kind` and returns the callback's result:
-- the error's code (and the error) or the byte count.
local function send_result(kind, ...)
  local s = H.bound(kind)
  local result, err
  local args = table.pack(...)
  args[args.n + 1] = function(e, bytes)
    err = e
    result = e and e.code or bytes
  end
  s:send(table.unpack(args, 1, args.n + 1))
  H.run_until(2000, function() return result ~= nil end)
  return result, err
end

describe("a message longer than a UDP datagram", function()
  after_each(H.cleanup)

  for _, kind in ipairs({ "udp4", "udp6" }) do
    local host = kind == "udp6" and "::1" or "127.0.0.1"
    it(kind .. ": a string one byte over the limit fails with EMSGSIZE, syscall send", function()
      local _, port = H.bound(kind)
      local code, err = send_result(kind, ("x"):rep(UDP_MAX + 1), port, host)
      assert.equals("EMSGSIZE", code)
      assert.equals("send", err.syscall)
      assert.equals(port, err.port)
    end)
  end

  it("a slice one byte over the limit fails with EMSGSIZE; one at the IPv4 limit arrives "
    .. "whole", function()
      local r, port = H.bound("udp4")
      local got = {}
      r:on("message", function(msg) got[#got + 1] = msg end)
      local text = ("0123456789"):rep(7000)
      assert.equals("EMSGSIZE", (send_result("udp4", text, 3, UDP_MAX + 1, port, "127.0.0.1")))
      assert.equals(65507, (send_result("udp4", text, 3, 65507, port, "127.0.0.1")))
      H.run_until(2000, function() return #got > 0 end)
      H.quiet(20)
      assert.same({ text:sub(4, 3 + 65507) }, got)
    end)

  it("an array whose strings sum past the limit fails with EMSGSIZE; one that sums to the "
    .. "IPv4 limit arrives as one datagram", function()
      local r, port = H.bound("udp4")
      local got = {}
      r:on("message", function(msg) got[#got + 1] = msg end)
      local kib = ("k"):rep(1024)
      local over = {}
      for i = 1, 64 do over[i] = kib end -- 65536 bytes
      assert.equals("EMSGSIZE", (send_result("udp4", over, port, "127.0.0.1")))
      local exact = {}
      for i = 1, 63 do exact[i] = kib end
      exact[64] = ("e"):rep(65507 - 63 * 1024)
      assert.equals(65507, (send_result("udp4", exact, port, "127.0.0.1")))
      H.run_until(2000, function() return #got > 0 end)
      H.quiet(20)
      assert.same({ table.concat(exact) }, got)
    end)

  it("without a callback, EMSGSIZE is emitted as 'error' once and the socket keeps working",
    function()
      local r, port = H.bound("udp4")
      local got = {}
      r:on("message", function(msg) got[#got + 1] = msg end)
      local s = H.bound("udp4")
      local errors = {}
      s:on("error", function(e) errors[#errors + 1] = e.code end)
      s:send(("x"):rep(UDP_MAX + 1), port, "127.0.0.1")
      s:send("after", port, "127.0.0.1")
      H.run_until(2000, function() return #got > 0 and #errors > 0 end)
      H.quiet(20)
      assert.same({ "EMSGSIZE" }, errors)
      assert.same({ "after" }, got)
    end)

  it("waiting for the implicit bind, an oversized slice still fails with EMSGSIZE after "
    .. "'listening'", function()
      local _, port = H.bound("udp4")
      local s = H.socket("udp4")
      local order = {}
      s:on("listening", function() order[#order + 1] = "listening" end)
      s:send(("0123456789"):rep(7000), 1, UDP_MAX + 1, port, "127.0.0.1", function(e)
        order[#order + 1] = e and e.code or "sent"
      end)
      H.run_until(2000, function() return #order == 2 end)
      assert.same({ "listening", "EMSGSIZE" }, order)
    end)
end)

-- An array of strings sent as one datagram: contents, empty arrays, bad elements.
local H = require("helper")
local raises, run_until, quiet, listener = H.raises, H.run_until, H.quiet, H.listener
local texts = H.texts

local LO4, LO6 = "127.0.0.1", "::1"

describe("an array of strings as one datagram", function()
  after_each(H.cleanup)

  it('send({"ab", "cd", "ef"}) arrives as one datagram "abcdef"', function()
    local _, port, got = listener()
    local c = H.socket("udp4")
    local res
    c:send({ "ab", "cd", "ef" }, port, LO4, function(err, n) res = { err, n } end)
    run_until(2000, function() return res ~= nil and #got > 0 end)
    quiet(50)
    assert.same({ "abcdef" }, texts(got))
    assert.equals(6, got[1].rinfo.size)
    assert.same({ nil, 6 }, res)
  end)

  it("works on udp6, with binary parts and empty strings", function()
    local _, port, got = listener("udp6")
    local c = H.socket("udp6")
    c:send({ "\0\1", "", "\255", H.all_bytes }, port, LO6)
    run_until(2000, function() return #got > 0 end)
    assert.same({ "\0\1\255" .. H.all_bytes }, texts(got))
  end)

  it("an empty array sends an empty datagram (as Node)", function()
    local _, port, got = listener()
    local c = H.socket("udp4")
    c:send({}, port, LO4)
    run_until(2000, function() return #got > 0 end)
    assert.same({ "" }, texts(got))
  end)

  it("the array is read when send is called", function()
    local _, port, got = listener()
    local c = H.socket("udp4") -- unbound: the send waits for the implicit bind
    local parts = { "be", "fore" }
    c:send(parts, port, LO4)
    parts[1], parts[2] = "af", "ter"
    run_until(2000, function() return #got > 0 end)
    assert.same({ "before" }, texts(got))
  end)

  for _, bad in ipairs({ { "ab", 42 }, { "ab", true }, { {}, "cd" }, { "ab", print } }) do
    it(("an array holding a %s raises ERR_INVALID_ARG_TYPE; nothing is sent"):format(
      type(bad[1]) == "string" and type(bad[2]) or type(bad[1])), function()
      local _, port, got = listener()
      local c = H.socket("udp4")
      raises("ERR_INVALID_ARG_TYPE", c.send, c, bad, port, LO4)
      raises("ERR_INVALID_ARG_TYPE", c.send, c, bad, port, LO4, function() end)
      quiet(50)
      assert.same({}, got)
      c:send({ "ok" }, port, LO4)
      run_until(2000, function() return #got > 0 end)
      assert.same({ "ok" }, texts(got))
    end)
  end

  it("an array with offset and length raises ERR_INVALID_ARG_TYPE (as Node)", function()
    local c = H.socket("udp4")
    raises("ERR_INVALID_ARG_TYPE", c.send, c, { "ab", "cd" }, 0, 2, 9, LO4)
  end)
end)

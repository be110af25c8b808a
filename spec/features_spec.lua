-- dgram.features: which Linux fast paths the build has (src/platform.h). A build made
-- with PORTABLE=1 (the Makefile puts it in build/portable and says so in DGRAM_BUILD)
-- has none of them; a plain build on Linux has them all.
local H = require("helper")
local dgram = H.dgram

local NAMES = { "busyPoll", "gso", "kernelDrops", "reusePort", "sendmmsg" }

describe("dgram.features", function()
  it("is core.features: five booleans", function()
    assert.equals(dgram.core.features, dgram.features)
    local names = {}
    for name, on in pairs(dgram.features) do
      names[#names + 1] = name
      assert.equals("boolean", type(on), name)
    end
    table.sort(names)
    assert.same(NAMES, names)
  end)

  -- (reusePort in a PORTABLE=1 build is libuv's to give: from libuv 1.49 on it sets
  -- SO_REUSEPORT itself; spec/reuse_port_spec.lua tests either case.)
  it("has every fast path on Linux, none in a PORTABLE=1 build", function()
    local portable = H.build:find("portable", 1, true) ~= nil
    assert.is_truthy(io.open("/proc/self/stat"), "these specs run on Linux")
    for _, name in ipairs(NAMES) do
      if not (portable and name == "reusePort") then
        assert.equals(not portable, dgram.features[name], name)
      end
    end
  end)
end)

-- The short fuzz run of `make test` (`make fuzz` is the long one, under ASan+UBSan):
-- seeded random calls of every public function and method with hostile values
-- (tools/fuzz/). Every call works or raises an error object, every send callback runs
-- exactly once, and the other invariants of tools/fuzz/engine.lua hold. Random strings
-- parse as real multicast and broadcast addresses: this runs only inside the private
-- network namespace spec/run.sh makes (pending elsewhere). It runs in a child lua5.4 of
-- its own: timers and sockets its attacks leave unreferenced must not wake up in the
-- specs that run after it.
--
--   DGRAM_FUZZ_SEED, DGRAM_FUZZ_CALLS   another seed, another number of calls
--   DGRAM_FUZZ_DISABLE, DGRAM_FUZZ_KNOWN   replace the lists of tools/fuzz/known.lua
--                                        ("" for none)
local H = require("helper")

describe("fuzz (short run, private network namespace)", function()
  it("hostile calls of every function: error objects only, every send callback once", function()
    local problem = H.netns_problem()
    if problem then return pending(problem) end
    local calls = tonumber(os.getenv("DGRAM_FUZZ_CALLS")) or (H.scale > 1 and 1000 or 20000)
    local seed = tonumber(os.getenv("DGRAM_FUZZ_SEED")) or 20261202
    local seconds = 25 * H.scale
    local p = H.popen(("%stimeout %d %s tools/fuzz.lua --calls %d --seconds %d --seed %d")
      :format(H.child_env(), seconds + 30, H.lua, calls, seconds, seed))
    local text = p:read("*a")
    local _, _, status = p:close()
    assert.equals(0, status, text)
    assert.truthy(text:find("ran zero times: 0; ran twice or more: 0", 1, true), text)
    assert.truthy(text:find("\nviolations: 0 ", 1, true), text)
    assert.truthy(text:find("loop alive at the end: false", 1, true), text)
    local made = tonumber(text:match("calls made: (%d+)"))
    assert.is_true(made ~= nil and made >= calls / 10, "too few calls in the time bound:\n" .. text)
  end)
end)

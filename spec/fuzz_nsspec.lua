-- The short fuzz run of `make test` (`make fuzz` is the long one, under ASan+UBSan):
-- seeded random calls of every public function and method with hostile values
-- (tools/fuzz/). Every call works or raises an error object, every send callback runs
-- exactly once, and the other invariants of tools/fuzz/engine.lua hold. Random strings
-- parse as real multicast and broadcast addresses: this runs only inside the private
-- network namespace spec/run.sh makes (pending elsewhere).
--
--   DGRAM_FUZZ_SEED, DGRAM_FUZZ_CALLS   another seed, another number of calls
--   DGRAM_FUZZ_DISABLE, DGRAM_FUZZ_KNOWN   replace the lists of tools/fuzz/known.lua
--                                        ("" for none)
local H = require("helper")
package.path = "./tools/?.lua;" .. package.path
local Engine = require("fuzz.engine")
local attacks = require("fuzz.attacks")

local known = require("fuzz.known") -- what crashes or breaks today, with its item

-- A set from an environment variable ("a,b") or, when it is not set, from a list.
local function set_of(env, list)
  local t, text = {}, os.getenv(env) or table.concat(list, ",")
  for name in text:gmatch("[^,%s]+") do t[name] = true end
  return t
end

describe("fuzz (short run, private network namespace)", function()
  it("hostile calls of every function: error objects only, every send callback once", function()
    local problem = H.netns_problem()
    if problem then return pending(problem) end
    local calls = tonumber(os.getenv("DGRAM_FUZZ_CALLS")) or (H.scale > 1 and 1000 or 20000)
    local seed = tonumber(os.getenv("DGRAM_FUZZ_SEED")) or 20261202
    local opts = {
      calls = calls, seed = seed, seconds = 25 * H.scale,
      disabled = set_of("DGRAM_FUZZ_DISABLE", known.disabled),
      known = set_of("DGRAM_FUZZ_KNOWN", known.known),
    }
    math.randomseed(seed)
    local F = Engine.new(H.dgram, opts)
    F:run(attacks)
    local off = {}
    for name in pairs(opts.disabled) do off[#off + 1] = name end
    table.sort(off)
    local lines = { ("fuzz seed %d, disabled: %s"):format(seed, table.concat(off, ",")) }
    local broken = F:report(function(line) lines[#lines + 1] = line end)
    local text = table.concat(lines, "\n")
    assert.equals(0, broken, text)
    assert.is_true(F.calls >= calls or F.timed_out, text)
    assert.is_true(F.calls >= calls / 10, "too few calls in the time bound:\n" .. text)
    assert.is_false(F.leftover_alive, "the loop kept something referenced:\n" .. text)
  end)
end)

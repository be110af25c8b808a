-- The short fuzz run of `make test` (`make fuzz` is the long one, under ASan+UBSan):
-- seeded random calls of every public function and method with hostile values
-- (tools/fuzz/). Every call works or raises an error object, every send callback runs
-- exactly once, and the other invariants of tools/fuzz/engine.lua hold. Random strings
-- parse as real multicast and broadcast addresses: this runs only inside the private
-- network namespace spec/run.sh makes (pending elsewhere).
--
--   DGRAM_FUZZ_SEED, DGRAM_FUZZ_CALLS   another seed, another number of calls
--   DGRAM_FUZZ_DISABLE, DGRAM_FUZZ_KNOWN   replace the lists below ("" for none)
local H = require("helper")
package.path = "./tools/?.lua;" .. package.path
local Engine = require("fuzz.engine")
local attacks = require("fuzz.attacks")

-- Attack kinds left out because they crash or hang the process today, with the items of
-- issue 10 they hit. Remove a kind once its item is fixed.
local DISABLED = table.concat({
  "meta-close",   -- 2: an argument's metamethod closes the socket inside bind: libuv SEGV
  "gc-close",     -- 1: a finalizer closes its socket inside close(): uv_close twice, abort
  "gc-exit",      -- 3: finalizers using the module at lua_close: SEGV
  "nonyield",     -- 6: recv/sleep where the coroutine cannot yield leave stale waiters
  "lookup-pending", -- 5: close() does not call back a send waiting on a lookup
  "deep-stack",   -- 7: callbacks skipped at a nearly full stack are lost (and sleeps)
  "sleep-junk",   -- new: dgram.sleep(function) never returns (setTimeout(fn, fn) order)
  "lookup-junk",  -- new: a lookup's junk err (a string) becomes the send's err as is
  "connected-port0", -- new: send(msg, 0[, addr], cb) on a connected socket: no callback
}, ",")

-- Invariants broken today by known open items: reported, not failing. Remove a check
-- once its item is fixed.
local KNOWN = table.concat({
  "error-destination",     -- 14: send EINVAL to the other family names no address/port
  "mapped-blocklist",      -- 8: ::ffff:127.0.0.1 in sendBlockList lets 127.0.0.1 through
  "nul-address",           -- 10: "127.0.0.1\0x" and block list entries with NUL accepted
  "lookup-error",          -- behaviours: an error raised in lookup becomes the send's err
  "full-stack",            -- 7: dgram.run skips the callbacks at a nearly full stack
  "emitter-error-object",  -- 13: EventEmitter methods on a non-emitter raise strings
  "nexttick-error-object", -- 13: nextTick(non-function) raises a string
}, ",")

local function set_of(list)
  local t = {}
  for name in list:gmatch("[^,%s]+") do t[name] = true end
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
      disabled = set_of(os.getenv("DGRAM_FUZZ_DISABLE") or DISABLED),
      known = set_of(os.getenv("DGRAM_FUZZ_KNOWN") or KNOWN),
    }
    math.randomseed(seed)
    local F = Engine.new(H.dgram, opts)
    F:run(attacks)
    local lines = { ("fuzz seed %d, disabled: %s"):format(seed, DISABLED) }
    local broken = F:report(function(line) lines[#lines + 1] = line end)
    local text = table.concat(lines, "\n")
    assert.equals(0, broken, text)
    assert.is_true(F.calls >= calls or F.timed_out, text)
    assert.is_true(F.calls >= calls / 10, "too few calls in the time bound:\n" .. text)
    assert.is_false(F.leftover_alive, "the loop kept something referenced:\n" .. text)
  end)
end)

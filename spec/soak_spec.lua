-- The short soak of `make test` (`make soak` is the long one): a pipelined echo whose
-- memory stays flat after warm-up, and floods whose peaks stay bounded and whose counts
-- add up (delivered + dropped = sent). Loopback only. Under ASan or valgrind the resident
-- set carries the checker's own memory (ASan's quarantine holds up to 256 MB of freed
-- blocks), so the RSS bounds get that slack; the Lua heap bound does not change.
local H = require("helper")
package.path = "./tools/?.lua;" .. package.path
local runs = require("soak.runs")
local dgram = H.dgram

local MB = 1048576

-- Delivered + dropped by the kernel = sent, where the build counts kernelDrops; without
-- them (dgram.features.kernelDrops false) only that nothing more was delivered than sent.
local function accounted(r, text)
  if dgram.features.kernelDrops then
    assert.equals("number", type(r.kernel_drops), text)
    assert.equals(r.sent, r.received + r.kernel_drops, text)
  else
    assert.is_nil(r.kernel_drops, text)
    assert.is_true(r.received > 0 and r.received <= r.sent, text)
  end
end
local checked = (os.getenv("LD_PRELOAD") or ""):find("asan", 1, true) or H.scale > 1
local slack = checked and 320 * MB or 0

describe("soak (short)", function()
  it("echoes 200,000 pipelined datagrams with memory flat after warm-up", function()
    local count = H.scale > 1 and 5000 or 200000
    local r = runs.echo(dgram, { count = count, seconds = 60 * H.scale, warmup = 0.2 })
    local text = runs.echo_line(r)
    assert.is_true(r.finished, text)
    assert.equals(count, r.echoed + r.lost, text)
    assert.is_true(r.lost <= math.floor(count / 100), "more than 1% lost on loopback: " .. text)
    assert.is_true(r.growth < 8 * MB + slack, text)
    assert.is_true(r.heap_growth < 8 * MB, text)
  end)

  it("a flood against a slow handler: delivered + kernel drops = sent, bounded peak",
    function()
      local count = H.scale > 1 and 2000 or 50000
      local r = runs.slow(dgram, { count = count, size = 1200, seconds = 30 * H.scale })
      local text = runs.flood_line("slow handler", r)
      assert.equals(count, r.sent, text)
      accounted(r, text)
      assert.is_true(r.growth < 16 * MB + slack, text)
    end)

  it("a flood against a full coroutine queue: it holds its limit, drops are counted",
    function()
      local count = H.scale > 1 and 2000 or 50000
      local r = runs.queue(dgram, { count = count, size = 1200, queue = 256,
                                    seconds = 30 * H.scale })
      local text = runs.flood_line("coroutine queue", r)
      assert.equals(count, r.sent, text)
      accounted(r, text)
      assert.equals(math.min(256, r.received), r.drained, text)
      assert.equals(r.received - r.drained, r.queue_drops, text)
      assert.is_true(r.growth < 16 * MB + slack, text)
    end)
end)

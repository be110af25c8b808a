-- dgram.run called with the Lua stack nearly full: it raises an error object at once
-- instead of skipping every callback (and, with deferred callbacks waiting, never
-- returning); the callbacks run on a later dgram.run with room.
local H = require("helper")
local dgram = H.dgram

-- Calls fn with n values on the Lua stack below it (protected); returns what pcall returns.
local filler = {}
local function with_stack_used(n, fn)
  if #filler < n then
    for i = #filler + 1, n do filler[i] = i end
  end
  return pcall(function()
    -- the n values are this function's arguments, on the stack while fn runs
    return (function(...) -- luacheck: no unused
      return fn()
    end)(table.unpack(filler, 1, n))
  end)
end

-- The most values with which a C function can still be called (Lua's own limit), found by
-- bisection from here: dgram.run then has no more than Lua's minimum of free slots.
local function fullest()
  local lo, hi = 0, 1000000
  while lo < hi do
    local mid = math.floor((lo + hi + 1) / 2)
    if with_stack_used(mid, dgram.alive) then lo = mid else hi = mid - 1 end
  end
  return lo
end

-- The specs fill the stack with table.unpack up to Lua 5.3 and 5.4's limit (1,000,000
-- slots); 5.1 and LuaJIT return no more than 8000 values from unpack, far from theirs.
local unfillable = _VERSION == "Lua 5.1"
  and "Lua 5.1 and LuaJIT: table.unpack cannot fill the Lua stack (8000 values at most)"

describe("dgram.run with the Lua stack nearly full", function()
  after_each(H.cleanup)

  it("raises ERR_OUT_OF_RANGE; the timer it would have skipped runs on the next run", function()
    if unfillable then return pending(unfillable) end
    local n = fullest()
    assert.is_true(n > 900000, "the bisection found " .. n)
    local ran = 0
    dgram.setTimeout(1, function() ran = ran + 1 end)
    local ok, err = with_stack_used(n, dgram.run)
    assert.is_false(ok, "dgram.run returned")
    assert.equals("table", type(err), tostring(err))
    assert.equals("ERR_OUT_OF_RANGE", err.code)
    assert.equals(0, ran)
    H.run(2000)
    assert.equals(1, ran)
  end)

  it("with a deferred callback waiting: raises at once (in a child lua5.4, which would hang "
    .. "otherwise), and the callback runs on the next run", function()
      if unfillable then return pending(unfillable) end
      local ok, out = H.child([[
        local dgram = require("dgram")
        local filler = {}
        for i = 1, 1000000 do filler[i] = i end
        local function with_stack_used(n, fn)
          return pcall(function()
            return (function(...) return fn() end)(table.unpack(filler, 1, n))
          end)
        end
        local lo, hi = 0, 1000000
        while lo < hi do
          local mid = math.floor((lo + hi + 1) / 2)
          if with_stack_used(mid, dgram.alive) then lo = mid else hi = mid - 1 end
        end
        local ran = 0
        require("dgram.core").nextTick(function() ran = ran + 1 end)
        local ok, err = with_stack_used(lo, dgram.run)
        print(ok, type(err) == "table" and err.code or tostring(err), ran)
        dgram.run()
        print("after", ran)
      ]], 20)
      assert.is_true(ok, out)
      assert.equals("false\tERR_OUT_OF_RANGE\t0\nafter\t1\n", out)
    end)
end)

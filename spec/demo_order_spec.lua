-- `make demo` (examples/demo.sh): the server's and the client's lines come out in one
-- order, run after run: listening, then each datagram's "server got" before its echo.
local H = require("helper")

local RUNS = 3

-- What demo.sh prints with its server on `port`, as one pattern per line.
local function expected(port)
  local want = { "server listening 0%.0%.0%.0:" .. port }
  for i = 1, 3 do
    want[#want + 1] = "server got: Some bytes #" .. i .. " from 127%.0%.0%.1:%d+"
    want[#want + 1] = "client got echo: Some bytes #" .. i .. " from 127%.0%.0%.1:" .. port
  end
  want[#want + 1] = "demo: ok"
  return want
end

describe("make demo's echo server and client", function()
  it("print their lines in order, in each of " .. RUNS .. " runs", function()
    for run = 1, RUNS do
      local port = H.free_port()
      local out, status = H.sh(("%sDEMO_PORT=%d timeout %d sh examples/demo.sh"):format(
        H.child_env(), port, 30 * H.scale))
      assert.equals(0, status, "run " .. run .. ":\n" .. out)
      local lines = {}
      for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end
      local want = expected(port)
      assert.equals(#want, #lines, "run " .. run .. ":\n" .. out)
      for i, pattern in ipairs(want) do
        assert.truthy(lines[i]:match("^" .. pattern .. "$"),
          ("run %d, line %d is %q, expected %q:\n%s"):format(run, i, lines[i], pattern, out))
      end
    end
  end)
end)

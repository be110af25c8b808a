-- Builds and runs spec/c/states.c: two lua_States in one process, each with its own
-- dgram loop, exchanging a datagram while the host polls both with run("nowait").
local H = require("helper")

local sh = H.sh

describe("two lua_States in one process (spec/c/states.c)", function()
  local binary = H.build .. "/states"

  it("builds with -Wall -Wextra -Werror", function()
    assert(os.execute("mkdir -p " .. H.build))
    local out, status = sh("${CC:-cc} -O1 -g -Wall -Wextra -Werror -std=c11 -D_GNU_SOURCE "
      .. H.lua_cflags .. "spec/c/states.c $(pkg-config --libs " .. H.lua .. ") "
      .. "-o " .. binary)
    assert.equals(0, status, "cannot build the states harness:\n" .. out)
  end)

  it("each state runs its own loop; a datagram goes from B to A; both close", function()
    local f = io.open(binary)
    assert.is_not_nil(f, binary .. " was not built (see the test above)")
    f:close()
    local timeout = 30 * H.scale
    local out, status = sh(("DGRAM_CPATH=${DGRAM_CPATH:-./%s/?.so} %stimeout %d %s./%s")
      :format(H.build, H.child_env(), timeout, H.valgrind_prefix(), binary))
    assert.equals(0, status, "states harness failed (exit " .. tostring(status) .. "):\n" .. out)
    -- State C left work and never ran its loop: the hint, once (forgotten_run_spec).
    assert.equals(H.FORGOTTEN_RUN_HINT .. "ok\n", out)
  end)
end)

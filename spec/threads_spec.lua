-- Builds spec/c/threads.c against libdgram.a (make lib) and runs it: four Lua states on
-- four threads, each with servers, clients, timers, a fixed tick and a coroutine, then
-- closed; and once more with one thread ending the process by os.exit from a callback
-- while the others run. (`make tsan` runs the same harness under ThreadSanitizer.)
local H = require("helper")

describe("four Lua states on four threads (spec/c/threads.c, libdgram.a)", function()
  local binary = H.build .. "/threads"

  it("builds from include/ and libdgram.a alone", function()
    local out, status = H.sh("make -s lib && ${CC:-cc} -O1 -g -Wall -Wextra -Werror -std=c11 "
      .. "-D_GNU_SOURCE " .. H.lua_cflags .. "spec/c/threads.c -Iinclude -L" .. H.build
      .. " -ldgram $(pkg-config --cflags --libs " .. H.lua .. " libuv) -lpthread -o " .. binary)
    assert.equals(0, status, "cannot build the threads harness:\n" .. out)
  end)

  for _, mode in ipairs({ "", "--exit" }) do
    it("runs every state's work to the end" .. (mode ~= "" and ", or exits early" or ""), function()
      local f = io.open(binary)
      assert.is_not_nil(f, binary .. " was not built (see the test above)")
      f:close()
      local out, status = H.sh(("timeout %d %s./%s %s"):format(30 * H.scale,
        H.valgrind_prefix(), binary, mode))
      assert.equals(0, status, "threads harness failed (exit " .. tostring(status) .. "):\n" .. out)
      assert.equals(mode == "" and "ok\n" or "", out)
    end)
  end
end)

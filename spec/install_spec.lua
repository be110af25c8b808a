-- The rockspec builds and installs offline, and the installed tree works on its own.
local function sh(cmd)
  local p = assert(io.popen(cmd .. " 2>&1"))
  local out = p:read("a")
  local ok, _, code = p:close()
  return ok and 0 or code, out
end

describe("luarocks make", function()
  it("installs a module that lua5.4 can require from the tree", function()
    local tree = os.tmpname()
    os.remove(tree)
    finally(function() sh("rm -rf '" .. tree .. "' dgram src/*.o") end)
    -- No sanitizer preloads in the compiler and luarocks processes.
    local code, out = sh("env -u LD_PRELOAD luarocks make --lua-version=5.4 --tree='" .. tree
      .. "' dgram-scm-1.rockspec")
    assert.equals(0, code, out)
    local script = [[
      local d = require("dgram")
      local core = package.searchpath("dgram.core", package.cpath)
      assert(core:find(os.getenv("TREE"), 1, true), "dgram.core came from " .. core)
      local s = d.createSocket("udp4")
      local got
      s:on("message", function(msg) got = msg; s:close() end)
      s:bind(0, "127.0.0.1", function() s:send("installed", s:address().port) end)
      d.run()
      print(got)
    ]]
    code, out = sh("cd / && env -u LD_PRELOAD -u LUA_PATH -u LUA_CPATH TREE='" .. tree
      .. "' sh -c 'eval \"$(luarocks --lua-version=5.4 --tree=\"$TREE\" path)\" && lua5.4 -e '\\''"
      .. script:gsub("'", "\"") .. "'\\'''")
    assert.equals(0, code, out)
    assert.equals("installed\n", out)
  end)
end)

-- README.md names the Debian packages each make target installs, as tools/deps.sh and the
-- Makefile have them: the build's for `make` and `make demo`, the test tools and
-- TEST_PKGS for `make test`, one more for `make lint` and `make valgrind`.
local H = require("helper")

local function words(text)
  local list = {}
  for w in text:gmatch("%S+") do list[#list + 1] = w end
  return list
end

-- The backquoted words of README.md between `from` and `to` (plain strings).
local function readme_list(from, to)
  local text = H.read_text("README.md"):gsub("\n", " ")
  local s = text:find(from, 1, true)
  assert(s, "README.md does not say " .. from)
  local e = assert(text:find(to, s + #from, true), "README.md: no " .. to .. " after " .. from)
  local list = {}
  for w in text:sub(s + #from, e - 1):gmatch("`([^`]+)`") do list[#list + 1] = w end
  return list
end

local function deps_list(args)
  local out, status = H.sh("sh tools/deps.sh --list " .. args)
  assert.equals(0, status, out)
  return words(out)
end

local function test_pkgs()
  local out, status = H.sh("make -s --no-print-directory --eval 'print-test-pkgs: ; "
    .. "@echo $(TEST_PKGS)' print-test-pkgs")
  assert.equals(0, status, out)
  return out
end

describe("README.md's package list", function()
  it("for make and make demo is what tools/deps.sh --build checks", function()
    local build = deps_list("--build")
    assert.same(build, readme_list("`make` and `make demo` need", ";"))
    assert.same({ "gcc", "make", "pkg-config", "lua5.4", "liblua5.4-dev", "libuv1-dev" }, build)
  end)

  it("for make test is the rest of what make test's deps check, TEST_PKGS included", function()
    local all = deps_list(test_pkgs())
    local build = #deps_list("--build")
    local rest = { table.unpack(all, build + 1) }
    assert.same(rest, readme_list("`make test` adds", "("))
    for _, p in ipairs(words(test_pkgs())) do
      assert.truthy(table.concat(rest, " "):find(p, 1, true), p .. " of TEST_PKGS")
    end
  end)

  it("names each package a target installs on its own", function()
    local makefile = H.read_text("Makefile")
    local target, seen = nil, 0
    for line in makefile:gmatch("[^\n]+") do
      target = line:match("^([%w%-]+):") or target
      local pkg = line:match("^\t@?sh tools/deps.sh ([%w][%w%.%-]*)%s*$")
      if pkg then
        seen = seen + 1
        local readme = H.read_text("README.md"):gsub("%s+", " ")
        local named = readme:match("`make " .. target:gsub("%-", "%%-") .. "` adds `([^`]+)`")
        assert.equals(pkg, named, "make " .. target .. " installs " .. pkg)
      end
    end
    assert.is_true(seen >= 1, "no target installs a package of its own")
  end)

  it("for each other Lua is what make LUA=... installs besides", function()
    for _, lua in ipairs({ "lua5.3", "lua5.1", "luajit" }) do
      local out, status = H.sh("make -s --no-print-directory --eval 'print-lua-pkgs: ; "
        .. "@echo $(LUA_PKGS)' print-lua-pkgs LUA=" .. lua)
      assert.equals(0, status, out)
      local to = lua == "luajit" and " (" or ";"
      assert.same(words(out), readme_list("`make LUA=" .. lua .. "` adds", to))
    end
  end)

  it("is all make and make demo check: they depend on build-deps alone", function()
    local makefile = H.read_text("Makefile")
    assert.truthy(makefile:find("\nall: build%-deps %$%(SO%)\n"))
    assert.truthy(makefile:find("\ndemo: build%-deps\n"))
    assert.truthy(makefile:find("\nbuild%-deps:\n\t@sh tools/deps.sh %-%-build\n"))
  end)
end)

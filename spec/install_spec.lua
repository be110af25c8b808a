-- The release rockspec builds and installs offline; the installed tree works on its own
-- and holds the reference, the types, the licence and the changelog; `luarocks pack`
-- makes a source rock that builds from itself.
local H = require("helper")

local ROCKSPEC = "rockspecs/dgram-0.2.0-1.rockspec"
local LR = "luarocks --lua-version=5.4"

local function temp_dir()
  local dir = os.tmpname()
  os.remove(dir)
  assert(H.execute("mkdir -p " .. H.shell_quote(dir)))
  return dir
end

-- A child lua5.4 with only `tree`'s paths (and no sanitizer) runs a UDP exchange with the
-- installed module; returns its status and output.
local function run_installed(tree)
  local script = [[
    local d = require("dgram")
    local core = package.searchpath("dgram.core", package.cpath)
    assert(core:find(os.getenv("TREE"), 1, true), "dgram.core came from " .. core)
    local s = d.createSocket("udp4")
    local got
    s:on("message", function(msg) got = msg; s:close() end)
    s:bind(0, "127.0.0.1", function() s:send("installed", s:address().port) end)
    d.run()
    print(got, d.version)
  ]]
  local dir = H.child_dir(script)
  local out, status = H.sh("cd / && env -u LUA_PATH -u LUA_CPATH TREE=" .. H.shell_quote(tree)
    .. " sh -c 'eval \"$(" .. LR .. " --tree=\"$TREE\" path)\" && lua5.4 \"$0\"' "
    .. H.shell_quote(dir .. "/child.lua"))
  H.remove_dir(dir)
  return status, out
end

-- The files under the checkout's docs/ and types/, relative to it.
local function shipped_files()
  local files = {}
  for f in H.sh("find docs types -type f | sort"):gmatch("[^\n]+") do files[#files + 1] = f end
  return files
end

-- Every file the rock must carry is in the installed rock's directory.
local function assert_rock_files(tree)
  local rock_dir = tree .. "/lib/luarocks/rocks-5.4/dgram/" .. require("dgram").version .. "-1"
  local want = shipped_files()
  assert.is_true(#want >= 2, "docs/ and types/ hold nothing")
  want[#want + 1] = "conf/LICENSE"
  want[#want + 1] = "conf/CHANGELOG.md"
  for _, f in ipairs(want) do
    assert.equals(0, select(2, H.sh("test -f " .. H.shell_quote(rock_dir .. "/" .. f))),
      f .. " is not in the installed rock (" .. rock_dir .. ")")
  end
  assert.equals(H.read_text("LICENSE"), H.read_text(rock_dir .. "/conf/LICENSE"))
end

-- A git repository holding the checkout's files as they are now (committed or not, not
-- ignored), tagged as the release, and the release rockspec pointing at it; returns the
-- rockspec's path.
local function local_release(dir)
  local repo = dir .. "/dgram"
  local tag = "v" .. require("dgram").version
  local out, status = H.sh("mkdir " .. H.shell_quote(repo) .. " && git ls-files -co "
    .. "--exclude-standard -z | tar --null -T - -cf - | tar -xf - -C " .. H.shell_quote(repo)
    .. " && cd " .. H.shell_quote(repo) .. " && git init -q && git add -A && git -c "
    .. "user.name=spec -c user.email=spec@localhost commit -qm release && git tag " .. tag)
  assert.equals(0, status, out)
  local text = H.read_text(ROCKSPEC)
  local url = "git+https://github.com/dgram-lua/dgram.git"
  assert.truthy(text:find(url, 1, true), "the rockspec's source url changed")
  local rockspec = dir .. "/" .. ROCKSPEC:match("[^/]+$")
  local f = assert(io.open(rockspec, "w"))
  f:write((text:gsub(url:gsub("%p", "%%%0"), "git+file://" .. repo)))
  f:close()
  return rockspec
end

describe("luarocks", function()
  local dirs = {}
  after_each(function()
    for _, d in ipairs(dirs) do H.remove_dir(d) end
    dirs = {}
    H.execute("rm -rf dgram src/*.o")
  end)
  local function fresh_dir()
    local d = temp_dir()
    dirs[#dirs + 1] = d
    return d
  end

  it("make installs a module that lua5.4 can require from the tree, with its files", function()
    local tree = fresh_dir()
    local out, status = H.sh(LR .. " make --tree=" .. H.shell_quote(tree) .. " " .. ROCKSPEC)
    assert.equals(0, status, out)
    local code, got = run_installed(tree)
    assert.equals(0, code, got)
    assert.equals("installed\t" .. require("dgram").version .. "\n", got)
    assert_rock_files(tree)
  end)

  it("pack makes a source rock that builds and installs from itself", function()
    local dir = fresh_dir()
    local rockspec = local_release(dir)
    local out, status = H.sh("mkdir " .. dir .. "/pack && cd " .. dir .. "/pack && " .. LR
      .. " pack " .. H.shell_quote(rockspec))
    assert.equals(0, status, out)
    local rock = dir .. "/pack/dgram-" .. require("dgram").version .. "-1.src.rock"
    assert.equals(0, select(2, H.sh("test -f " .. H.shell_quote(rock))), out)
    -- Built away from the checkout and from the repository the rock was packed from.
    H.execute("rm -rf " .. H.shell_quote(dir .. "/dgram"))
    local tree = dir .. "/tree"
    out, status = H.sh("mkdir " .. dir .. "/build && cd " .. dir .. "/build && " .. LR
      .. " build --tree=" .. H.shell_quote(tree) .. " " .. H.shell_quote(rock))
    assert.equals(0, status, out)
    local code, got = run_installed(tree)
    assert.equals(0, code, got)
    assert.equals("installed\t" .. require("dgram").version .. "\n", got)
    assert_rock_files(tree)
  end)
end)

-- The rockspecs agree with the tree and with the module: every src/*.c is built, the
-- version is the module's own (src/module.c), the files they install exist.
local H = require("helper")

local ROCKSPECS = { "dgram-scm-1.rockspec", "rockspecs/dgram-0.2.0-1.rockspec" }

local function load_rockspec(path)
  local env = {}
  local chunk = assert(loadfile(path, "t", env))
  chunk()
  return env
end

local function c_files()
  local out = H.sh("ls src/*.c")
  local files = {}
  for name in out:gmatch("%S+") do files[#files + 1] = name end
  table.sort(files)
  return files
end

local function sorted(list)
  local copy = { table.unpack(list) }
  table.sort(copy)
  return copy
end

describe("the rockspecs", function()
  for _, path in ipairs(ROCKSPECS) do
    describe(path, function()
      local spec = load_rockspec(path)

      it("builds every src/*.c into dgram.core, each once", function()
        local sources = spec.build.modules["dgram.core"].sources
        assert.same(c_files(), sorted(sources))
      end)

      it("installs every Lua file of lua/ under its module name", function()
        local want = {}
        for name in H.sh("cd lua && find . -name '*.lua' | sort"):gmatch("%S+") do
          local module = name:gsub("^%./", ""):gsub("%.lua$", ""):gsub("/", ".")
          want[module] = "lua/" .. name:gsub("^%./", "")
        end
        local got = {}
        for module, file in pairs(spec.build.modules) do
          if type(file) == "string" then got[module] = file end
        end
        assert.same(want, got)
      end)

      it("copies docs/ and types/ and installs LICENSE and CHANGELOG.md, which exist", function()
        assert.same({ "docs", "types" }, spec.build.copy_directories)
        assert.same({ "LICENSE", "CHANGELOG.md" }, spec.build.install.conf)
        for _, d in ipairs(spec.build.copy_directories) do
          assert.equals(0, select(2, H.sh("test -d " .. d)), d .. " is not a directory")
        end
        for _, f in ipairs(spec.build.install.conf) do
          assert.is_true(#H.read_text(f) > 0, f .. " is missing or empty")
        end
      end)

      it("tests offline with make test", function()
        assert.same({ type = "command", command = "make test" }, spec.test)
      end)

      it("says libuv 1.44, which src/dgram.h checks", function()
        assert.truthy(spec.description.detailed:find("libuv 1.44 or newer", 1, true))
        assert.truthy(H.read_text("src/dgram.h"):find("UV_VERSION_HEX < 0x012c00", 1, true))
        assert.same({ header = "uv.h", library = "uv" }, spec.external_dependencies.LIBUV)
      end)

      it("build on Linux, macOS, the BSDs and Windows, which links libuv's system libraries",
        function()
          assert.same({ "linux", "macosx", "bsd", "windows" }, spec.supported_platforms)
          -- What LuaRocks builds on Windows: build.platforms.windows merged into build.
          local build = load_rockspec(path).build
          require("luarocks.core.util").deep_merge(build, build.platforms.windows)
          local core = build.modules["dgram.core"]
          assert.same({ "uv", "ws2_32", "iphlpapi", "userenv", "psapi", "user32", "advapi32",
            "dbghelp", "ole32", "shell32" }, core.libraries)
          assert.same({ "_GNU_SOURCE", "DGRAM_BUILD_DLL" }, core.defines)
          assert.same(spec.build.modules["dgram.core"].sources, core.sources)
          -- make check-windows builds with the same define (include/dgram.h exports with it)
          assert.truthy(H.read_text("tools/windows.sh"):find("-DDGRAM_BUILD_DLL", 1, true))
          assert.truthy(H.read_text("include/dgram.h"):find("defined(DGRAM_BUILD_DLL)", 1, true))
        end)

      it("passes luarocks lint", function()
        local out, status = H.sh("luarocks lint " .. path)
        assert.equals(0, status, out)
      end)
    end)
  end

  it("differ only in their version and the release's tag", function()
    local scm, release = load_rockspec(ROCKSPECS[1]), load_rockspec(ROCKSPECS[2])
    assert.equals("scm-1", scm.version)
    assert.equals("v" .. release.version:match("^(.-)%-%d+$"), release.source.tag)
    scm.version, release.version, release.source.tag = nil, nil, nil
    assert.same(scm, release)
  end)

  it("name the module's own version (src/module.c)", function()
    local version = require("dgram").version
    assert.equals(version .. "-1", load_rockspec(ROCKSPECS[2]).version)
  end)

  it("and CHANGELOG.md has a section for that version", function()
    local version = require("dgram").version
    assert.truthy(H.read_text("CHANGELOG.md"):find("\n## " .. version:gsub("%.", "%%.") .. " ",
      1), "no '## " .. version .. " (date)' in CHANGELOG.md")
  end)
end)

describe("LICENSE", function()
  it("is MIT, by the dgram authors, as the rockspecs say", function()
    local text = H.read_text("LICENSE")
    assert.truthy(text:find("^MIT License"))
    assert.truthy(text:find("Copyright %(c%) %d+ dgram authors"))
    assert.equals("MIT", load_rockspec(ROCKSPECS[2]).description.license)
  end)
end)

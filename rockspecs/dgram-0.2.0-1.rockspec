rockspec_format = "3.0"
package = "dgram"
version = "0.2.0-1"
source = {
  url = "git+https://github.com/dgram-lua/dgram.git",
  tag = "v0.2.0",
}
description = {
  summary = "Node.js's dgram UDP socket API for Lua 5.1-5.4 and LuaJIT, on libuv",
  detailed = [[
    UDP sockets with Node's dgram API (createSocket, bind, send, events, multicast,
    connected sockets, block lists, timers) written in C on libuv, plus a coroutine
    style and calls for hosts with their own frame loop (run("nowait"), backendFd,
    fixed-rate ticks, batched sends). Needs libuv 1.44 or newer (Debian: libuv1-dev):
    LuaRocks cannot check the version, the build fails with that message when older.
    Ships its reference in docs/ and lua-language-server types in types/.
  ]],
  homepage = "https://github.com/dgram-lua/dgram",
  license = "MIT",
  labels = { "udp", "networking", "libuv", "nodejs", "gamedev" },
}
-- Tested on Linux (its fast paths, and with them off: make test PORTABLE=1); elsewhere
-- the portable code builds (Windows: make check-windows compiles it) but is untested:
-- README.md's Platforms section.
supported_platforms = { "linux", "macosx", "bsd", "windows" }
-- Lua 5.1 and LuaJIT also need lua-compat53's compat-5.3.h on the include path (Debian:
-- lua-compat53-dev, in Lua 5.1's include directory; docs/API.md, "Lua versions").
dependencies = {
  "lua >= 5.1, < 5.5",
}
-- libuv >= 1.44 (src/dgram.h stops the build with an #error on an older uv.h).
external_dependencies = {
  LIBUV = {
    header = "uv.h",
    library = "uv",
  },
}
build = {
  type = "builtin",
  modules = {
    ["dgram.core"] = {
      -- Every src/*.c (spec/rockspec_spec.lua compares this list with the directory).
      sources = {
        "src/address.c", "src/batch.c", "src/bind.c", "src/blocklist.c", "src/busypoll.c",
        "src/connect.c", "src/errors.c", "src/lifecycle.c", "src/loop.c", "src/module.c",
        "src/options.c", "src/recv.c", "src/resolve.c", "src/send.c", "src/signal.c",
        "src/socket.c", "src/stats.c", "src/timer.c", "src/transmit.c", "src/waiting.c",
        "src/watch.c",
      },
      defines = { "_GNU_SOURCE" },
      libraries = { "uv" },
      incdirs = { "$(LIBUV_INCDIR)" },
      libdirs = { "$(LIBUV_LIBDIR)" },
    },
    ["dgram"] = "lua/dgram.lua",
    ["dgram.emitter"] = "lua/dgram/emitter.lua",
    ["dgram.coro"] = "lua/dgram/coro.lua",
  },
  -- The reference and the editor types, in the rock's directory
  -- (luarocks show --rock-dir dgram).
  copy_directories = { "docs", "types" },
  -- What Windows links: libuv and the system libraries it needs (as luv's rockspec);
  -- DGRAM_BUILD_DLL exports luaopen_dgram_core (include/dgram.h).
  platforms = {
    windows = {
      modules = {
        ["dgram.core"] = {
          defines = { "_GNU_SOURCE", "DGRAM_BUILD_DLL" },
          libraries = {
            "uv", "ws2_32", "iphlpapi", "userenv", "psapi", "user32", "advapi32", "dbghelp",
            "ole32", "shell32",
          },
        },
      },
    },
  },
  -- LuaRocks has no slot for single files: the licence and the changelog go with the
  -- rock's files under conf/.
  install = {
    conf = { "LICENSE", "CHANGELOG.md" },
  },
}
-- `luarocks test` (offline: the packages `make test` needs are Debian's, see README.md):
-- builds build/dgram/core.so and runs every spec.
test = {
  type = "command",
  command = "make test",
}

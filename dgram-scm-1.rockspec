rockspec_format = "3.0"
package = "dgram"
version = "scm-1"
source = {
  url = "git+https://example.invalid/dgram.git",
}
description = {
  summary = "Node.js's dgram UDP socket API for Lua 5.4, on libuv",
  detailed = [[
    UDP sockets with Node's dgram API (createSocket, bind, send, events, multicast,
    connected sockets, timers) written in C on libuv, plus a coroutine style.
  ]],
  license = "MIT",
}
dependencies = {
  "lua >= 5.4, < 5.5",
}
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
      sources = {
        "src/address.c", "src/batch.c", "src/blocklist.c", "src/bind.c", "src/connect.c", "src/errors.c", "src/lifecycle.c", "src/loop.c", "src/module.c",
        "src/options.c", "src/recv.c", "src/resolve.c", "src/send.c", "src/socket.c",
        "src/signal.c", "src/stats.c", "src/timer.c", "src/transmit.c", "src/waiting.c", "src/watch.c",
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
}

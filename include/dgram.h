/* dgram for Lua: the embedding interface.
 *
 * A host that links the module into its own binary (build/libdgram.a, made by
 * `make lib`) includes this header and opens the module in each Lua state:
 *
 *   #include "dgram.h"
 *   luaL_requiref(L, "dgram", luaopen_dgram, 0);   // the full module, wrapper included
 *   lua_pop(L, 1);
 *
 * Build: cc host.c -Iinclude -Lbuild -ldgram $(pkg-config --cflags --libs lua5.4 libuv)
 *
 * Then, once per frame of the host's own loop, from the thread that owns the state:
 *   dgram.run("nowait")  -- delivers every datagram, timer and callback already due,
 *                        -- never blocks
 * or, to sleep in the host's own poll()/epoll: wait on dgram.backendFd() for at most
 * dgram.backendTimeout() ms (-1: no timer due), then call dgram.run("nowait").
 * Sends made from host code between runs leave at once; inside dgram.batch(fn) they
 * leave together when fn returns. See docs/HOSTS.md.
 *
 * Each Lua state has its own loop: states on different threads share nothing. A state
 * is used by one thread at a time. Closing the state (lua_close) closes its sockets. */
#ifndef DGRAM_PUBLIC_H
#define DGRAM_PUBLIC_H

#include <lua.h>

#if defined(_WIN32) && defined(DGRAM_BUILD_DLL)
#define DGRAM_EXPORT __declspec(dllexport)
#elif defined(__GNUC__)
#define DGRAM_EXPORT __attribute__((visibility("default")))
#else
#define DGRAM_EXPORT
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* The C core alone (require("dgram.core")): sockets, the loop, timers; no EventEmitter.
 */
DGRAM_EXPORT int luaopen_dgram_core(lua_State *L);

/* The module as require("dgram") gives it: registers "dgram.core" and the wrapper's Lua
 * modules (compiled into the library) in package.preload, then loads "dgram". Only in
 * libdgram.a; the shared module finds the wrapper's Lua files on package.path. */
DGRAM_EXPORT int luaopen_dgram(lua_State *L);

#ifdef __cplusplus
}
#endif

#endif

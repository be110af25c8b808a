/* luaopen_dgram_core: the loop, the metatables and the function table. */
#include "dgram.h"

#include "../include/dgram.h" /* DGRAM_EXPORT */

/* Whether a feature macro of platform.h is defined (as 1): an undefined one stays its
 * own name, longer than "1". */
#define STRINGIFY(x) #x
#define DEFINED(macro) (sizeof(STRINGIFY(macro)) == 2)

/* core.features: which fast paths this build has (platform.h); false: the plain libuv
 * fallback, whose difference docs/API.md describes. */
static void push_features(lua_State *L) {
  const struct {
    const char *name;
    int on;
  } features[] = {
      {"sendmmsg", DEFINED(DGRAM_HAVE_SENDMMSG)},
      {"gso", DEFINED(DGRAM_HAVE_GSO)},
      {"reusePort", DEFINED(DGRAM_HAVE_REUSEPORT_FD) || DEFINED(DGRAM_HAVE_UV_REUSEPORT)},
      {"busyPoll", DEFINED(DGRAM_HAVE_BUSY_POLL)},
      {"kernelDrops", DEFINED(DGRAM_HAVE_MEMINFO)},
  };
  lua_createtable(L, 0, sizeof features / sizeof features[0]);
  for (size_t i = 0; i < sizeof features / sizeof features[0]; i++) {
    lua_pushboolean(L, features[i].on);
    lua_setfield(L, -2, features[i].name);
  }
}

#if LUA_VERSION_NUM < 502 && !defined(_WIN32)
#include <dlfcn.h>

/* Lua 5.1 and LuaJIT unload a C library when require's handle for it, a userdata, is
 * finalized as the state closes: before the finalizers of objects made before the
 * require, which may still call the module (5.2 and later unload libraries last). Loaded
 * once more, never to be unloaded, the library's code stays for them. */
static void keep_loaded(void) {
  Dl_info info;
  if (dladdr((void *)luaopen_dgram_core, &info) != 0 && info.dli_fname != NULL)
    (void)dlopen(info.dli_fname, RTLD_NOW | RTLD_NODELETE);
}
#endif

DGRAM_EXPORT int luaopen_dgram_core(lua_State *L) {
  static const luaL_Reg functions[] = {{"run", loop_run},
                                       {"backendFd", loop_backend_fd},
                                       {"nextTick", loop_next_tick},
                                       {"backendTimeout", loop_backend_timeout},
                                       {"setBusyPoll", loop_set_busy_poll},
                                       {"getBusyPoll", loop_get_busy_poll},
                                       {"alive", loop_alive},
                                       {"now", loop_now},
                                       {"hrtime", loop_hrtime},
                                       {"batch", loop_batch},
                                       {NULL, NULL}};
#if LUA_VERSION_NUM < 502 && !defined(_WIN32)
  keep_loaded();
#endif
  loop_open(L);
  batch_register(L);
  luaL_newlib(L, functions);
  errors_register(L);
  socket_register(L);
  lifecycle_register(L);
  bind_register(L);
  send_register(L);
  connect_register(L);
  options_register(L);
  timer_register(L);
  signal_register(L);
  watch_register(L);
  stats_register(L);
  /* The version's one place: spec/rockspec_spec.lua checks the rockspecs against it. */
  lua_pushliteral(L, "0.2.0");
  lua_setfield(L, -2, "version");
  push_features(L);
  lua_setfield(L, -2, "features");
  return 1;
}

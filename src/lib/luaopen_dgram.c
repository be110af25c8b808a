/* luaopen_dgram for libdgram.a: the wrapper's Lua modules are compiled into the library
 * (build/gen/dgram_lua.c, generated from lua/ by tools/lua2c.lua), so that a host links
 * one archive and needs no files at run time. */
#include <lauxlib.h>
#include <lualib.h>

#include "../../include/dgram.h"
#include "../compat.h"

struct embedded_module {
  const char *name;
  const char *source;
  size_t size;
};

extern const struct embedded_module dgram_embedded_modules[]; /* the generated file */

/* Pushes package.preload: the registry holds it from Lua 5.3 on, 5.1 in package alone. */
static void push_preload(lua_State *L) {
#ifdef LUA_PRELOAD_TABLE
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
#else
  luaL_getsubtable(L, LUA_REGISTRYINDEX, "_LOADED");
  lua_getfield(L, -1, "package");
  luaL_getsubtable(L, -1, "preload");
  lua_replace(L, -3);
  lua_pop(L, 1);
#endif
}

int luaopen_dgram(lua_State *L) {
  push_preload(L);
  lua_pushcfunction(L, luaopen_dgram_core);
  lua_setfield(L, -2, "dgram.core");
  for (const struct embedded_module *m = dgram_embedded_modules; m->name != NULL; m++) {
    lua_pushfstring(L, "=%s", m->name);
    if (luaL_loadbufferx(L, m->source, m->size, lua_tostring(L, -1), "t") != LUA_OK)
      return lua_error(L);
    lua_setfield(L, -3, m->name);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "dgram");
  lua_call(L, 1, 1);
  return 1;
}

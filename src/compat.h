/* The Lua 5.4 C API the core uses, on Lua 5.3, 5.1 and LuaJIT 2.1 too. On 5.4 this
 * header adds nothing, so the 5.4 build is the same code. 5.1 and LuaJIT take the 5.2
 * and 5.3 functions from lua-compat53 (Debian's lua-compat53-dev: compat-5.3.h,
 * compiled in as static functions); what 5.4 alone has is defined here. */
#ifndef DGRAM_COMPAT_H
#define DGRAM_COMPAT_H

#include <lauxlib.h>
#include <lua.h>

#if LUA_VERSION_NUM < 503
#include <compat-5.3.h>
#endif

#if LUA_VERSION_NUM < 504

/* A userdata with n uservalues: before 5.4 a userdata holds one value (on 5.1 its
 * environment table), so the n values live in a table held as that one value, made with
 * the userdata. Indices outside 1..n are never used by the core. */
static inline void *dgram_newuserdatauv(lua_State *L, size_t size, int n) {
  void *p = lua_newuserdata(L, size);
  if (n > 0) {
    lua_createtable(L, n, 0);
    lua_setuservalue(L, -2);
  }
  return p;
}

static inline int dgram_getiuservalue(lua_State *L, int idx, int n) {
  lua_getuservalue(L, idx);
  int type = lua_rawgeti(L, -1, n);
  lua_remove(L, -2);
  return type;
}

/* Pops the value on top into uservalue n of the userdata at idx. */
static inline int dgram_setiuservalue(lua_State *L, int idx, int n) {
  idx = lua_absindex(L, idx);
  lua_getuservalue(L, idx);
  lua_insert(L, -2);
  lua_rawseti(L, -2, n);
  lua_pop(L, 1);
  return 1;
}

#define lua_newuserdatauv dgram_newuserdatauv
#define lua_getiuservalue dgram_getiuservalue
#define lua_setiuservalue dgram_setiuservalue
#define luaL_pushfail(L) lua_pushnil(L)

#endif

#endif

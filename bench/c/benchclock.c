/* benchclock: the clocks the Lua peers share, so that every Lua library is timed the
 * same way. now() -> monotonic seconds; cpu() -> user, system seconds (getrusage);
 * rss() -> resident bytes (/proc/self/statm). */
#include "common.h"

#include <lauxlib.h>
#include <lua.h>

static int l_now(lua_State *L) {
  lua_pushnumber(L, now_s());
  return 1;
}

static int l_cpu(lua_State *L) {
  double user, sys;
  cpu_s(&user, &sys);
  lua_pushnumber(L, user);
  lua_pushnumber(L, sys);
  return 2;
}

static int l_rss(lua_State *L) {
  lua_pushinteger(L, rss_bytes());
  return 1;
}

int luaopen_benchclock(lua_State *L);
int luaopen_benchclock(lua_State *L) {
  static const luaL_Reg fns[] = {
      {"now", l_now}, {"cpu", l_cpu}, {"rss", l_rss}, {NULL, NULL}};
  luaL_newlib(L, fns);
  return 1;
}

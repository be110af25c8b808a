/* Node's timers on the loop: setTimeout, setInterval, clearTimeout, clearInterval. */
#include "dgram.h"

#include <stdlib.h>

typedef struct dgram_timer {
  uv_timer_t *handle; /* malloc'd: libuv may outlive the userdata */
  dgram_loop *loop;
  int self_ref; /* registry anchor while the timer is pending */
  int repeat;
} dgram_timer;

static void timer_free_handle(uv_handle_t *h) {
  free(h);
}

static void timer_release(lua_State *L, dgram_timer *t) {
  luaL_unref(L, LUA_REGISTRYINDEX, t->self_ref);
  t->self_ref = LUA_NOREF;
}

static void timer_fire(uv_timer_t *h) {
  dgram_timer *t = h->data;
  lua_State *L = t ? loop_state(t->loop) : NULL;
  if (L == NULL) return;
  lua_rawgeti(L, LUA_REGISTRYINDEX, t->self_ref);
  if (!t->repeat) timer_release(L, t);
  lua_getiuservalue(L, -1, 1);
  int n = (int)lua_rawlen(L, -1);
  luaL_checkstack(L, n, "too many timer arguments");
  for (int i = 1; i <= n; i++)
    lua_rawgeti(L, -i, i);
  lua_remove(L, -1 - n);
  loop_call(L, t->loop, n - 1);
  lua_pop(L, 1);
}

/* setTimeout(ms, fn, ...) as API.md writes it, or Node's setTimeout(fn, ms, ...). */
static int timer_start(lua_State *L, int repeat) {
  int fn = lua_isfunction(L, 1) ? 1 : 2, ms = 3 - fn, top = lua_gettop(L);
  if (!lua_isfunction(L, fn))
    return raise_error(L, "ERR_INVALID_ARG_TYPE",
                       "The \"callback\" argument must be of type function. Received %s",
                       type_name(L, fn));
  lua_Number delay = lua_tonumber(L, ms);
  if (!(delay >= 1 && delay <= 2147483647)) delay = 1; /* as Node does */
  dgram_timer *t = lua_newuserdatauv(L, sizeof *t, 1);
  t->handle = NULL;
  t->loop = loop_get(L);
  t->self_ref = LUA_NOREF;
  t->repeat = repeat;
  luaL_setmetatable(L, DGRAM_TIMER_MT);
  lua_createtable(L, top - 1, 0); /* fn, extra arguments... */
  lua_pushvalue(L, fn);
  lua_rawseti(L, -2, 1);
  for (int i = 3; i <= top; i++) {
    lua_pushvalue(L, i);
    lua_rawseti(L, -2, i - 1);
  }
  lua_setiuservalue(L, -2, 1);
  t->handle = malloc(sizeof *t->handle);
  if (t->handle == NULL) return luaL_error(L, "dgram: out of memory");
  uv_timer_init(&t->loop->uv, t->handle);
  t->handle->data = t;
  uint64_t after = (uint64_t)delay;
  uv_timer_start(t->handle, timer_fire, after, repeat ? after : 0);
  lua_pushvalue(L, -1);
  t->self_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return 1;
}

static int timer_set_timeout(lua_State *L) {
  return timer_start(L, 0);
}

static int timer_set_interval(lua_State *L) {
  return timer_start(L, 1);
}

/* clearTimeout(t) / t:close(): anything that is not a timer is ignored, as in Node. */
static int timer_clear(lua_State *L) {
  dgram_timer *t = luaL_testudata(L, 1, DGRAM_TIMER_MT);
  if (t != NULL && t->handle != NULL) {
    uv_timer_stop(t->handle);
    timer_release(L, t);
  }
  return 0;
}

static dgram_timer *timer_check(lua_State *L) {
  dgram_timer *t = luaL_testudata(L, 1, DGRAM_TIMER_MT);
  if (t == NULL)
    raise_error(L, "ERR_INVALID_ARG_TYPE",
                "The timer method was called on %s, not a timer (use a colon: t:unref)",
                type_name(L, 1));
  return t;
}

static int timer_ref(lua_State *L) {
  dgram_timer *t = timer_check(L);
  if (t->handle != NULL) uv_ref((uv_handle_t *)t->handle);
  lua_settop(L, 1);
  return 1;
}

static int timer_unref(lua_State *L) {
  dgram_timer *t = timer_check(L);
  if (t->handle != NULL) uv_unref((uv_handle_t *)t->handle);
  lua_settop(L, 1);
  return 1;
}

static int timer_has_ref(lua_State *L) {
  dgram_timer *t = timer_check(L);
  lua_pushboolean(L, t->handle != NULL && uv_has_ref((uv_handle_t *)t->handle));
  return 1;
}

static int timer_gc(lua_State *L) {
  dgram_timer *t = lua_touserdata(L, 1);
  if (t->handle != NULL) {
    t->handle->data = NULL;
    uv_close((uv_handle_t *)t->handle, timer_free_handle);
    t->handle = NULL;
  }
  return 0;
}

void timer_register(lua_State *L) {
  static const luaL_Reg methods[] = {{"ref", timer_ref},
                                     {"unref", timer_unref},
                                     {"hasRef", timer_has_ref},
                                     {"close", timer_clear},
                                     {NULL, NULL}};
  static const luaL_Reg functions[] = {{"setTimeout", timer_set_timeout},
                                       {"setInterval", timer_set_interval},
                                       {"clearTimeout", timer_clear},
                                       {"clearInterval", timer_clear},
                                       {NULL, NULL}};
  luaL_newmetatable(L, DGRAM_TIMER_MT);
  lua_pushcfunction(L, timer_gc);
  lua_setfield(L, -2, "__gc");
  lua_pushliteral(L, "dgram.timer");
  lua_setfield(L, -2, "__metatable");
  luaL_newlib(L, methods);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  luaL_setfuncs(L, functions, 0);
}

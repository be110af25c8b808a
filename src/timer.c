/* Node's timers on the loop: setTimeout, setInterval, clearTimeout, clearInterval; and
 * setFixedInterval, a tick on a fixed grid of due times for game servers. */
#include "dgram.h"

#include <stdlib.h>
#include <string.h>

typedef struct dgram_timer {
  uv_timer_t *handle; /* malloc'd: libuv may outlive the userdata */
  dgram_loop *loop;
  int self_ref; /* registry anchor while the timer is pending */
  int repeat;
  uint64_t period_ns; /* setFixedInterval: the grid's step; 0 for Node's timers */
  uint64_t due_ns;    /* setFixedInterval: the due time of the coming tick */
  lua_Integer missed; /* setFixedInterval: ticks skipped after stalls */
} dgram_timer;

static void timer_fire(uv_timer_t *h);

/* Arms the one-shot libuv timer for the fixed tick's next due time. libuv fires it once
 * its loop time (whole ms) reaches uv_now + wait; the wait runs to the due time's whole
 * ms, so a tick may run up to a ms before its exact due time, never a ms after it: a host
 * whose frames run at the tick's rate then sees one tick per frame, where rounding up
 * would leave the tick a hair after the frame that should run it, every other frame. */
static void fixed_arm(dgram_timer *t) {
  uv_update_time(&t->loop->uv);
  uint64_t loop_ms = uv_now(&t->loop->uv), due_ms = t->due_ns / 1000000;
  uv_timer_start(t->handle, timer_fire, due_ms > loop_ms ? due_ms - loop_ms : 0, 0);
}

/* A tick is running now: it is the one of the latest due time not after now, so ticks
 * that a stall made late by a whole step or more are skipped and counted, never
 * replayed; the next is one step later on the grid. */
static void fixed_advance(dgram_timer *t) {
  uint64_t now = uv_hrtime();
  while (now > t->due_ns && now - t->due_ns >= t->period_ns) {
    t->due_ns += t->period_ns;
    t->missed++;
  }
  t->due_ns += t->period_ns;
  fixed_arm(t);
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
  if (t->period_ns) fixed_advance(t); /* before fn, which may clear it */
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

/* Pushes a new timer for the function at fn with the extra arguments after `first`. */
static dgram_timer *timer_new(lua_State *L, int fn, int first, int repeat) {
  int top = lua_gettop(L);
  dgram_timer *t = lua_newuserdatauv(L, sizeof *t, 1);
  memset(t, 0, sizeof *t);
  t->loop = loop_get(L);
  t->self_ref = LUA_NOREF;
  t->repeat = repeat;
  luaL_setmetatable(L, DGRAM_TIMER_MT);
  lua_createtable(L, top - first + 2, 0); /* fn, extra arguments... */
  lua_pushvalue(L, fn);
  lua_rawseti(L, -2, 1);
  for (int i = first; i <= top; i++) {
    lua_pushvalue(L, i);
    lua_rawseti(L, -2, i - first + 2);
  }
  lua_setiuservalue(L, -2, 1);
  t->handle = malloc(sizeof *t->handle);
  if (t->handle == NULL) luaL_error(L, "dgram: out of memory");
  uv_timer_init(&t->loop->uv, t->handle);
  t->handle->data = t;
  /* Armed from host code between runs, it counts from now, not from the last run. */
  if (t->loop->L == NULL) uv_update_time(&t->loop->uv);
  return t;
}

static void timer_anchor(lua_State *L, dgram_timer *t) {
  lua_pushvalue(L, -1);
  t->self_ref = luaL_ref(L, LUA_REGISTRYINDEX);
}

static int raise_not_function(lua_State *L, int idx) {
  return raise_error(L, "ERR_INVALID_ARG_TYPE",
                     "The \"callback\" argument must be of type function. Received %s",
                     type_name(L, idx));
}

/* setTimeout(ms, fn, ...) as API.md writes it, or Node's setTimeout(fn, ms, ...). */
static int timer_start(lua_State *L, int repeat) {
  int fn = lua_isfunction(L, 1) ? 1 : 2, ms = 3 - fn;
  if (!lua_isfunction(L, fn)) return raise_not_function(L, fn);
  lua_Number delay = lua_tonumber(L, ms);
  if (!(delay >= 1 && delay <= 2147483647)) delay = 1; /* as Node does */
  dgram_timer *t = timer_new(L, fn, 3, repeat);
  uint64_t after = (uint64_t)delay;
  uv_timer_start(t->handle, timer_fire, after, repeat ? after : 0);
  timer_anchor(L, t);
  return 1;
}

/* setFixedInterval(ms, fn, ...): ms may be fractional (1000/60); due times are exact
 * multiples of it from now, whatever the loop's millisecond timers round to. */
static int timer_set_fixed_interval(lua_State *L) {
  if (lua_type(L, 1) != LUA_TNUMBER)
    return raise_error(L, "ERR_INVALID_ARG_TYPE",
                       "The \"ms\" argument must be of type number. Received %s",
                       type_name(L, 1));
  lua_Number ms = lua_tonumber(L, 1);
  if (!(ms >= 0.001 && ms <= 2147483647))
    return raise_error(L, "ERR_OUT_OF_RANGE",
                       "The value of \"ms\" is out of range. It must be >= 0.001 && <= "
                       "2147483647. Received %s",
                       lua_tostring(L, 1));
  if (!lua_isfunction(L, 2)) return raise_not_function(L, 2);
  dgram_timer *t = timer_new(L, 2, 3, 1);
  t->period_ns = (uint64_t)(ms * 1e6 + 0.5);
  t->due_ns = uv_hrtime() + t->period_ns;
  fixed_arm(t);
  timer_anchor(L, t);
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

/* t:missed(): ticks a fixed interval skipped after stalls (0 for other timers). */
static int timer_missed(lua_State *L) {
  lua_pushinteger(L, timer_check(L)->missed);
  return 1;
}

/* A timer made by a finalizer after the loop's own: its handle was closed and freed with
 * the loop (LuaJIT finalizes such objects too, 5.4 and 5.1 never do). */
static int timer_gc(lua_State *L) {
  dgram_timer *t = lua_touserdata(L, 1);
  if (t->loop->closing) t->handle = NULL;
  if (t->handle != NULL) {
    /* Armed timers are anchored: only lua_close collects one (loop_gc's hint). */
    if (uv_is_active((uv_handle_t *)t->handle) && uv_has_ref((uv_handle_t *)t->handle))
      t->loop->timer_left = 1;
    t->handle->data = NULL;
    uv_close((uv_handle_t *)t->handle, loop_free_handle);
    t->handle = NULL;
  }
  return 0;
}

/* A timer made by a finalizer while the state closes is never finalized: its handle is
 * closed and freed with the loop. */
static void timer_close_handles(dgram_loop *loop) {
  loop_close_handles(loop, UV_TIMER);
}

void timer_register(lua_State *L) {
  static const loop_hooks hooks = {.close_handles = timer_close_handles};
  loop_add_hooks(loop_get(L), &hooks);
  static const luaL_Reg methods[] = {{"ref", timer_ref},        {"unref", timer_unref},
                                     {"hasRef", timer_has_ref}, {"close", timer_clear},
                                     {"missed", timer_missed},  {NULL, NULL}};
  static const luaL_Reg functions[] = {{"setTimeout", timer_set_timeout},
                                       {"setInterval", timer_set_interval},
                                       {"clearTimeout", timer_clear},
                                       {"clearInterval", timer_clear},
                                       {"setFixedInterval", timer_set_fixed_interval},
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

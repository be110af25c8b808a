/* dgram.watch(fd, events, fn): another descriptor on the same loop, so that dgram's
 * loop can drive another library's (luv's uv.backend_fd(), a host's pipe). */
#include "dgram.h"

#include <stdlib.h>
#include <string.h>

#define DGRAM_WATCH_MT "dgram.watcher"

typedef struct dgram_watch {
  uv_poll_t *handle; /* malloc'd: libuv may outlive the userdata; NULL once stopped */
  dgram_loop *loop;
  int self_ref; /* registry anchor while watching */
} dgram_watch;

static void watch_stop_handle(lua_State *L, dgram_watch *w) {
  if (w->handle == NULL) return;
  w->handle->data = NULL;
  uv_close((uv_handle_t *)w->handle, loop_free_handle);
  w->handle = NULL;
  if (L != NULL) {
    luaL_unref(L, LUA_REGISTRYINDEX, w->self_ref);
    w->self_ref = LUA_NOREF;
  }
}

static void push_events(lua_State *L, int events) {
  if ((events & UV_READABLE) && (events & UV_WRITABLE))
    lua_pushliteral(L, "rw");
  else if (events & UV_WRITABLE)
    lua_pushliteral(L, "w");
  else
    lua_pushliteral(L, "r");
}

/* fn(events) when ready; fn(nil, err) and the watcher stops when polling fails. */
static void watch_ready(uv_poll_t *h, int status, int events) {
  dgram_watch *w = h->data;
  lua_State *L = w != NULL ? loop_state(w->loop) : NULL;
  if (L == NULL) return;
  lua_rawgeti(L, LUA_REGISTRYINDEX, w->self_ref);
  int widx = lua_gettop(L);
  lua_getiuservalue(L, widx, 1);
  if (status < 0) {
    lua_pushnil(L);
    push_uv_error(L, status, "poll", NULL, -1);
    watch_stop_handle(L, w);
    loop_call(L, w->loop, 2);
  } else {
    push_events(L, events);
    loop_call(L, w->loop, 1);
  }
  lua_settop(L, widx - 1);
}

static int check_events(lua_State *L, int idx) {
  const char *text = lua_tostring(L, idx);
  if (lua_type(L, idx) == LUA_TSTRING) {
    if (strcmp(text, "r") == 0) return UV_READABLE;
    if (strcmp(text, "w") == 0) return UV_WRITABLE;
    if (strcmp(text, "rw") == 0 || strcmp(text, "wr") == 0)
      return UV_READABLE | UV_WRITABLE;
  }
  return raise_error(L, "ERR_INVALID_ARG_VALUE",
                     "The argument 'events' must be \"r\", \"w\" or \"rw\". Received %s",
                     type_name(L, idx));
}

static int watch_start(lua_State *L) {
  if (!lua_isinteger(L, 1) || lua_tointeger(L, 1) < 0 || lua_tointeger(L, 1) > INT32_MAX)
    return raise_error(L, "ERR_INVALID_ARG_TYPE",
                       "The \"fd\" argument must be a descriptor (an integer >= 0). "
                       "Received %s",
                       type_name(L, 1));
  int fd = (int)lua_tointeger(L, 1), events = check_events(L, 2);
  if (!lua_isfunction(L, 3))
    return raise_error(L, "ERR_INVALID_ARG_TYPE",
                       "The \"fn\" argument must be of type function. Received %s",
                       type_name(L, 3));
  dgram_loop *loop = loop_get(L);
  dgram_watch *w = lua_newuserdatauv(L, sizeof *w, 1);
  w->handle = NULL;
  w->loop = loop;
  w->self_ref = LUA_NOREF;
  luaL_setmetatable(L, DGRAM_WATCH_MT);
  lua_pushvalue(L, 3);
  lua_setiuservalue(L, -2, 1);
  uv_poll_t *h = malloc(sizeof *h);
  if (h == NULL) return luaL_error(L, "dgram: out of memory");
  int rc = uv_poll_init(&loop->uv, h, fd);
  if (rc == 0) {
    h->data = w;
    rc = uv_poll_start(h, events, watch_ready);
    if (rc != 0) uv_close((uv_handle_t *)h, loop_free_handle);
  } else {
    free(h);
  }
  if (rc != 0) return raise_uv_error(L, rc, "poll", NULL, -1);
  w->handle = h;
  lua_pushvalue(L, -1);
  w->self_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return 1;
}

static dgram_watch *watch_check(lua_State *L) {
  dgram_watch *w = luaL_testudata(L, 1, DGRAM_WATCH_MT);
  if (w == NULL)
    raise_error(
        L, "ERR_INVALID_ARG_TYPE",
        "The watcher method was called on %s, not a watcher (use a colon: w:stop())",
        type_name(L, 1));
  return w;
}

static int watch_stop(lua_State *L) {
  watch_stop_handle(L, watch_check(L));
  lua_settop(L, 1);
  return 1;
}

static int watch_ref(lua_State *L) {
  dgram_watch *w = watch_check(L);
  if (w->handle != NULL) uv_ref((uv_handle_t *)w->handle);
  lua_settop(L, 1);
  return 1;
}

static int watch_unref(lua_State *L) {
  dgram_watch *w = watch_check(L);
  if (w->handle != NULL) uv_unref((uv_handle_t *)w->handle);
  lua_settop(L, 1);
  return 1;
}

static int watch_gc(lua_State *L) {
  dgram_watch *w = lua_touserdata(L, 1);
  if (w->loop->closing) w->handle = NULL; /* closed and freed with the loop (timer_gc) */
  watch_stop_handle(NULL, w);
  return 0;
}

/* A watch made by a finalizer while the state closes is never finalized: its handle is
 * closed and freed with the loop. */
static void watch_close_handles(dgram_loop *loop) {
  loop_close_handles(loop, UV_POLL);
}

void watch_register(lua_State *L) {
  static const loop_hooks hooks = {.close_handles = watch_close_handles};
  loop_add_hooks(loop_get(L), &hooks);
  static const luaL_Reg methods[] = {
      {"stop", watch_stop}, {"ref", watch_ref}, {"unref", watch_unref}, {NULL, NULL}};
  luaL_newmetatable(L, DGRAM_WATCH_MT);
  lua_pushcfunction(L, watch_gc);
  lua_setfield(L, -2, "__gc");
  lua_pushliteral(L, "dgram.watcher");
  lua_setfield(L, -2, "__metatable");
  luaL_newlib(L, methods);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  lua_pushcfunction(L, watch_start);
  lua_setfield(L, -2, "watch");
}

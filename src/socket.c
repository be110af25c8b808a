/* The socket userdata: creation, lifetime (anchor, close, __gc), events, address, ref. */
#include "dgram.h"

#include <stdlib.h>
#include <string.h>

static const char *const event_names[EV_COUNT] = {"message", "listening", "close",
                                                  "error", "connect"};

static const char socket_mt_key = 0; /* the metatable, by address: no string lookup */

dgram_socket *socket_check(lua_State *L, int idx) {
  dgram_socket *s = lua_touserdata(L, idx);
  if (s != NULL && lua_getmetatable(L, idx)) {
    lua_rawgetp(L, LUA_REGISTRYINDEX, &socket_mt_key);
    if (!lua_rawequal(L, -1, -2)) s = NULL;
    lua_pop(L, 2);
  } else {
    s = NULL;
  }
  if (s == NULL)
    raise_error(
        L, "ERR_INVALID_ARG_TYPE",
        "The socket method was called on %s, not a dgram socket (use a colon: s:send)",
        type_name(L, idx));
  if (s->loop->closing) { /* the loop closed and freed its handle: see below */
    s->handle = NULL;
    s->state = SOCK_CLOSED;
  }
  return s;
}

dgram_socket *socket_check_open(lua_State *L, int idx) {
  dgram_socket *s = socket_check(L, idx);
  if (s->state == SOCK_CLOSED) raise_not_running(L);
  return s;
}

void push_not_running(lua_State *L) {
  push_error(L, "ERR_SOCKET_DGRAM_NOT_RUNNING", "Not running", NULL, 0, NULL, -1);
}

int raise_not_running(lua_State *L) {
  push_not_running(L);
  return lua_error(L);
}

/* ---- lifetime ---------------------------------------------------------------------- */

/* While libuv may call back about it, the socket is referenced from the registry. */
void socket_anchor(lua_State *L, dgram_socket *s, int sidx) {
  if (s->self_ref != LUA_NOREF) return;
  lua_pushvalue(L, sidx);
  s->self_ref = luaL_ref(L, LUA_REGISTRYINDEX);
}

void socket_release(lua_State *L, dgram_socket *s) {
  luaL_unref(L, LUA_REGISTRYINDEX, s->self_ref);
  s->self_ref = LUA_NOREF;
}

void socket_push(lua_State *L, dgram_socket *s) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, s->self_ref);
}

void socket_on_close(uv_handle_t *h) {
  dgram_socket *s = h->data;
  free(h);
  if (s == NULL) return; /* collected, or the state is closing */
  s->handle = NULL;
  s->state = SOCK_CLOSED; /* also when the loop closed it: nothing may use it now */
  lua_State *L = loop_state(s->loop);
  if (L == NULL) return;
  socket_push(L, s);
  socket_defer_emit(L, s, lua_gettop(L), EV_CLOSE, 0);
  lua_pop(L, 1);
  socket_release(L, s); /* the queued 'close' keeps it alive until emitted */
}

/* Any allocation may run a finalizer that uses the socket: it is marked closed and its
 * handle closed before anything is allocated, so such a finalizer finds it closed. The
 * operations above let go of what they keep for it (lifecycle.c). */
void socket_close_handle(lua_State *L, dgram_socket *s, int sidx) {
  s->state = SOCK_CLOSED;
  socket_anchor(L, s, sidx);
  uv_udp_recv_stop(s->handle);
  uv_close((uv_handle_t *)s->handle, socket_on_close);
}

/* ---- events ------------------------------------------------------------------------ */

/* Pushes the function the core calls for event ev, or nil. */
static void push_handler(lua_State *L, int sidx, int ev) {
  if (ev == EV_MESSAGE) {
    lua_getiuservalue(L, sidx, UV_MESSAGE);
  } else if (socket_handlers(L, sidx, 0)) {
    lua_getfield(L, -1, event_names[ev]);
    lua_remove(L, -2);
  }
}

static void set_handler(lua_State *L, int sidx, int ev);

/* The tap is the coroutine style's own way to hear of datagrams and of the close
 * (coro.lua): no listener, so removeAllListeners() cannot strand a coroutine in recv. */
void socket_call_tap(lua_State *L, dgram_socket *s, int sidx, int nargs) {
  if (!s->tapped) {
    lua_pop(L, nargs);
    return;
  }
  lua_getiuservalue(L, sidx, UV_TAP);
  lua_insert(L, -1 - nargs);
  loop_call(L, s->loop, nargs);
}

void socket_emit(lua_State *L, dgram_socket *s, int sidx, int ev, int nargs) {
  if (s->state == SOCK_CLOSED &&
      ev != EV_CLOSE) { /* closed by the script: only 'close' */
    lua_pop(L, nargs);
    return;
  }
  if (ev == EV_CLOSE) socket_call_tap(L, s, sidx, 0);
  push_handler(L, sidx, ev);
  if (s->once_events & (1u << ev)) { /* a one-time listener kept by the core: it goes */
    lua_pushnil(L);
    set_handler(L, sidx, ev);
  }
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    if (ev == EV_ERROR) { /* Node throws an unhandled 'error' */
      lua_pop(L, nargs - 1);
      loop_fail(L, s->loop);
    } else {
      lua_pop(L, nargs);
    }
    return;
  }
  lua_insert(L, -1 - nargs);
  loop_call(L, s->loop, nargs);
}

/* A deferred emit: the socket is the owner (base), the event's arguments follow. */
static void emit_deferred(lua_State *L, const deferred *d, int base) {
  dgram_socket *s = lua_touserdata(L, base);
  for (int i = 0; i < (int)d->value; i++)
    lua_pushvalue(L, base + 2 + i);
  socket_emit(L, s, base, d->tag, (int)d->value);
}

void socket_defer_emit(lua_State *L, dgram_socket *s, int sidx, int ev, int nargs) {
  deferred d = {.kind = DEFER_CONTINUE,
                .tag = (unsigned char)ev,
                .value = nargs,
                .cont = emit_deferred};
  lua_pushvalue(L, sidx);
  lua_insert(L, -1 - nargs);
  lua_pushnil(L);
  lua_insert(L, -1 - nargs);
  loop_defer(L, s->loop, &d, 2 + nargs);
}

/* Reports a failure later: the error object (stack top, popped) goes to the callback at
 * cb, or is emitted as 'error' when there is none (cb == 0). */
void socket_fail(lua_State *L, dgram_socket *s, int sidx, int cb) {
  if (cb) {
    deferred d = {.kind = DEFER_CALL};
    lua_pushnil(L);
    lua_pushvalue(L, cb);
    lua_rotate(L, -3, -1); /* owner, fn, err */
    loop_defer(L, s->loop, &d, 3);
  } else {
    socket_defer_emit(L, s, sidx, EV_ERROR, 1);
  }
}

/* Pushes the handlers table (core event handlers, the lookup option, operations waiting
 * for the bind), or nil when the socket has none yet; `create` makes it. Most sockets
 * never need one. Returns whether a table was pushed. */
int socket_handlers(lua_State *L, int sidx, int create) {
  if (lua_getiuservalue(L, sidx, UV_HANDLERS) == LUA_TTABLE) return 1;
  if (!create) return 0;
  lua_pop(L, 1);
  lua_createtable(L, 0, 2);
  lua_pushvalue(L, -1);
  lua_setiuservalue(L, sidx, UV_HANDLERS);
  return 1;
}

static const char once_wrapper_key = 'o'; /* registry: the wrapper's once-wrapper maker */

static int event_index(lua_State *L, int idx) {
  if (lua_type(L, idx) != LUA_TSTRING)
    return raise_error(L, "ERR_INVALID_ARG_TYPE",
                       "The \"eventName\" argument must be of type string. Received %s",
                       type_name(L, idx));
  const char *name = lua_tostring(L, idx);
  for (int i = 0; i < EV_COUNT; i++)
    if (strcmp(name, event_names[i]) == 0) return i;
  return -1;
}

/* Makes the value on the stack top (popped) the core's handler for event ev (>= 0). The
 * table of the other events' handlers is dropped once it holds none (a bind callback
 * that has run leaves nothing behind). */
static void set_handler(lua_State *L, int sidx, int ev) {
  ((dgram_socket *)lua_touserdata(L, sidx))->once_events &= ~(1u << ev);
  if (ev == EV_MESSAGE) {
    lua_setiuservalue(L, sidx, UV_MESSAGE);
    return;
  }
  int clearing = lua_isnil(L, -1);
  socket_handlers(L, sidx, 1);
  lua_insert(L, -2);
  lua_setfield(L, -2, event_names[ev]);
  if (clearing) {
    lua_pushnil(L);
    if (lua_next(L, -2) == 0) {
      lua_pushnil(L);
      lua_setiuservalue(L, sidx, UV_HANDLERS);
    } else {
      lua_pop(L, 2);
    }
  }
  lua_pop(L, 1);
}

/* core.setHandler(socket, event, fn|nil): the one function the core calls for `event`
 * (dgram.core's own way to listen; the wrapper's EventEmitter hands it its dispatcher).
 */
static int socket_sethandler(lua_State *L) {
  socket_check(L, 1);
  int ev = event_index(L, 2);
  if (!lua_isnoneornil(L, 3) && !lua_isfunction(L, 3))
    return raise_error(L, "ERR_INVALID_ARG_TYPE",
                       "The \"listener\" argument must be of type function. Received %s",
                       type_name(L, 3));
  lua_settop(L, 3);
  if (ev >= 0) set_handler(L, 1, ev);
  return 0;
}

/* setTap(socket, fn|nil): the socket's tap (socket_call_tap). */
static int socket_settap(lua_State *L) {
  dgram_socket *s = socket_check(L, 1);
  if (!lua_isnoneornil(L, 2)) luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_settop(L, 2);
  s->tapped = !lua_isnil(L, 2);
  lua_setiuservalue(L, 1, UV_TAP);
  return 0;
}

/* firsthandler(socket, event, fn[, once]): the wrapper's shortcut for the first listener
 * of a core event on a socket without a listener table (most sockets have one listener,
 * for 'message', and maybe a bind callback): the core's handler is then the only place
 * the listener is kept, and true is returned; a `once` listener is dropped by the core
 * before it runs, leaving nothing behind. Else nothing changes and false is returned. */
static int socket_firsthandler(lua_State *L) {
  dgram_socket *s = socket_check(L, 1);
  int once = lua_toboolean(L, 4);
  int ev = lua_type(L, 2) == LUA_TSTRING ? event_index(L, 2) : -1;
  if (once && ev == EV_MESSAGE) ev = -1; /* the receive path calls its handler directly */
  int first = ev >= 0 && lua_type(L, 3) == LUA_TFUNCTION && !s->emitter_owns;
  if (first) {
    push_handler(L, 1, ev);
    first = lua_isnil(L, -1);
  }
  if (first) {
    lua_pushvalue(L, 3);
    set_handler(L, 1, ev);
    if (once) s->once_events |= 1u << ev;
  }
  lua_pushboolean(L, first);
  return 1;
}

/* A one-time listener the core kept alone (stack top) moves to the listener table: it
 * becomes the EventEmitter's once-wrapper around it (the function the wrapper registered
 * with setOnceWrapper), which is also the core's handler from now on. */
static void wrap_once(lua_State *L, int ev) {
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &once_wrapper_key) != LUA_TFUNCTION) {
    lua_pop(L, 1); /* no wrapper (the core used alone): an ordinary listener */
    return;
  }
  lua_pushvalue(L, 1);
  lua_pushstring(L, event_names[ev]);
  lua_rotate(L, -4, -1); /* maker, socket, name, fn */
  lua_call(L, 3, 1);
  lua_pushvalue(L, -1);
  set_handler(L, 1, ev);
}

/* setOnceWrapper(fn): fn(socket, event, listener) returns the one-time wrapper. */
static int socket_set_once_wrapper(lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  lua_settop(L, 1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &once_wrapper_key);
  return 0;
}

/* handlers(socket): the listener table for the wrapper's EventEmitter, made from the
 * handlers that firsthandler gave the core alone; from then on the EventEmitter keeps the
 * listeners (the table is the wrapper's to store) and hands the core a dispatcher. */
static int socket_take_handlers(lua_State *L) {
  dgram_socket *s = socket_check(L, 1);
  lua_settop(L, 1);
  lua_createtable(L, 0, 1);
  for (int ev = 0; ev < EV_COUNT; ev++) {
    push_handler(L, 1, ev);
    if (s->once_events & (1u << ev)) wrap_once(L, ev);
    lua_setfield(L, -2, event_names[ev]);
  }
  s->emitter_owns = 1;
  return 1;
}

static int socket_closed(lua_State *L) {
  lua_pushboolean(L, socket_check(L, 1)->state == SOCK_CLOSED);
  return 1;
}

/* core._private: what the Lua wrapper needs of the core, nothing a script calls. */
static void push_private(lua_State *L) {
  static const luaL_Reg fns[] = {
      {"setHandler", socket_sethandler},  {"firsthandler", socket_firsthandler},
      {"handlers", socket_take_handlers}, {"setOnceWrapper", socket_set_once_wrapper},
      {"closed", socket_closed},          {"setTap", socket_settap},
      {"pollStats", loop_poll_stats},     {NULL, NULL}};
  luaL_newlib(L, fns);
}

/* ---- address, ref, unref ----------------------------------------------------------- */

/* {address=, family=, port=}: what address() and remoteAddress() return. */
int push_sockaddr(lua_State *L, const struct sockaddr *sa) {
  char host[DGRAM_ADDRSTRLEN];
  int port = 0;
  sockaddr_string(sa, host, sizeof host, &port);
  lua_createtable(L, 0, 3);
  lua_pushstring(L, host);
  lua_setfield(L, -2, "address");
  if (sa->sa_family == AF_INET6)
    lua_pushliteral(L, "IPv6");
  else
    lua_pushliteral(L, "IPv4");
  lua_setfield(L, -2, "family");
  lua_pushinteger(L, port);
  lua_setfield(L, -2, "port");
  return 1;
}

static int socket_address(lua_State *L) {
  dgram_socket *s = socket_check_open(L, 1);
  struct sockaddr_storage ss;
  int len = sizeof ss;
  if (!s->fd_bound) return raise_uv_error(L, UV_EBADF, "getsockname", NULL, -1);
  int rc = uv_udp_getsockname(s->handle, (struct sockaddr *)&ss, &len);
  if (rc != 0) return raise_uv_error(L, rc, "getsockname", NULL, -1);
  return push_sockaddr(L, (struct sockaddr *)&ss);
}

static int socket_ref(lua_State *L) {
  dgram_socket *s = socket_check(L, 1);
  if (s->handle != NULL) uv_ref((uv_handle_t *)s->handle);
  lua_settop(L, 1);
  return 1;
}

static int socket_unref(lua_State *L) {
  dgram_socket *s = socket_check(L, 1);
  if (s->handle != NULL) uv_unref((uv_handle_t *)s->handle);
  lua_settop(L, 1);
  return 1;
}

static int socket_tostring(lua_State *L) {
  dgram_socket *s = socket_check(L, 1);
  lua_pushfstring(L, "dgram.socket (%s, %p)", s->family == AF_INET6 ? "udp6" : "udp4", s);
  return 1;
}

/* The state is closing: every socket handle left is closed and freed with the loop,
 * without touching its socket. A socket made by a finalizer then is never finalized, and
 * one whose __gc failed (a finalizer at a full stack is skipped, with a warning) is
 * already freed: socket_check marks a socket closed once its loop is. */
static void socket_close_handles(dgram_loop *loop) {
  loop_close_handles(loop, UV_UDP);
}

void socket_register(lua_State *L) {
  static const loop_hooks hooks = {.close_handles = socket_close_handles};
  loop_add_hooks(loop_get(L), &hooks);
  static const luaL_Reg meta[] = {{"__tostring", socket_tostring}, {NULL, NULL}};
  static const luaL_Reg methods[] = {{"address", socket_address},
                                     {"ref", socket_ref},
                                     {"unref", socket_unref},
                                     {NULL, NULL}};
  luaL_newmetatable(L, DGRAM_SOCKET_MT);
  luaL_setfuncs(L, meta, 0);
  lua_pushliteral(L, "dgram.socket"); /* getmetatable cannot reach __gc and friends */
  lua_setfield(L, -2, "__metatable");
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &socket_mt_key);
  luaL_newlib(L, methods);
  lua_pushvalue(L, -1);
  lua_setfield(L, -4, "Socket"); /* core.Socket: the methods, for the wrapper to extend */
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  lua_pushcfunction(L, socket_sethandler);
  lua_setfield(L, -2, "setHandler");
  push_private(L);
  lua_setfield(L, -2, "_private");
}

/* Adds `fns` to the socket methods (each concern's file registers its own). */
void socket_add_methods(lua_State *L, const luaL_Reg *fns) {
  luaL_getmetatable(L, DGRAM_SOCKET_MT);
  lua_getfield(L, -1, "__index");
  luaL_setfuncs(L, fns, 0);
  lua_pop(L, 2);
}

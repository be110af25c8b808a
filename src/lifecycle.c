/* A socket's life as the operations see it: createSocket with its options (lookup, block
 * lists, buffer sizes), close (the batch leaves first, what waits is told, the bind's
 * lookup is cancelled), to-be-closed variables and the collector. */
#include "dgram.h"

#include <stdlib.h>
#include <string.h>

/* The batch leaves first; then the socket is closed before anything is allocated (a
 * finalizer may run at any allocation), and what waited for it is told. */
static void socket_close_now(lua_State *L, dgram_socket *s, int sidx) {
  luaL_checkstack(L, DGRAM_CLOSE_STACK, NULL);
  batch_flush(L, s->loop);
  if (s->state == SOCK_CLOSED) return; /* by a finalizer the flush ran */
  socket_close_handle(L, s, sidx);
  push_not_running(L);
  waiting_drop(L, s, sidx, lua_gettop(L), 1);
  lua_pop(L, 1);
  bind_cancel(L, sidx);
}

/* A close that finds the socket closed meanwhile by a finalizer has what it asked for. */
static int socket_close(lua_State *L) {
  dgram_socket *s = socket_check(L, 1);
  if (s->state == SOCK_CLOSED) return raise_not_running(L);
  socket_close_now(L, s, 1);
  lua_settop(L, 1);
  return 1;
}

static int socket_toclose(lua_State *L) {
  dgram_socket *s = socket_check(L, 1);
  if (s->state != SOCK_CLOSED) socket_close_now(L, s, 1);
  return 0;
}

/* Collected (never bound, or closed) or the state is closing: free without Lua. */
static int socket_gc(lua_State *L) {
  dgram_socket *s = lua_touserdata(L, 1);
  if (s->loop->closing) s->handle = NULL; /* closed and freed with the loop (timer_gc) */
  if (s->handle != NULL) {
    batch_send_now(s->loop,
                   s); /* the state is closing: a batch keeps s alive till then */
    s->handle->data = NULL;
    if (!uv_is_closing((uv_handle_t *)s->handle))
      uv_close((uv_handle_t *)s->handle, socket_on_close);
    s->handle = NULL;
  }
  s->state = SOCK_CLOSED;
  blocklist_free(s->recv_block);
  blocklist_free(s->send_block);
  s->recv_block = s->send_block = NULL;
  return 0;
}

/* ---- creation ---------------------------------------------------------------------- */

static lua_Integer option_size(lua_State *L, int opts, const char *name) {
  lua_Integer n = 0;
  if (lua_getfield(L, opts, name) != LUA_TNIL) {
    if (lua_type(L, -1) != LUA_TNUMBER)
      raise_error(L, "ERR_INVALID_ARG_TYPE",
                  "The \"options.%s\" property must be of type number. Received %s", name,
                  type_name(L, -1));
    if (!lua_isinteger(L, -1) || (n = lua_tointeger(L, -1)) < 0 || n > 0x7fffffff)
      raise_error(L, "ERR_OUT_OF_RANGE",
                  "The value of \"options.%s\" is out of range. It must be >= 0 && <= "
                  "2147483647. Received %s",
                  name, luaL_tolstring(L, -1, NULL));
  }
  lua_pop(L, 1);
  return n;
}

static int option_flag(lua_State *L, int opts, const char *name) {
  lua_getfield(L, opts, name);
  int on = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return on;
}

static int socket_family(lua_State *L, int idx) {
  const char *type = lua_type(L, idx) == LUA_TSTRING ? lua_tostring(L, idx) : "";
  if (strcmp(type, "udp4") == 0) return AF_INET;
  if (strcmp(type, "udp6") == 0) return AF_INET6;
  return raise_error(L, "ERR_SOCKET_BAD_TYPE",
                     "Bad socket type specified. Valid types are: udp4, udp6");
}

static void socket_options(lua_State *L, dgram_socket *s, int sidx, int opts) {
  s->reuse_addr = option_flag(L, opts, "reuseAddr");
  s->ipv6_only = option_flag(L, opts, "ipv6Only");
  s->reuse_port = option_flag(L, opts, "reusePort");
  s->recv_buffer_size = (int)option_size(L, opts, "recvBufferSize");
  s->send_buffer_size = (int)option_size(L, opts, "sendBufferSize");
  if (lua_getfield(L, opts, "lookup") != LUA_TNIL) {
    if (!lua_isfunction(L, -1))
      raise_error(L, "ERR_INVALID_ARG_TYPE",
                  "The \"lookup\" argument must be of type function. Received %s",
                  type_name(L, -1));
    socket_handlers(L, sidx, 1);
    lua_insert(L, -2);
    lua_setfield(L, -2, "lookup");
    lua_pop(L, 1);
    s->has_lookup = 1;
  } else {
    lua_pop(L, 1);
  }
  s->recv_block = blocklist_check(L, opts, "receiveBlockList");
  s->send_block = blocklist_check(L, opts, "sendBlockList");
}

/* core.createSocket(type | options) */
static int socket_create(lua_State *L) {
  int opts = lua_istable(L, 1) ? 1 : 0;
  if (opts)
    lua_getfield(L, 1, "type");
  else
    lua_pushvalue(L, 1);
  int family = socket_family(L, -1);
  lua_pop(L, 1);
  dgram_socket *s = lua_newuserdatauv(L, sizeof *s, SOCKET_NUSERVALUES);
  memset(s, 0, sizeof *s);
  s->self_ref = LUA_NOREF;
  s->family = family;
  s->loop = loop_get(L);
  luaL_setmetatable(L, DGRAM_SOCKET_MT); /* from here on __gc cleans up */
  if (opts) socket_options(L, s, lua_gettop(L), opts);
  s->handle = malloc(sizeof *s->handle);
  if (s->handle == NULL) return luaL_error(L, "dgram: out of memory");
  uv_udp_init_ex(&s->loop->uv, s->handle, AF_UNSPEC | UV_UDP_RECVMMSG);
  s->handle->data = s;
  return 1;
}

void lifecycle_register(lua_State *L) {
  static const luaL_Reg meta[] = {
      {"__gc", socket_gc}, {"__close", socket_toclose}, {NULL, NULL}};
  static const luaL_Reg methods[] = {{"close", socket_close}, {NULL, NULL}};
  luaL_getmetatable(L, DGRAM_SOCKET_MT);
  luaL_setfuncs(L, meta, 0);
  lua_pop(L, 1);
  socket_add_methods(L, methods);
  lua_pushcfunction(L, socket_create);
  lua_setfield(L, -2, "createSocket");
}

/* Connected sockets: connect, disconnect, remoteAddress. */
#include "dgram.h"

/* A failed connect leaves the socket unconnected; the error (stack top) goes to the
 * callback at cb, or is emitted as 'error'. */
static void connect_fail(lua_State *L, dgram_socket *s, int sidx, int cb) {
  s->connect_state = DISCONNECTED;
  socket_fail(L, s, sidx, cb);
}

static void connect_to(lua_State *L, dgram_socket *s, int sidx, const char *ip, int port,
                       int cb) {
  dgram_addr addr;
  int rc = socket_address_of(ip, port, s->family, &addr);
  if (rc == 0 && s->send_block != NULL && blocklist_match(s->send_block, &addr.sa)) {
    push_blocked_error(L, &addr.sa);
    connect_fail(L, s, sidx, cb);
    return;
  }
  if (rc == 0) rc = uv_udp_connect(s->handle, &addr.sa);
  if (rc != 0) {
    push_uv_error(L, rc, "connect", ip, port);
    connect_fail(L, s, sidx, cb);
    return;
  }
  s->connect_state = CONNECTED;
  socket_defer_emit(L, s, sidx, EV_CONNECT, 0);
}

/* A literal address connects on the next turn too, as Node's always-async lookup does. */
static void connect_later(lua_State *L, const deferred *d, int base) {
  dgram_socket *s = lua_touserdata(L, base);
  (void)d;
  if (s->state == SOCK_CLOSED) return;
  connect_to(L, s, base, lua_tostring(L, base + 2), (int)lua_tointeger(L, base + 3),
             lua_isnil(L, base + 1) ? 0 : base + 1);
}

/* extra = {port, cb}; the address (or an error) is on the stack top. */
static void connect_resolved(lua_State *L, dgram_socket *s, int sidx, int ok, int extra) {
  int result = lua_gettop(L);
  lua_rawgeti(L, extra, 1);
  lua_rawgeti(L, extra, 2);
  int cb = lua_isnil(L, -1) ? 0 : lua_gettop(L);
  if (s->state == SOCK_CLOSED) {
    s->connect_state = DISCONNECTED;
  } else if (!ok) {
    lua_pushvalue(L, result);
    connect_fail(L, s, sidx, cb);
  } else {
    connect_to(L, s, sidx, lua_tostring(L, result), (int)lua_tointeger(L, result + 1),
               cb);
  }
  lua_settop(L, result);
}

/* Starts connecting to the address at host_idx (0 or nil: the default) once bound. */
void connect_start(lua_State *L, dgram_socket *s, int sidx, int host_idx, int port,
                   int cb) {
  const char *host = host_idx ? lua_tostring(L, host_idx) : NULL;
  if (host == NULL || *host == '\0') host = s->family == AF_INET6 ? "::1" : "127.0.0.1";
  if (!resolve_needed(s, host)) {
    deferred d = {.kind = DEFER_CONTINUE, .cont = connect_later};
    lua_pushvalue(L, sidx);
    if (cb)
      lua_pushvalue(L, cb);
    else
      lua_pushnil(L);
    lua_pushstring(L, host);
    lua_pushinteger(L, port);
    loop_defer(L, s->loop, &d, 4);
    return;
  }
  lua_pushstring(L, host);
  lua_createtable(L, 2, 0);
  lua_pushinteger(L, port);
  lua_rawseti(L, -2, 1);
  if (cb) lua_pushvalue(L, cb), lua_rawseti(L, -2, 2);
  resolve_start(L, s, sidx, lua_gettop(L) - 1, connect_resolved, lua_gettop(L));
  lua_pop(L, 2);
}

/* socket:connect(port[, address][, onerror]): the wrapper makes its callback a one-time
 * 'connect' listener and passes onerror, which gets a failure instead of 'error'. */
static int socket_connect(lua_State *L) {
  dgram_socket *s = socket_check(L, 1);
  luaL_checkstack(L, 48, NULL);
  lua_settop(L, 4);
  int port = check_port(L, 2, 0);
  if (lua_isfunction(L, 3)) {
    lua_pushvalue(L, 3);
    lua_replace(L, 4);
    lua_pushnil(L);
    lua_replace(L, 3);
  }
  if (!lua_isnil(L, 3) && lua_type(L, 3) != LUA_TSTRING)
    return raise_error(L, "ERR_INVALID_ARG_TYPE",
                       "The \"address\" argument must be of type string. Received %s",
                       type_name(L, 3));
  if (!lua_isnil(L, 3)) address_check_arg(L, 3, "address");
  socket_check_open(L, 1);
  if (s->connect_state != DISCONNECTED)
    return raise_error(L, "ERR_SOCKET_DGRAM_IS_CONNECTED", "Already connected");
  int cb = lua_isfunction(L, 4) ? 4 : 0;
  s->connect_state = CONNECTING;
  if (s->state == SOCK_UNBOUND) socket_bind_implicit(L, s, 1);
  if (s->state == SOCK_BINDING) {
    socket_wait_connect(L, 1, 3, port, cb);
  } else if (s->state == SOCK_BOUND) {
    connect_start(L, s, 1, 3, port, cb);
  } else {
    s->connect_state = DISCONNECTED; /* the implicit bind failed: 'error' follows */
    if (s->state == SOCK_CLOSED) return raise_not_running(L); /* by a finalizer it ran */
  }
  return 0;
}

static int socket_disconnect(lua_State *L) {
  dgram_socket *s = socket_check_open(L, 1);
  if (s->connect_state != CONNECTED)
    return raise_error(L, "ERR_SOCKET_DGRAM_NOT_CONNECTED", "Not connected");
  int rc = uv_udp_connect(s->handle, NULL);
  if (rc != 0) return raise_uv_error(L, rc, "connect", NULL, -1);
  s->connect_state = DISCONNECTED;
  return 0;
}

static int socket_remote_address(lua_State *L) {
  dgram_socket *s = socket_check_open(L, 1);
  if (s->connect_state != CONNECTED)
    return raise_error(L, "ERR_SOCKET_DGRAM_NOT_CONNECTED", "Not connected");
  struct sockaddr_storage ss;
  int len = sizeof ss;
  int rc = uv_udp_getpeername(s->handle, (struct sockaddr *)&ss, &len);
  if (rc != 0) return raise_uv_error(L, rc, "getpeername", NULL, -1);
  return push_sockaddr(L, (struct sockaddr *)&ss);
}

void connect_register(lua_State *L) {
  static const luaL_Reg methods[] = {{"connect", socket_connect},
                                     {"disconnect", socket_disconnect},
                                     {"remoteAddress", socket_remote_address},
                                     {NULL, NULL}};
  socket_add_methods(L, methods);
}

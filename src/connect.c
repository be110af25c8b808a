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
  if (rc == 0) {
    batch_flush(L, s->loop); /* the sends made before connect() leave before it */
    rc = uv_udp_connect(s->handle, &addr.sa);
  }
  if (rc != 0) {
    push_uv_error(L, rc, "connect", ip, port);
    connect_fail(L, s, sidx, cb);
    return;
  }
  s->connect_state = CONNECTED;
  socket_defer_emit(L, s, sidx, EV_CONNECT, 0);
}

/* The connect's turn in the waiting queue has come: its address is known (WV_RESULT), or
 * its lookup failed. */
static void connect_waited(lua_State *L, dgram_socket *s, int sidx, int item) {
  int top = lua_gettop(L);
  lua_getiuservalue(L, item, WV_CB);
  int cb = lua_isnil(L, -1) ? 0 : lua_gettop(L);
  int failed = WAITING_ITEM(L, item)->phase == PHASE_FAILED;
  lua_getiuservalue(L, item, WV_RESULT);
  if (failed)
    connect_fail(L, s, sidx, cb);
  else
    connect_to(L, s, sidx, lua_tostring(L, -1), WAITING_ITEM(L, item)->port, cb);
  lua_settop(L, top);
}

static const waiting_op connect_op = {connect_waited};

/* socket:connect(port[, address][, onerror]): the wrapper makes its callback a one-time
 * 'connect' listener and passes onerror, which gets a failure instead of 'error'. */
static int socket_connect(lua_State *L) {
  dgram_socket *s = socket_check(L, 1);
  luaL_checkstack(L, DGRAM_CALL_STACK, NULL);
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
  socket_check_settled(L, 1);
  if (s->connect_state != DISCONNECTED)
    return raise_error(L, "ERR_SOCKET_DGRAM_IS_CONNECTED", "Already connected");
  s->connect_state = CONNECTING; /* sends made from now on wait for it */
  waiting_item_new(L, &connect_op, WAIT_CONNECT, port);
  lua_pushvalue(L, 3);
  lua_setiuservalue(L, -2, WV_HOST);
  if (lua_isfunction(L, 4)) lua_pushvalue(L, 4), lua_setiuservalue(L, -2, WV_CB);
  int status = waiting_add(L, s, 1);
  if (status == LUA_OK && s->state == SOCK_UNBOUND)
    status = socket_bind_implicit(L, s, 1);
  if (status != LUA_OK) return lua_error(L); /* raised by the lookup function */
  if (s->state == SOCK_CLOSED) return raise_not_running(L); /* by a finalizer it ran */
  return 0;
}

static int socket_disconnect(lua_State *L) {
  dgram_socket *s = socket_check_settled(L, 1);
  if (s->connect_state != CONNECTED)
    return raise_error(L, "ERR_SOCKET_DGRAM_NOT_CONNECTED", "Not connected");
  int rc = uv_udp_connect(s->handle, NULL);
  if (rc != 0) return raise_uv_error(L, rc, "connect", NULL, -1);
  s->connect_state = DISCONNECTED;
  return 0;
}

static int socket_remote_address(lua_State *L) {
  dgram_socket *s = socket_check_settled(L, 1);
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

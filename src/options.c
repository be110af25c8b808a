/* Socket options: broadcast, TTLs, multicast membership and interface, buffer sizes. */
#include "dgram.h"

#include <string.h>

/* Raises Node's ErrnoException("<syscall> <CODE>") for a failed libuv call. */
static void check_uv(lua_State *L, int rc, const char *syscall) {
  if (rc != 0) raise_uv_error(L, rc, syscall, NULL, -1);
}

static int socket_set_broadcast(lua_State *L) {
  dgram_socket *s = socket_check_settled(L, 1);
  check_uv(L, uv_udp_set_broadcast(s->handle, lua_toboolean(L, 2)), "setBroadcast");
  return 0;
}

static int check_ttl(lua_State *L) {
  if (lua_type(L, 2) != LUA_TNUMBER)
    raise_error(L, "ERR_INVALID_ARG_TYPE",
                "The \"ttl\" argument must be of type number. Received %s",
                type_name(L, 2));
  lua_Number n = lua_tonumber(L, 2);
  /* Node passes the ttl on as an int32, so 1.5 is 1; libuv refuses what is not a byte. */
  return n >= -1 && n <= 256 ? (int)n : -1;
}

static int socket_set_ttl(lua_State *L) {
  dgram_socket *s = socket_check_settled(L, 1);
  check_uv(L, uv_udp_set_ttl(s->handle, check_ttl(L)), "setTTL");
  lua_settop(L, 2);
  return 1;
}

static int socket_set_multicast_ttl(lua_State *L) {
  dgram_socket *s = socket_check_settled(L, 1);
  check_uv(L, uv_udp_set_multicast_ttl(s->handle, check_ttl(L)), "setMulticastTTL");
  lua_settop(L, 2);
  return 1;
}

static int socket_set_multicast_loopback(lua_State *L) {
  dgram_socket *s = socket_check_settled(L, 1);
  check_uv(L, uv_udp_set_multicast_loop(s->handle, lua_toboolean(L, 2)),
           "setMulticastLoopback");
  lua_settop(L, 2);
  return 1;
}

static const char *check_address(lua_State *L, int idx, const char *name, int optional) {
  if (optional && lua_isnoneornil(L, idx)) return NULL;
  if (lua_type(L, idx) != LUA_TSTRING)
    raise_error(L, "ERR_INVALID_ARG_TYPE",
                "The \"%s\" argument must be of type string. Received %s", name,
                type_name(L, idx));
  address_check_arg(L, idx, name); /* libuv would cut it at a NUL or drop its scope */
  return lua_tostring(L, idx);
}

/* libuv joins on an unbound socket by binding it behind our back: bind it ourselves. */
static void bind_for_membership(lua_State *L, dgram_socket *s) {
  luaL_checkstack(L, DGRAM_CALL_STACK, NULL);
  if (s->state == SOCK_UNBOUND && socket_bind_implicit(L, s, 1) != LUA_OK) lua_error(L);
  if (s->state == SOCK_CLOSED) raise_not_running(L); /* by a finalizer the bind ran */
}

static int membership(lua_State *L, uv_membership which, const char *syscall) {
  dgram_socket *s = socket_check_settled(L, 1);
  if (!lua_toboolean(L, 2) || (lua_type(L, 2) == LUA_TSTRING && lua_rawlen(L, 2) == 0))
    return raise_error(L, "ERR_MISSING_ARGS",
                       "The \"multicastAddress\" argument must be specified");
  const char *group = check_address(L, 2, "multicastAddress", 0);
  const char *iface = check_address(L, 3, "multicastInterface", 1);
  bind_for_membership(L, s);
  check_uv(L, uv_udp_set_membership(s->handle, group, iface, which), syscall);
  return 0;
}

static int socket_add_membership(lua_State *L) {
  return membership(L, UV_JOIN_GROUP, "addMembership");
}

static int socket_drop_membership(lua_State *L) {
  return membership(L, UV_LEAVE_GROUP, "dropMembership");
}

static int source_membership(lua_State *L, uv_membership which, const char *syscall) {
  dgram_socket *s = socket_check_settled(L, 1);
  const char *source = check_address(L, 2, "sourceAddress", 0);
  const char *group = check_address(L, 3, "groupAddress", 0);
  const char *iface = check_address(L, 4, "interfaceAddress", 1);
  bind_for_membership(L, s);
  check_uv(L, uv_udp_set_source_membership(s->handle, group, iface, source, which),
           syscall);
  return 0;
}

static int socket_add_source_membership(lua_State *L) {
  return source_membership(L, UV_JOIN_GROUP, "addSourceSpecificMembership");
}

static int socket_drop_source_membership(lua_State *L) {
  return source_membership(L, UV_LEAVE_GROUP, "dropSourceSpecificMembership");
}

static int socket_set_multicast_interface(lua_State *L) {
  dgram_socket *s = socket_check_settled(L, 1);
  const char *iface = check_address(L, 2, "interfaceAddress", 0);
  check_uv(L, uv_udp_set_multicast_interface(s->handle, iface), "setMulticastInterface");
  return 0;
}

/* ---- buffer sizes ------------------------------------------------------------------ */

typedef int (*buffer_size_fn)(uv_handle_t *, int *);

static int buffer_size(lua_State *L, buffer_size_fn fn, const char *syscall, int set) {
  dgram_socket *s = socket_check_settled(L, 1);
  int value = 0, too_big = 0;
  if (set) { /* Node checks for a uint32; what libuv cannot take is its EINVAL */
    int isint = 0;
    lua_Integer n = lua_tointegerx(L, 2, &isint);
    if (lua_type(L, 2) != LUA_TNUMBER || !isint || n < 0 || n > 0xffffffff)
      return raise_error(L, "ERR_SOCKET_BAD_BUFFER_SIZE",
                         "Buffer size must be a positive integer");
    too_big = n > 0x7fffffff;
    value = (int)(n & 0x7fffffff);
  }
  int rc = !s->fd_bound ? UV_EBADF
           : too_big    ? UV_EINVAL
                        : fn((uv_handle_t *)s->handle, &value);
  if (rc != 0) {
    lua_pushfstring(L, "Could not get or set buffer size: %s returned %s (%s)", syscall,
                    uv_err_name(rc), uv_strerror(rc));
    push_error(L, "ERR_SOCKET_BUFFER_SIZE", lua_tostring(L, -1), syscall, rc, NULL, -1);
    return lua_error(L);
  }
  if (set) return 0;
  lua_pushinteger(L, value);
  return 1;
}

static int socket_get_recv_buffer_size(lua_State *L) {
  return buffer_size(L, uv_recv_buffer_size, "uv_recv_buffer_size", 0);
}

static int socket_set_recv_buffer_size(lua_State *L) {
  return buffer_size(L, uv_recv_buffer_size, "uv_recv_buffer_size", 1);
}

static int socket_get_send_buffer_size(lua_State *L) {
  return buffer_size(L, uv_send_buffer_size, "uv_send_buffer_size", 0);
}

static int socket_set_send_buffer_size(lua_State *L) {
  return buffer_size(L, uv_send_buffer_size, "uv_send_buffer_size", 1);
}

void options_register(lua_State *L) {
  static const luaL_Reg methods[] = {
      {"setBroadcast", socket_set_broadcast},
      {"setTTL", socket_set_ttl},
      {"setMulticastTTL", socket_set_multicast_ttl},
      {"setMulticastLoopback", socket_set_multicast_loopback},
      {"addMembership", socket_add_membership},
      {"dropMembership", socket_drop_membership},
      {"addSourceSpecificMembership", socket_add_source_membership},
      {"dropSourceSpecificMembership", socket_drop_source_membership},
      {"setMulticastInterface", socket_set_multicast_interface},
      {"getRecvBufferSize", socket_get_recv_buffer_size},
      {"setRecvBufferSize", socket_set_recv_buffer_size},
      {"getSendBufferSize", socket_get_send_buffer_size},
      {"setSendBufferSize", socket_set_send_buffer_size},
      {NULL, NULL}};
  socket_add_methods(L, methods);
}

/* The send path: Node's argument forms, try_send first, queued sends, callbacks. */
#include "dgram.h"

#include <stdlib.h>
#include <string.h>

#define MAX_BUFS 64

/* A send in flight: what the Lua values of one send are, by stack index. */
typedef struct send_args {
  int data;        /* a string or an array of strings */
  size_t off, len; /* the slice of a string */
  int port;
  int host; /* a string or nil (the default address) */
  int cb;   /* a function or 0 */
} send_args;

/* ---- failures ---------------------------------------------------------------------- */

/* A send past SEND_QUEUE_MAX: ENOBUFS, made when reported, so that refusing a flood
 * keeps no error object per send. The callback (or nil) and host are at base+1, base+2,
 * the port in d->value. */
static void refused(lua_State *L, const deferred *d, int base) {
  dgram_socket *s = lua_touserdata(L, base);
  push_uv_error(L, UV_ENOBUFS, "send", lua_tostring(L, base + 2), (int)d->value);
  if (lua_isnil(L, base + 1)) {
    s->queued_errors--;
    socket_emit(L, s, base, EV_ERROR, 1);
    return;
  }
  lua_pushvalue(L, base + 1);
  lua_insert(L, -2);
  loop_call(L, s->loop, 1);
}

static void send_refuse(lua_State *L, dgram_socket *s, int sidx, const send_args *a) {
  s->stats.send_errors++;
  if (!a->cb) {
    if (s->queued_errors >= QUEUED_ERRORS_MAX) return;
    s->queued_errors++;
  }
  int connected = s->connect_state != DISCONNECTED;
  deferred d = {
      .kind = DEFER_CONTINUE, .cont = refused, .value = connected ? -1 : a->port};
  lua_pushvalue(L, sidx);
  if (a->cb)
    lua_pushvalue(L, a->cb);
  else
    lua_pushnil(L);
  if (connected)
    lua_pushnil(L);
  else if (a->host)
    lua_pushvalue(L, a->host);
  else
    lua_pushstring(L, s->family == AF_INET6 ? "::1" : "127.0.0.1");
  loop_defer(L, s->loop, &d, 3);
}

/* ---- sending now ------------------------------------------------------------------- */

/* No UDP datagram carries more (IPv6's limit; the kernel enforces IPv4's 65507). */
#define UDP_PAYLOAD_MAX (65535 - 8)

/* Points bufs at the datagram's bytes; returns how many, or 0 when it is longer than a
 * datagram can be: libuv takes 32-bit lengths, so that is decided before any cast. */
static size_t fill_bufs(lua_State *L, const send_args *a, uv_buf_t *bufs) {
  size_t n = 0, total = 0;
  if (lua_type(L, a->data) == LUA_TSTRING) {
    if (a->len > UDP_PAYLOAD_MAX) return 0;
    bufs[n++] = uv_buf_init((char *)lua_tostring(L, a->data) + a->off, (unsigned)a->len);
  } else {
    lua_Integer count = (lua_Integer)lua_rawlen(L, a->data);
    for (lua_Integer i = 1; i <= count; i++) {
      size_t len;
      lua_rawgeti(L, a->data, i);
      const char *p = lua_tolstring(L, -1, &len);
      lua_pop(L, 1); /* the array keeps it alive */
      if (len > UDP_PAYLOAD_MAX || (total += len) > UDP_PAYLOAD_MAX) return 0;
      bufs[n++] = uv_buf_init((char *)p, (unsigned)len);
    }
    if (n == 0) bufs[n++] = uv_buf_init("", 0);
  }
  return n;
}

/* Sends the datagram to `dest` (NULL on a connected socket); the kernel queue first. */
static void send_now(lua_State *L, dgram_socket *s, int sidx, const send_args *a,
                     const struct sockaddr *dest) {
  uv_buf_t bufs[MAX_BUFS];
  size_t n = fill_bufs(L, a, bufs);
  if (dest != NULL && s->send_block != NULL && blocklist_match(s->send_block, dest)) {
    push_blocked_error(L, dest);
    send_fail(L, s, sidx, a->cb);
    return;
  }
  if (n == 0) {
    send_report(L, s, sidx, a->cb, UV_EMSGSIZE, dest);
    return;
  }
  int is_string = lua_type(L, a->data) == LUA_TSTRING; /* a table could change */
  if (batch_add(L, s, sidx, a->data, is_string ? &bufs[0] : NULL, a->cb, dest)) return;
  if (closed_meanwhile(L, s, sidx, a->cb)) return;
  int rc = uv_udp_try_send(s->handle, bufs, (unsigned)n, dest);
  if (rc != UV_EAGAIN) {
    send_report(L, s, sidx, a->cb, rc, dest);
    return;
  }
  send_through_libuv(L, s, sidx, bufs, n, a->data, a->cb, dest);
}

/* ---- where to: literal, or behind what waits ------------------------------------- */

static void send_waited(lua_State *L, dgram_socket *s, int sidx, int item);
static const waiting_op send_op = {send_waited};

/* Packs a send into an operation of the waiting queue. */
static void send_pack(lua_State *L, dgram_socket *s, const send_args *a) {
  waiting_item_new(L, &send_op,
                   s->connect_state == DISCONNECTED ? WAIT_SEND : WAIT_SEND_CONNECTED,
                   a->port);
  size_t len;
  const char *p = lua_tolstring(L, a->data, &len);
  if (p != NULL && (a->off != 0 || a->len != len) && a->len <= UDP_PAYLOAD_MAX)
    lua_pushlstring(L, p + a->off, a->len);
  else /* a slice too long to send is no shorter whole: no copy, the same EMSGSIZE */
    push_data_copy(L, a->data);
  lua_setiuservalue(L, -2, WV_DATA);
  if (a->host) lua_pushvalue(L, a->host), lua_setiuservalue(L, -2, WV_HOST);
  if (a->cb) lua_pushvalue(L, a->cb), lua_setiuservalue(L, -2, WV_CB);
}

/* Pushes the packed send's values (data, host, callback) and points `a` at them. */
static void send_unpack(lua_State *L, int idx, send_args *a) {
  int base = lua_gettop(L);
  for (int v = WV_DATA; v <= WV_CB; v++)
    lua_getiuservalue(L, idx, v);
  a->data = base + WV_DATA;
  a->off = 0;
  a->len = lua_type(L, a->data) == LUA_TSTRING ? lua_rawlen(L, a->data) : 0;
  a->port = WAITING_ITEM(L, idx)->port;
  a->host = lua_isnil(L, base + WV_HOST) ? 0 : base + WV_HOST;
  a->cb = lua_isnil(L, base + WV_CB) ? 0 : base + WV_CB;
}

/* A destination that is no address of the socket's family: "send EINVAL host:port". */
static void send_fail_to(lua_State *L, dgram_socket *s, int sidx, int cb, int rc,
                         const char *host, int port) {
  s->stats.send_errors++;
  push_uv_error(L, rc, "send", host, port);
  send_fail(L, s, sidx, cb);
}

/* A send's turn in the waiting queue has come: its address is known (WV_RESULT), or its
 * lookup failed, or it waited for a connect. */
static void send_waited(lua_State *L, dgram_socket *s, int sidx, int item) {
  send_args a;
  send_unpack(L, item, &a);
  int failed = WAITING_ITEM(L, item)->phase == PHASE_FAILED;
  int connected = WAITING_ITEM(L, item)->kind == WAIT_SEND_CONNECTED;
  lua_getiuservalue(L, item, WV_RESULT);
  int result = lua_gettop(L);
  if (failed) {
    lua_pushvalue(L, result);
    send_fail(L, s, sidx, a.cb);
  } else if (connected && s->connect_state != CONNECTED) { /* the connect failed */
    push_error(L, "ERR_SOCKET_DGRAM_NOT_CONNECTED", "Not connected", NULL, 0, NULL, -1);
    s->stats.send_errors++;
    send_fail(L, s, sidx, a.cb);
  } else if (connected) {
    send_now(L, s, sidx, &a, NULL);
  } else {
    dgram_addr dest;
    int rc = socket_address_of(lua_tostring(L, result), a.port, s->family, &dest);
    if (rc == 0)
      send_now(L, s, sidx, &a, &dest.sa);
    else
      send_fail_to(L, s, sidx, a.cb, rc, lua_tostring(L, result), a.port);
  }
  lua_settop(L, item);
}

/* The last literal destination, parsed once: a server answers the same peer often. */
static int dest_of(dgram_socket *s, const char *host, int port, struct sockaddr **out) {
  if (port != s->dest_port || strcmp(host, s->dest_host) != 0) {
    dgram_addr parsed; /* the cache keeps the last good one when this is no literal */
    int rc = socket_address_of(host, port, s->family, &parsed);
    if (rc != 0) return rc;
    s->dest = parsed;
    size_t n = strlen(host);
    if (n >= sizeof s->dest_host) n = 0;
    memcpy(s->dest_host, host, n);
    s->dest_host[n] = '\0';
    s->dest_port = n ? port : -1;
  }
  *out = &s->dest.sa;
  return 0;
}

/* A send on a bound socket with nothing waiting: to a literal (most often the last one
 * again) or the peer it goes now; else it waits for its lookup. Returns LUA_OK, or the
 * status of an error the `lookup` function raised (pushed). */
static int send_dispatch(lua_State *L, dgram_socket *s, int sidx, const send_args *a) {
  if (s->connect_state == CONNECTED) {
    send_now(L, s, sidx, a, NULL);
    return LUA_OK;
  }
  if (!s->has_lookup && s->connect_state == DISCONNECTED) {
    const char *host = a->host ? lua_tostring(L, a->host) : NULL;
    if (host == NULL || *host == '\0') host = s->family == AF_INET6 ? "::1" : "127.0.0.1";
    struct sockaddr *dest;
    int rc = dest_of(s, host, a->port, &dest);
    if (rc == 0) {
      send_now(L, s, sidx, a, dest);
      return LUA_OK;
    }
    if (resolve_is_literal(host)) { /* of the other family */
      send_fail_to(L, s, sidx, a->cb, rc, host, a->port);
      return LUA_OK;
    }
  }
  send_pack(L, s, a);
  return waiting_add(L, s, sidx);
}

/* ---- socket:send(msg, [offset, length,] [port, [address,]] [callback]) ------------- */

/* JavaScript's truthiness, which Node's argument shuffling relies on. */
static int truthy(lua_State *L, int idx) {
  switch (lua_type(L, idx)) {
  case LUA_TNIL:
    return 0;
  case LUA_TBOOLEAN:
    return lua_toboolean(L, idx);
  case LUA_TNUMBER:
    return lua_tonumber(L, idx) != 0;
  case LUA_TSTRING:
    return lua_rawlen(L, idx) != 0;
  default:
    return 1;
  }
}

static void check_message(lua_State *L, int idx) {
  if (lua_type(L, idx) == LUA_TSTRING) return;
  if (lua_type(L, idx) == LUA_TTABLE) {
    lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
    for (lua_Integer i = 1; i <= n; i++) {
      int t = lua_rawgeti(L, idx, i);
      lua_pop(L, 1);
      if (t != LUA_TSTRING)
        raise_error(L, "ERR_INVALID_ARG_TYPE",
                    "The \"buffer list arguments\" argument must be an array of strings. "
                    "Received %s at index %d",
                    lua_typename(L, t), (int)i);
    }
    if (n > MAX_BUFS)
      raise_error(L, "ERR_OUT_OF_RANGE", "A datagram takes at most %d strings", MAX_BUFS);
    return;
  }
  raise_error(L, "ERR_INVALID_ARG_TYPE",
              "The \"buffer\" argument must be of type string or an array of strings. "
              "Received %s",
              type_name(L, idx));
}

static size_t check_slice_arg(lua_State *L, int idx, const char *name, size_t limit) {
  if (lua_type(L, idx) != LUA_TNUMBER)
    raise_error(L, "ERR_INVALID_ARG_TYPE",
                "The \"%s\" argument must be of type number. Received %s", name,
                type_name(L, idx));
  lua_Number n = lua_tonumber(L, idx);
  if (!(n >= 0) || n > (lua_Number)limit)
    raise_error(L, "ERR_BUFFER_OUT_OF_BOUNDS", "\"%s\" is outside of buffer bounds",
                name);
  return (size_t)n;
}

static void check_slice(lua_State *L, send_args *a, int offset, int length) {
  if (lua_type(L, a->data) != LUA_TSTRING)
    raise_error(L, "ERR_INVALID_ARG_TYPE",
                "The \"buffer\" argument must be of type string when offset and length "
                "are given. Received %s",
                type_name(L, a->data));
  size_t size = lua_rawlen(L, a->data);
  a->off = check_slice_arg(L, offset, "offset", size);
  a->len = check_slice_arg(L, length, "length", size - a->off);
}

static int socket_send(lua_State *L) {
  dgram_socket *s = socket_check(L, 1);
  luaL_checkstack(L, DGRAM_CALL_STACK, NULL);
  lua_settop(L, 8);
  send_args a = {2, 0, 0, 0, 0, 0};
  int offset = 3, length = 4, port = 5, address = 6, cb = 7, none = 8, sliced;
  check_message(L, 2);
  if (s->connect_state == DISCONNECTED) { /* connected from the connect() call on */
    sliced = truthy(L, address) || (truthy(L, port) && !lua_isfunction(L, port));
    if (!sliced) cb = port, port = offset, address = length;
  } else {
    sliced = lua_type(L, length) == LUA_TNUMBER;
    if (sliced && lua_isfunction(L, port)) cb = port, port = none;
    if (!sliced) { /* send(msg[, port][, address][, callback]), each one optional */
      int i = offset;
      port = address = cb = none;
      if (!lua_isfunction(L, i)) port = i++;
      if (!lua_isfunction(L, i)) address = i++;
      if (lua_isfunction(L, i)) cb = i;
    }
    if (truthy(L, port) || truthy(L, address))
      return raise_error(L, "ERR_SOCKET_DGRAM_IS_CONNECTED", "Already connected");
  }
  if (sliced)
    check_slice(L, &a, offset, length);
  else
    a.len = lua_type(L, 2) == LUA_TSTRING ? lua_rawlen(L, 2) : 0;
  if (s->connect_state == DISCONNECTED) a.port = check_port(L, port, 0);
  a.cb = lua_isfunction(L, cb) ? cb : 0;
  if (lua_isfunction(L, address)) {
    a.cb = address;
  } else if (!lua_isnil(L, address)) {
    if (lua_type(L, address) != LUA_TSTRING)
      return raise_error(L, "ERR_INVALID_ARG_TYPE",
                         "The \"address\" argument must be of type string. Received %s",
                         type_name(L, address));
    a.host = address;
    address_check_arg(L, address, "address");
  }
  if (s->state == SOCK_CLOSED) return raise_not_running(L);
  if (s->wait.sends + uv_udp_get_send_queue_count(s->handle) >= SEND_QUEUE_MAX) {
    send_refuse(L, s, 1, &a);
    return 0;
  }
  int status;
  if (s->state == SOCK_BOUND && !waiting_any(s)) {
    status = send_dispatch(L, s, 1, &a);
  } else { /* behind the bind, lookups or a connect: in order */
    send_pack(L, s, &a);
    status = waiting_add(L, s, 1);
    if (status == LUA_OK && s->state == SOCK_UNBOUND)
      status = socket_bind_implicit(L, s, 1);
  }
  if (status != LUA_OK) return lua_error(L); /* raised by the lookup function */
  return 0;
}

/* Node's counts are libuv's queue; sends waiting for the bind, a lookup or a connect
 * have not left either, so they count too. */
static int socket_send_queue_size(lua_State *L) {
  dgram_socket *s = socket_check_settled(L, 1);
  lua_pushinteger(L,
                  (lua_Integer)(uv_udp_get_send_queue_size(s->handle) + s->wait.bytes));
  return 1;
}

static int socket_send_queue_count(lua_State *L) {
  dgram_socket *s = socket_check_settled(L, 1);
  lua_pushinteger(L,
                  (lua_Integer)(uv_udp_get_send_queue_count(s->handle) + s->wait.sends));
  return 1;
}

void send_register(lua_State *L) {
  static const luaL_Reg methods[] = {{"send", socket_send},
                                     {"getSendQueueSize", socket_send_queue_size},
                                     {"getSendQueueCount", socket_send_queue_count},
                                     {NULL, NULL}};
  socket_add_methods(L, methods);
}

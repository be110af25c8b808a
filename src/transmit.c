/* What every send path shares below the batch: a datagram handed to libuv's own queue
 * when the kernel's is full, and each send's outcome reported exactly once (callback or
 * 'error', the stats counted). The batch (batch.c) and the send call (send.c) use it. */
#include "dgram.h"

#include <stdlib.h>
#include <string.h>

/* A send the kernel could not take at once: libuv holds it until its callback. */
typedef struct send_req {
  uv_udp_send_t req;
  int data_ref, cb_ref;
  size_t bytes;
  dgram_addr dest;
} send_req;

/* ---- failures ---------------------------------------------------------------------- */

static void emit_send_error(lua_State *L, const deferred *d, int base) {
  dgram_socket *s = lua_touserdata(L, base);
  (void)d;
  s->queued_errors--;
  lua_pushvalue(L, base + 2);
  socket_emit(L, s, base, EV_ERROR, 1);
}

/* A send failed: the error (stack top, popped) goes to the callback at cb later, or is
 * emitted as 'error' later while not too many wait already. */
void send_fail(lua_State *L, dgram_socket *s, int sidx, int cb) {
  if (cb) {
    socket_fail(L, s, sidx, cb);
    return;
  }
  if (s->queued_errors >= QUEUED_ERRORS_MAX) {
    lua_pop(L, 1);
    return;
  }
  s->queued_errors++;
  deferred d = {.kind = DEFER_CONTINUE, .cont = emit_send_error};
  lua_pushvalue(L, sidx);
  lua_pushnil(L);
  lua_rotate(L, -3, -1); /* socket, nil, err */
  loop_defer(L, s->loop, &d, 3);
}

/* ---- completion -------------------------------------------------------------------- */

/* Reports a send's outcome later: cb(nil, bytes) / cb(err), or 'error' without one. */
void send_report(lua_State *L, dgram_socket *s, int sidx, int cb, int status,
                 const struct sockaddr *dest) {
  if (status >= 0) {
    s->stats.sent++;
    s->loop->sent = 1; /* answers may follow soon: see poll_briefly */
    if (!cb) return;
    deferred d = {.kind = DEFER_CALL, .has_value = 1, .value = status};
    lua_pushnil(L);
    lua_pushvalue(L, cb);
    loop_defer(L, s->loop, &d, 2);
    return;
  }
  s->stats.send_errors++;
  if (status == UV_ECANCELED && !cb) return; /* the user closed it: nothing to tell */
  char ip[DGRAM_ADDRSTRLEN] = "";
  int port = -1;
  if (dest != NULL) sockaddr_string(dest, ip, sizeof ip, &port);
  push_uv_error(L, status, "send", dest ? ip : NULL, port);
  send_fail(L, s, sidx, cb);
}

static void send_done(uv_udp_send_t *req, int status) {
  send_req *r = (send_req *)req;
  dgram_loop *loop = (dgram_loop *)req->handle->loop;
  dgram_socket *s = req->handle->data;
  lua_State *L = loop_state(loop);
  if (L != NULL && s != NULL) {
    luaL_unref(L, LUA_REGISTRYINDEX, r->data_ref);
    socket_push(L, s);
    lua_rawgeti(L, LUA_REGISTRYINDEX, r->cb_ref);
    luaL_unref(L, LUA_REGISTRYINDEX, r->cb_ref);
    int top = lua_gettop(L);
    send_report(L, s, top - 1, lua_isnil(L, top) ? 0 : top,
                status < 0 ? status : (int)r->bytes, &r->dest.sa);
    lua_settop(L, top - 2);
  }
  loop_free_req(loop, r);
}

/* A finalizer run by an allocation since send() checked the state may have closed the
 * socket: then the send is told so instead of reaching a closing handle. */
int closed_meanwhile(lua_State *L, dgram_socket *s, int sidx, int cb) {
  if (s->state != SOCK_CLOSED) return 0;
  push_not_running(L);
  socket_fail(L, s, sidx, cb);
  return 1;
}

void push_data_copy(lua_State *L, int data) {
  if (lua_type(L, data) == LUA_TSTRING) {
    lua_pushvalue(L, data);
    return;
  }
  lua_Integer n = (lua_Integer)lua_rawlen(L, data);
  lua_createtable(L, (int)n, 0);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, data, i);
    lua_rawseti(L, -2, i);
  }
}

/* Hands the datagram to libuv's queue (the kernel's is full): the Lua values are kept
 * referenced until its callback. */
void send_through_libuv(lua_State *L, dgram_socket *s, int sidx, const uv_buf_t *bufs,
                        size_t n, int data, int cb, const struct sockaddr *dest) {
  if (closed_meanwhile(L, s, sidx, cb)) return;
  send_req *r = loop_alloc_req(s->loop, sizeof *r);
  if (r == NULL) luaL_error(L, "dgram: out of memory");
  r->bytes = 0;
  for (size_t i = 0; i < n; i++)
    r->bytes += bufs[i].len;
  if (dest != NULL)
    memcpy(&r->dest, dest,
           dest->sa_family == AF_INET6 ? sizeof r->dest.in6 : sizeof r->dest.in);
  else
    uv_udp_getpeername(s->handle, &r->dest.sa, &(int){sizeof r->dest});
  int rc = uv_udp_send(&r->req, s->handle, bufs, (unsigned)n, dest, send_done);
  if (rc != 0) {
    loop_free_req(s->loop, r);
    send_report(L, s, sidx, cb, rc, dest);
    return;
  }
  push_data_copy(L, data); /* the user may change an array after send returns */
  r->data_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  if (cb)
    lua_pushvalue(L, cb);
  else
    lua_pushnil(L);
  r->cb_ref = luaL_ref(L, LUA_REGISTRYINDEX);
}

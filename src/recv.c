/* The receive path: one slab per loop, a cheap rinfo, the 'message' handler called
 * directly from C. */
#include "dgram.h"

#include <stdlib.h>
#include <string.h>

/* libuv reads until recvmmsg fails with EAGAIN: one more system call per wake-up.
 * After a short read in this turn the socket is known to be empty, so an empty buffer
 * ends the reading instead (libuv reports it as UV_ENOBUFS, which recv_on_data expects);
 * the poll wakes the loop again if more has come meanwhile. */
void recv_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  dgram_loop *loop = (dgram_loop *)h->loop;
  dgram_socket *s = h->data;
  (void)suggested;
  if (s != NULL && s->drained_turn == loop->turn) {
    *buf = uv_buf_init(NULL, 0);
    return;
  }
  if (loop->slab == NULL) loop->slab = malloc(DGRAM_SLAB_SIZE);
  *buf = uv_buf_init(loop->slab, loop->slab ? DGRAM_SLAB_SIZE : 0);
}

static int same_peer(const struct sockaddr *a, const dgram_addr *cached) {
  if (a->sa_family != cached->sa.sa_family) return 0;
  if (a->sa_family == AF_INET)
    return ((const struct sockaddr_in *)a)->sin_addr.s_addr == cached->in.sin_addr.s_addr;
  const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a;
  const struct sockaddr_in6 *y = &cached->in6;
  return x->sin6_scope_id == y->sin6_scope_id &&
         memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
}

/* Pushes the sender's address string, formatted once per peer and then cached. */
static void push_peer(lua_State *L, dgram_socket *s, int sidx, const struct sockaddr *a) {
  if (same_peer(a, &s->peer)) {
    lua_getiuservalue(L, sidx, UV_PEER);
    return;
  }
  char host[DGRAM_ADDRSTRLEN];
  int port;
  lua_pushstring(L, sockaddr_string(a, host, sizeof host, &port));
  lua_pushvalue(L, -1);
  lua_setiuservalue(L, sidx, UV_PEER);
  memcpy(&s->peer, a,
         a->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                  : sizeof(struct sockaddr_in));
}

/* rinfo = {address, family, port, size}, its keys taken from dgram.run's stack slots. */
static void push_rinfo(lua_State *L, dgram_socket *s, int sidx, const struct sockaddr *a,
                       ssize_t size) {
  const dgram_loop *loop = s->loop;
  lua_createtable(L, 0, 4);
  lua_pushvalue(L, LOOP_SLOT(loop, SLOT_ADDRESS));
  push_peer(L, s, sidx, a);
  lua_rawset(L, -3);
  lua_pushvalue(L, LOOP_SLOT(loop, SLOT_FAMILY));
  lua_pushvalue(L, LOOP_SLOT(loop, a->sa_family == AF_INET6 ? SLOT_IPV6 : SLOT_IPV4));
  lua_rawset(L, -3);
  lua_pushvalue(L, LOOP_SLOT(loop, SLOT_PORT));
  lua_pushinteger(L, ntohs(((const struct sockaddr_in *)a)->sin_port));
  lua_rawset(L, -3);
  lua_pushvalue(L, LOOP_SLOT(loop, SLOT_SIZE));
  lua_pushinteger(L, size);
  lua_rawset(L, -3);
}

/* Emitted on a later turn: the callback of the send whose datagram provoked an
 * ECONNREFUSED was queued before it, and runs first (as in Node). */
static void recv_error(lua_State *L, dgram_socket *s, int sidx, int err) {
  push_uv_error(L, err, "recvmsg", NULL, -1);
  socket_defer_emit(L, s, sidx, EV_ERROR, 1);
}

void recv_on_data(uv_udp_t *h, ssize_t n, const uv_buf_t *buf, const struct sockaddr *a,
                  unsigned flags) {
  dgram_socket *s = h->data;
  lua_State *L = s != NULL ? loop_state(s->loop) : NULL;
  if (L == NULL) return; /* collected, or the state is closing */
  if (a == NULL && n == UV_ENOBUFS && s->drained_turn == s->loop->turn)
    return;                  /* recv_alloc ended the reading: see there */
  if (n == 0 && a == NULL) { /* nothing (more) to read: a batch's replies go out now */
    if (flags & UV_UDP_MMSG_FREE) {
      if (s->recv_chunks < DGRAM_SLAB_DGRAMS) s->drained_turn = s->loop->turn;
      s->recv_chunks = 0;
      batch_flush(L, s->loop);
    }
    return;
  }
  if (flags & UV_UDP_MMSG_CHUNK) s->recv_chunks++;
  if (a != NULL) s->loop->reads++;
  if (a != NULL && s->recv_block != NULL && blocklist_match(s->recv_block, a)) return;
  socket_push(L, s);
  int sidx = lua_gettop(L);
  if (n < 0) {
    recv_error(L, s, sidx, (int)n);
  } else if (flags & UV_UDP_PARTIAL) {
    recv_error(L, s, sidx, UV_EMSGSIZE); /* never deliver a cut datagram as whole */
  } else {
    s->stats.received++;
    int tapped = s->tapped, listened = lua_getiuservalue(L, sidx, UV_MESSAGE) != LUA_TNIL;
    if (listened || tapped) {
      lua_pushlstring(L, buf->base, (size_t)n);
      push_rinfo(L, s, sidx, a, n);
      if (listened &&
          tapped) { /* handler, msg, rinfo -> msg, rinfo, handler, msg, rinfo */
        lua_pushvalue(L, -2);
        lua_pushvalue(L, -2);
        lua_rotate(L, -5, 2);
      }
      if (listened)
        loop_call(L, s->loop, 2); /* deferred to the next run if the loop is stopping */
      else
        lua_remove(L, -3);                        /* the nil handler */
      if (tapped) socket_call_tap(L, s, sidx, 2); /* after the listener */
    }
  }
  lua_settop(L, sidx - 1);
}

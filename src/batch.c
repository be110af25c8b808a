/* Sends made while a batch of received datagrams is being delivered go out together when
 * the batch ends: one sendmmsg per socket instead of one sendmsg per datagram, so an echo
 * server answers a recvmmsg batch with one system call. Nothing else about a send
 * changes: its callback still comes later with its bytes or its error, and anything that
 * could see the difference (another kind of send, an option setter, close) flushes the
 * batch first. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* sendmmsg */
#endif
#include "dgram.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define BATCH_MAX 64
#define VALUES 3 /* per message in the batch's Lua table: socket, string, callback */

typedef struct batch_msg {
  dgram_socket *s;
  uv_buf_t buf; /* into the string kept in the batch's table */
  dgram_addr dest;
  int has_dest;
} batch_msg;

struct send_batch {
  int active; /* a receive batch is being delivered */
  int n;
  int ref; /* registry ref of the table keeping the messages' Lua values */
  batch_msg msgs[BATCH_MAX];
};

void batch_begin(lua_State *L, dgram_loop *loop) {
  if (loop->batch == NULL) {
    struct send_batch *b = calloc(1, sizeof *b);
    if (b == NULL) return; /* then sends simply go out one by one */
    lua_createtable(L, BATCH_MAX * VALUES, 0);
    b->ref = luaL_ref(L, LUA_REGISTRYINDEX);
    loop->batch = b;
  }
  loop->batch->active = 1;
}

void batch_end(lua_State *L, dgram_loop *loop) {
  if (loop->batch == NULL) return;
  loop->batch->active = 0;
  batch_flush(L, loop);
}

void batch_free(dgram_loop *loop) {
  free(loop->batch);
  loop->batch = NULL;
}

int batch_add(lua_State *L, dgram_socket *s, int sidx, int data, const uv_buf_t *buf,
              int cb, const struct sockaddr *dest) {
  struct send_batch *b = s->loop->batch;
  if (b == NULL || !b->active) return 0;
  /* A full batch, or libuv still holding earlier sends of this socket: keep the order. */
  if (b->n == BATCH_MAX || buf == NULL || uv_udp_get_send_queue_count(s->handle) != 0) {
    batch_flush(L, s->loop);
    if (buf == NULL || uv_udp_get_send_queue_count(s->handle) != 0) return 0;
  }
  batch_msg *m = &b->msgs[b->n];
  m->s = s;
  m->buf = *buf;
  m->has_dest = dest != NULL;
  if (dest != NULL)
    memcpy(&m->dest, dest,
           dest->sa_family == AF_INET6 ? sizeof m->dest.in6 : sizeof m->dest.in);
  lua_rawgeti(L, LUA_REGISTRYINDEX, b->ref);
  lua_Integer slot = (lua_Integer)b->n * VALUES;
  lua_pushvalue(L, sidx);
  lua_rawseti(L, -2, slot + 1);
  lua_pushvalue(L, data);
  lua_rawseti(L, -2, slot + 2);
  if (cb) {
    lua_pushvalue(L, cb);
    lua_rawseti(L, -2, slot + 3);
  }
  lua_pop(L, 1);
  b->n++;
  return 1;
}

/* Reports message m's outcome (bytes or a libuv error) as a direct send would. */
static void report(lua_State *L, const struct send_batch *b, int vals, int m,
                   int status) {
  const batch_msg *msg = &b->msgs[m];
  lua_rawgeti(L, vals, (lua_Integer)m * VALUES + 1);
  int cb =
      lua_rawgeti(L, vals, (lua_Integer)m * VALUES + 3) == LUA_TNIL ? 0 : lua_gettop(L);
  send_report(L, msg->s, lua_gettop(L) - 1, cb, status,
              msg->has_dest ? &msg->dest.sa : NULL);
  lua_pop(L, 2);
}

/* Hands messages [from, to) to libuv's queue: the kernel would not take them now. */
static void queue_rest(lua_State *L, const struct send_batch *b, int vals, int from,
                       int to) {
  for (int m = from; m < to; m++) {
    const batch_msg *msg = &b->msgs[m];
    lua_rawgeti(L, vals, (lua_Integer)m * VALUES + 1);
    lua_rawgeti(L, vals, (lua_Integer)m * VALUES + 2);
    int cb =
        lua_rawgeti(L, vals, (lua_Integer)m * VALUES + 3) == LUA_TNIL ? 0 : lua_gettop(L);
    int top = lua_gettop(L);
    send_through_libuv(L, msg->s, top - 2, &msg->buf, 1, top - 1, cb,
                       msg->has_dest ? &msg->dest.sa : NULL);
    lua_pop(L, 3);
  }
}

/* Sends messages [from, to), all of one socket, with as few sendmmsg calls as it takes.
 */
static void flush_socket(lua_State *L, struct send_batch *b, int vals, int from, int to) {
  dgram_socket *s = b->msgs[from].s;
  struct mmsghdr hdr[BATCH_MAX];
  uv_os_fd_t fd;
  for (int m = from; m < to; m++) {
    batch_msg *msg = &b->msgs[m];
    struct msghdr *h = &hdr[m - from].msg_hdr;
    memset(h, 0, sizeof *h);
    h->msg_iov = (struct iovec *)&msg->buf; /* uv_buf_t is an iovec on Unix */
    h->msg_iovlen = 1;
    if (msg->has_dest) {
      h->msg_name = &msg->dest;
      h->msg_namelen =
          msg->dest.sa.sa_family == AF_INET6 ? sizeof msg->dest.in6 : sizeof msg->dest.in;
    }
  }
  if (s->handle == NULL || uv_fileno((uv_handle_t *)s->handle, &fd) != 0) {
    for (int m = from; m < to; m++)
      report(L, b, vals, m, UV_EBADF);
    return;
  }
  int m = from;
  while (m < to) {
    int sent;
    do
      sent = sendmmsg(fd, &hdr[m - from], (unsigned)(to - m), 0);
    while (sent < 0 && errno == EINTR);
    if (sent > 0) {
      for (int k = m; k < m + sent; k++)
        report(L, b, vals, k, (int)b->msgs[k].buf.len);
      m += sent;
      continue;
    }
    int err = sent < 0 ? uv_translate_sys_error(errno) : UV_EIO;
    if (err == UV_EAGAIN) {
      queue_rest(L, b, vals, m, to);
      return;
    }
    report(L, b, vals, m, err); /* the first message failed: report it, go on */
    m++;
  }
}

void batch_flush(lua_State *L, dgram_loop *loop) {
  struct send_batch *b = loop->batch;
  if (b == NULL || b->n == 0) return;
  int n = b->n;
  b->n = 0;
  lua_rawgeti(L, LUA_REGISTRYINDEX, b->ref);
  int vals = lua_gettop(L);
  for (int i = 0; i < n;) {
    int j = i + 1;
    while (j < n && b->msgs[j].s == b->msgs[i].s)
      j++;
    flush_socket(L, b, vals, i, j);
    i = j;
  }
  for (int k = 1; k <= n * VALUES; k++) {
    lua_pushnil(L);
    lua_rawseti(L, vals, k);
  }
  lua_pop(L, 1);
}

/* Sends of one loop turn go out together: a one-string send made in a callback (inside
 * dgram.run or dgram.batch; elsewhere a send leaves at once) is kept in the loop's batch
 * and the batch leaves, one sendmmsg per socket, when it is full, when a receive batch
 * has been delivered, when the deferred callbacks of a turn have run, before the loop
 * waits for I/O and when dgram.run returns. Consecutive datagrams of one size to one
 * destination leave as one UDP GSO write, which the kernel cuts into the same datagrams
 * for a fraction of the cost of each. Nothing else about a send changes: its callback
 * still comes on a later turn with its bytes or its error, and anything that could see
 * the difference (another kind of send, an option setter, close) flushes the batch
 * first. Without sendmmsg (platform.h) each datagram of the batch leaves by
 * uv_udp_try_send instead: the same order, the same reports, one system call each. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* sendmmsg */
#endif
#include "dgram.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef DGRAM_HAVE_SENDMMSG
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#endif
#ifdef DGRAM_HAVE_GSO
#include <netinet/udp.h>
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#endif

#define BATCH_MAX 64
#define VALUES 3 /* per message in the batch's Lua table: socket, string, callback */
#define GSO_MAX_BYTES 65507 /* the largest UDP payload over IPv4 */

typedef struct batch_msg {
  dgram_socket *s;
  uv_buf_t buf; /* into the string kept in the batch's table */
  dgram_addr dest;
  int has_dest, has_cb;
} batch_msg;

#ifdef DGRAM_HAVE_SENDMMSG
/* One sendmmsg entry: messages [first, first + count) as one datagram, or as one GSO
 * write cut into `count` datagrams. */
typedef struct batch_write {
  int first, count;
} batch_write;

/* The sendmmsg entries of one flush. */
typedef struct write_set {
  struct mmsghdr hdr[BATCH_MAX];
  struct iovec iov[BATCH_MAX];
  union {
    char buf[CMSG_SPACE(sizeof(uint16_t))];
    struct cmsghdr align;
  } ctl[BATCH_MAX];
  batch_write w[BATCH_MAX];
} write_set;
#endif

struct send_batch {
  int n;
  int flushing; /* a finalizer run by the flush may send: that send goes out directly */
  int ref;      /* registry ref of the table keeping the messages' Lua values */
  batch_msg msgs[BATCH_MAX];
#ifdef DGRAM_HAVE_SENDMMSG
  write_set ws;
#endif
};

static struct send_batch *batch_create(lua_State *L, dgram_loop *loop) {
  struct send_batch *b = calloc(1, sizeof *b);
  if (b == NULL) return NULL; /* then sends simply go out one by one */
  lua_createtable(L, BATCH_MAX * VALUES, 0);
  b->ref = luaL_ref(L, LUA_REGISTRYINDEX);
  if (loop->batch != NULL) { /* a finalizer run by the allocation made one already */
    luaL_unref(L, LUA_REGISTRYINDEX, b->ref);
    free(b);
    return loop->batch;
  }
  loop->batch = b;
  return b;
}

int batch_add(lua_State *L, dgram_socket *s, int sidx, int data, const uv_buf_t *buf,
              int cb, const struct sockaddr *dest) {
  struct send_batch *b = s->loop->batch;
  /* Outside dgram.run and dgram.batch nothing would flush it soon; a connected socket
   * learns of the peer's port-unreachable by its next send, which sendmmsg would not
   * report. */
  if ((s->loop->L == NULL && s->loop->batching == 0) || s->connect_state == CONNECTED)
    return 0;
  if (b == NULL && (buf == NULL || (b = batch_create(L, s->loop)) == NULL)) return 0;
  if (b->flushing) return 0;
  /* A full batch, or libuv still holding earlier sends of this socket: keep the order. */
  if (b->n == BATCH_MAX || buf == NULL || uv_udp_get_send_queue_count(s->handle) != 0) {
    batch_flush(L, s->loop);
    if (buf == NULL || uv_udp_get_send_queue_count(s->handle) != 0) return 0;
  }
  if (s->state == SOCK_CLOSED) return 0; /* by a finalizer the table or flush ran */
  batch_msg *m = &b->msgs[b->n];
  m->s = s;
  m->buf = *buf;
  m->has_dest = dest != NULL;
  m->has_cb = cb != 0;
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

/* ---- reporting ----------------------------------------------------------------------
 */

/* Reports message m's outcome (bytes or a libuv error) as a direct send would. */
static void report(lua_State *L, const struct send_batch *b, int vals, int m,
                   int status) {
  const batch_msg *msg = &b->msgs[m];
  if (status >= 0 && !msg->has_cb) { /* sent, nobody to tell: the common case, quickly */
    msg->s->stats.sent++;
    msg->s->loop->sent = 1;
    return;
  }
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

#ifdef DGRAM_HAVE_SENDMMSG
/* ---- grouping for GSO ---------------------------------------------------------------
 */

static socklen_t dest_len(const batch_msg *m) {
  return m->dest.sa.sa_family == AF_INET6 ? sizeof m->dest.in6 : sizeof m->dest.in;
}

#ifdef DGRAM_HAVE_GSO

static int same_dest(const batch_msg *a, const batch_msg *b) {
  if (a->has_dest != b->has_dest) return 0;
  return !a->has_dest || (a->dest.sa.sa_family == b->dest.sa.sa_family &&
                          memcmp(&a->dest, &b->dest, dest_len(a)) == 0);
}

/* Multicast and broadcast go out one by one: GSO is for unicast flows-> */
static int unicast_dest(const batch_msg *m) {
  if (!m->has_dest) return 1;
  if (m->dest.sa.sa_family == AF_INET6) return m->dest.in6.sin6_addr.s6_addr[0] != 0xff;
  uint32_t ip = ntohl(m->dest.in.sin_addr.s_addr);
  return (ip >> 28) != 0xe && ip != 0xffffffffu;
}

/* How many messages from `first` can leave as one GSO write: one destination, one size
 * (the last may be shorter), within the largest UDP payload. */
static int gso_run(const struct send_batch *b, int first, int to) {
  const batch_msg *head = &b->msgs[first];
  size_t seg = head->buf.len, total = seg;
  if (head->s->no_gso || seg == 0 ||
      (head->s->gso_max_seg && seg > head->s->gso_max_seg) || !unicast_dest(head))
    return 1;
  int n = 1;
  while (first + n < to) {
    const batch_msg *m = &b->msgs[first + n];
    if (m->buf.len == 0 || m->buf.len > seg || total + m->buf.len > GSO_MAX_BYTES ||
        !same_dest(head, m))
      break;
    total += m->buf.len;
    n++;
    if (m->buf.len < seg) break; /* only the last may be shorter */
  }
  return n;
}
#endif

/* The sendmmsg entries for messages [from, to); GSO only from `gso_from` on. */
static int build_writes(struct send_batch *b, write_set *ws, int from, int to,
                        int gso_from) {
  int nw = 0;
  for (int m = from; m < to; nw++) {
    int count = 1;
#ifdef DGRAM_HAVE_GSO
    if (m >= gso_from) count = gso_run(b, m, to);
#else
    (void)gso_from;
#endif
    batch_msg *msg = &b->msgs[m];
    struct msghdr *h = &ws->hdr[nw].msg_hdr;
    memset(h, 0, sizeof *h);
    for (int k = 0; k < count; k++) {
      ws->iov[m - from + k].iov_base = b->msgs[m + k].buf.base;
      ws->iov[m - from + k].iov_len = b->msgs[m + k].buf.len;
    }
    h->msg_iov = &ws->iov[m - from];
    h->msg_iovlen = (size_t)count;
    if (msg->has_dest) {
      h->msg_name = &msg->dest;
      h->msg_namelen = dest_len(msg);
    }
#ifdef DGRAM_HAVE_GSO
    if (count > 1) {
      h->msg_control = ws->ctl[nw].buf;
      h->msg_controllen = sizeof ws->ctl[nw].buf;
      struct cmsghdr *c = CMSG_FIRSTHDR(h);
      c->cmsg_level = SOL_UDP;
      c->cmsg_type = UDP_SEGMENT;
      c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
      uint16_t seg = (uint16_t)msg->buf.len;
      memcpy(CMSG_DATA(c), &seg, sizeof seg);
    }
#endif
    ws->w[nw] = (batch_write){m, count};
    m += count;
  }
  return nw;
}

/* A GSO write was refused for what GSO needs, not for its datagrams (a group is never
 * larger than a datagram may be, so EMSGSIZE means segments larger than the route's MTU):
 * the socket stops grouping such datagrams, or all of them. */
static int gso_refused(dgram_socket *s, int err, size_t seg) {
  if (err == EMSGSIZE) {
    s->gso_max_seg = (unsigned short)(seg - 1);
    if (seg == 1) s->no_gso = 1;
    return 1;
  }
  if (err == EINVAL || err == EIO || err == ENOPROTOOPT || err == EOPNOTSUPP) {
    s->no_gso = 1;
    return 1;
  }
  return 0;
}

/* ---- flushing ------------------------------------------------------------------------
 */

/* Sends messages [from, to), all of one socket, with as few system calls as it takes. */
static void flush_socket(lua_State *L, struct send_batch *b, int vals, int from, int to) {
  dgram_socket *s = b->msgs[from].s;
  write_set *ws = &b->ws;
  uv_os_fd_t fd;
  int m = from, gso_from = from;
  while (m < to) {
    /* Asked each time: a finalizer run by a report may have closed the socket. */
    if (s->state == SOCK_CLOSED || uv_fileno((uv_handle_t *)s->handle, &fd) != 0) {
      for (; m < to; m++)
        report(L, b, vals, m, UV_EBADF);
      return;
    }
    int nw = build_writes(b, ws, m, to, gso_from), sent;
    do
      sent = sendmmsg(fd, ws->hdr, (unsigned)nw, 0);
    while (sent < 0 && errno == EINTR);
    for (int k = 0; k < sent; k++)
      for (int i = ws->w[k].first; i < ws->w[k].first + ws->w[k].count; i++)
        report(L, b, vals, i, (int)b->msgs[i].buf.len);
    if (sent > 0) {
      m = ws->w[sent - 1].first + ws->w[sent - 1].count;
      continue;
    }
    int err = sent < 0 ? errno : EIO;
    if (err == EAGAIN || err == EWOULDBLOCK) {
      queue_rest(L, b, vals, m, to);
      return;
    }
    if (ws->w[0].count > 1 && gso_refused(s, err, b->msgs[m].buf.len)) {
      gso_from = m + ws->w[0].count; /* that group again, one by one */
      continue;
    }
    report(L, b, vals, m, uv_translate_sys_error(err)); /* it failed: report, go on */
    m++;
  }
}
#else
/* Sends messages [from, to), all of one socket, one uv_udp_try_send each; from the first
 * the kernel would not take now on, libuv's queue takes them, in order. */
static void flush_socket(lua_State *L, struct send_batch *b, int vals, int from, int to) {
  dgram_socket *s = b->msgs[from].s;
  for (int m = from; m < to; m++) {
    const batch_msg *msg = &b->msgs[m];
    /* Asked each time: a finalizer run by a report may have closed the socket. */
    if (s->state == SOCK_CLOSED || s->handle == NULL) {
      report(L, b, vals, m, UV_EBADF);
      continue;
    }
    int rc =
        uv_udp_try_send(s->handle, &msg->buf, 1, msg->has_dest ? &msg->dest.sa : NULL);
    if (rc == UV_EAGAIN) {
      queue_rest(L, b, vals, m, to);
      return;
    }
    report(L, b, vals, m, rc); /* the bytes sent, or the error */
  }
}
#endif

void batch_flush(lua_State *L, dgram_loop *loop) {
  struct send_batch *b = loop->batch;
  if (b == NULL || b->n == 0 || b->flushing) return;
  int n = b->n;
  b->flushing = 1;
  lua_rawgeti(L, LUA_REGISTRYINDEX, b->ref);
  int vals = lua_gettop(L);
  for (int i = 0; i < n;) {
    int j = i + 1;
    while (j < n && b->msgs[j].s == b->msgs[i].s)
      j++;
    flush_socket(L, b, vals, i, j);
    i = j;
  }
  for (int m = 0; m < n; m++) /* let the strings and callbacks go */
    for (int k = 1; k <= (b->msgs[m].has_cb ? 3 : 2); k++) {
      lua_pushnil(L);
      lua_rawseti(L, vals, (lua_Integer)m * VALUES + k);
    }
  lua_pop(L, 1);
  b->n = 0;
  b->flushing = 0;
}

/* The state is closing, or the process exiting: what the batch holds for socket s (NULL:
 * every socket) still leaves if the kernel takes it now, and nothing is reported. */
void batch_send_now(dgram_loop *loop, const dgram_socket *s) {
  struct send_batch *b = loop->batch;
  for (int m = 0; b != NULL && m < b->n; m++) {
    const batch_msg *msg = &b->msgs[m];
    if ((s == NULL || msg->s == s) && msg->s->handle != NULL)
      (void)uv_udp_try_send(msg->s->handle, &msg->buf, 1,
                            msg->has_dest ? &msg->dest.sa : NULL);
  }
}

/* Every method but send comes here: batched sends go out before anything changes. */
dgram_socket *socket_check_settled(lua_State *L, int idx) {
  dgram_socket *s = socket_check_open(L, idx);
  batch_flush(L, s->loop);
  if (s->state == SOCK_CLOSED) raise_not_running(L); /* by a finalizer the flush ran */
  return s;
}

static void batch_send_all_now(dgram_loop *loop) {
  batch_send_now(loop, NULL);
}

static void batch_free(dgram_loop *loop) {
  free(loop->batch);
  loop->batch = NULL;
}

/* The batch leaves at the end of each turn (and when dgram.run or dgram.batch returns),
 * without a report at exit, and is freed with the loop. */
void batch_register(lua_State *L) {
  static const loop_hooks hooks = {
      .turn_end = batch_flush, .exiting = batch_send_all_now, .closing = batch_free};
  loop_add_hooks(loop_get(L), &hooks);
}

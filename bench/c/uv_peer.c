/* The benchmark peer written in plain C on libuv: what a careful C programmer gets from
 * the same library dgram is built on (recvmmsg receive, try_send first).
 * Usage: uv_peer MODE ARGS... (the modes of bench/peers/dgram_peer.lua) */
#include "common.h"

#include <uv.h>

#define SLAB (20 * 64 * 1024) /* libuv's recvmmsg: up to 20 datagrams of 64 KiB */

static uv_loop_t *loop;
static char slab[SLAB];
static unsigned long long count, bytes;
static uv_udp_t sock;
static uv_timer_t ticker;
static meter m;
static struct sockaddr_in dest;
static char *payload;
static size_t size;

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)h;
  (void)suggested;
  *buf = uv_buf_init(slab, SLAB);
}

static int bind_any(uv_udp_t *h, unsigned flags) {
  struct sockaddr_in a;
  uv_ip4_addr("127.0.0.1", 0, &a);
  int rc = uv_udp_init_ex(loop, h, AF_INET | flags);
  if (rc == 0) rc = uv_udp_bind(h, (const struct sockaddr *)&a, 0);
  if (rc != 0) {
    fprintf(stderr, "uv_peer: bind: %s\n", uv_strerror(rc));
    exit(1);
  }
  int len = sizeof a;
  uv_udp_getsockname(h, (struct sockaddr *)&a, &len);
  return ntohs(a.sin_port);
}

static void print_port(int port) {
  printf("port=%d\n", port);
  fflush(stdout);
}

/* ---- recv ------------------------------------------------------------------------- */

static void recv_cb(uv_udp_t *h, ssize_t n, const uv_buf_t *buf, const struct sockaddr *a,
                    unsigned flags) {
  (void)h, (void)buf, (void)a, (void)flags;
  if (n > 0 || (n == 0 && a != NULL)) {
    count++;
    bytes += (unsigned long long)n;
  }
}

static void recv_tick(uv_timer_t *t) {
  if (meter_tick(&m, count)) {
    uv_close((uv_handle_t *)t, NULL);
    uv_close((uv_handle_t *)&sock, NULL);
    meter_report(&m, count, bytes);
  }
}

static int mode_recv(void) {
  int port = bind_any(&sock, UV_UDP_RECVMMSG);
  uv_udp_recv_start(&sock, on_alloc, recv_cb);
  meter_init(&m);
  uv_timer_init(loop, &ticker);
  uv_timer_start(&ticker, recv_tick, 20, 20);
  print_port(port);
  return uv_run(loop, UV_RUN_DEFAULT);
}

/* ---- send ------------------------------------------------------------------------- */

static unsigned long long n_send, done, errors;
static double t0, u0, s0;
static uv_idle_t idle;

static void send_finish(void) {
  double u1, s1;
  cpu_s(&u1, &s1);
  printf("errors=%llu secs=%.6f sent=%llu user=%.6f sys=%.6f\n", errors, now_s() - t0,
         n_send, u1 - u0, s1 - s0);
  fflush(stdout);
  uv_close((uv_handle_t *)&sock, NULL);
}

static void send_cb(uv_udp_send_t *req, int status) {
  free(req);
  if (status < 0) errors++;
  if (++done == n_send) send_finish();
}

static void queued_cb(uv_udp_send_t *req, int status) {
  free(req);
  if (status < 0) errors++;
}

static void drained(uv_idle_t *h) {
  if (uv_udp_get_send_queue_count(&sock) != 0) return;
  uv_close((uv_handle_t *)h, NULL);
  send_finish();
}

/* try_send first, a queued send when the kernel buffer is full */
static void send_one(uv_udp_t *h, const uv_buf_t *buf, const struct sockaddr *to,
                     uv_udp_send_cb cb) {
  if (cb == NULL) {
    int rc = uv_udp_try_send(h, buf, 1, to);
    if (rc >= 0) return;
    if (rc != UV_EAGAIN) {
      errors++;
      return;
    }
    cb = queued_cb;
  }
  uv_udp_send_t *req = malloc(sizeof *req);
  if (uv_udp_send(req, h, buf, 1, to, cb) != 0) {
    free(req);
    errors++;
  }
}

static int mode_send(int port, unsigned long long n, int with_cb) {
  bind_any(&sock, 0);
  uv_ip4_addr("127.0.0.1", port, &dest);
  uv_buf_t buf = uv_buf_init(payload, (unsigned)size);
  n_send = n;
  t0 = now_s();
  cpu_s(&u0, &s0);
  if (n == 0) {
    send_finish();
  } else {
    for (unsigned long long i = 0; i < n; i++)
      send_one(&sock, &buf, (const struct sockaddr *)&dest, with_cb ? send_cb : NULL);
    if (!with_cb) {
      uv_idle_init(loop, &idle);
      uv_idle_start(&idle, drained);
    }
  }
  return uv_run(loop, UV_RUN_DEFAULT);
}

/* ---- echo ------------------------------------------------------------------------- */

static uv_timer_t deadline;

static void server_recv(uv_udp_t *h, ssize_t n, const uv_buf_t *buf,
                        const struct sockaddr *a, unsigned flags) {
  (void)flags;
  if (n < 0 || a == NULL) return;
  if (n == 4) {
    if (uv_is_closing((uv_handle_t *)h)) return;
    uv_close((uv_handle_t *)&deadline, NULL);
    uv_close((uv_handle_t *)h, NULL);
    return;
  }
  uv_buf_t reply = uv_buf_init(buf->base, (unsigned)n);
  send_one(h, &reply, a, NULL);
}

static void server_deadline(uv_timer_t *t) {
  uv_close((uv_handle_t *)t, NULL);
  uv_close((uv_handle_t *)&sock, NULL);
}

static int mode_echo_server(void) {
  int port = bind_any(&sock, UV_UDP_RECVMMSG);
  uv_udp_recv_start(&sock, on_alloc, server_recv);
  uv_timer_init(loop, &deadline);
  uv_timer_start(&deadline, server_deadline, 60000, 0);
  print_port(port);
  return uv_run(loop, UV_RUN_DEFAULT);
}

static int inflight, finished;
static double secs, sent_at;
static size_t nlat;
static unsigned long long last, still;

static void client_recv(uv_udp_t *h, ssize_t n, const uv_buf_t *buf,
                        const struct sockaddr *a, unsigned flags) {
  (void)buf, (void)flags;
  if (finished || n < 0 || a == NULL) return;
  count++;
  if (inflight == 1) {
    double t = now_s();
    if (nlat < LAT_MAX) lat[nlat++] = t - sent_at;
    sent_at = t;
  }
  uv_buf_t b = uv_buf_init(payload, (unsigned)size);
  send_one(h, &b, (const struct sockaddr *)&dest, NULL);
}

static void quit_cb(uv_udp_send_t *req, int status) {
  (void)status;
  free(req);
  if (++done == 3) uv_close((uv_handle_t *)&sock, NULL);
}

static void client_finish(int stalled) {
  finished = 1;
  echo_report(count, now_s() - t0, stalled, nlat);
  uv_close((uv_handle_t *)&ticker, NULL);
  uv_buf_t q = uv_buf_init("quit", 4);
  for (int i = 0; i < 3; i++)
    send_one(&sock, &q, (const struct sockaddr *)&dest, quit_cb);
}

static void client_tick(uv_timer_t *t) {
  (void)t;
  if (now_s() - t0 >= secs) {
    client_finish(0);
  } else if (count == last) {
    if (++still >= 10) client_finish(1);
  } else {
    last = count;
    still = 0;
  }
}

static int mode_echo_client(int port) {
  bind_any(&sock, UV_UDP_RECVMMSG);
  uv_ip4_addr("127.0.0.1", port, &dest);
  uv_udp_recv_start(&sock, on_alloc, client_recv);
  t0 = sent_at = now_s();
  cpu_mark();
  uv_buf_t b = uv_buf_init(payload, (unsigned)size);
  for (int i = 0; i < inflight; i++)
    send_one(&sock, &b, (const struct sockaddr *)&dest, NULL);
  uv_timer_init(loop, &ticker);
  uv_timer_start(&ticker, client_tick, 20, 20);
  return uv_run(loop, UV_RUN_DEFAULT);
}

/* ---- sockets ---------------------------------------------------------------------- */

static void ignore_recv(uv_udp_t *h, ssize_t n, const uv_buf_t *buf,
                        const struct sockaddr *a, unsigned flags) {
  (void)h, (void)n, (void)buf, (void)a, (void)flags;
}

static void free_handle(uv_handle_t *h) {
  free(h);
}

static int mode_sockets(int n) {
  uv_udp_t **socks = calloc((size_t)n, sizeof *socks);
  long r0 = rss_bytes();
  double c0 = now_s();
  for (int i = 0; i < n; i++) {
    socks[i] = malloc(sizeof *socks[i]);
    bind_any(socks[i], UV_UDP_RECVMMSG);
    uv_udp_recv_start(socks[i], on_alloc, ignore_recv);
  }
  uv_run(loop, UV_RUN_NOWAIT);
  double c1 = now_s();
  long r1 = rss_bytes();
  double c2 = now_s();
  for (int i = 0; i < n; i++)
    uv_close((uv_handle_t *)socks[i], free_handle);
  uv_run(loop, UV_RUN_DEFAULT);
  double c3 = now_s();
  printf("close_s=%.6f create_s=%.6f n=%d per_socket=%.6f rss_after=%ld rss_before=%ld\n",
         c3 - c2, c1 - c0, n, (double)(r1 - r0) / n, r1, r0);
  free(socks);
  return 0;
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  loop = uv_default_loop();
  if (strcmp(mode, "recv") == 0) return mode_recv();
  if (strcmp(mode, "send") == 0 && argc >= 6) {
    size = (size_t)arg_long(argc, argv, 4, 64);
    payload = calloc(1, size + 1);
    memset(payload, 'x', size);
    return mode_send((int)arg_long(argc, argv, 2, 0),
                     (unsigned long long)arg_long(argc, argv, 3, 0),
                     strcmp(argv[5], "cb") == 0);
  }
  if (strcmp(mode, "echo-server") == 0) return mode_echo_server();
  if (strcmp(mode, "echo-client") == 0 && argc >= 6) {
    inflight = (int)arg_long(argc, argv, 3, 1);
    secs = arg_double(argc, argv, 4, 1);
    size = (size_t)arg_long(argc, argv, 5, 64);
    payload = calloc(1, size + 1);
    memset(payload, 'x', size);
    return mode_echo_client((int)arg_long(argc, argv, 2, 0));
  }
  if (strcmp(mode, "sockets") == 0)
    return mode_sockets((int)arg_long(argc, argv, 2, 1000));
  fprintf(stderr, "usage: uv_peer recv|send|echo-server|echo-client|sockets ...\n");
  return 2;
}

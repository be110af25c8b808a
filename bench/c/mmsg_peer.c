/* The benchmark peer in plain C on the socket API: recvmmsg/sendmmsg in batches of 64,
 * poll for readiness, no library at all. The floor the others are measured against.
 * Usage: mmsg_peer MODE ARGS... (the modes of bench/peers/dgram_peer.lua) */
#include "common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#define BATCH 64
#define SLOT 2048

static char bufs[BATCH][SLOT];
static struct iovec iov[BATCH];
static struct sockaddr_in from[BATCH];
static struct mmsghdr msgs[BATCH];

static void setup_batch(void) {
  memset(msgs, 0, sizeof msgs);
  for (int i = 0; i < BATCH; i++) {
    iov[i].iov_base = bufs[i];
    iov[i].iov_len = SLOT;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = &from[i];
    msgs[i].msg_hdr.msg_namelen = sizeof from[i];
  }
}

/* Restores what recvmmsg changed (lengths) before the next receive. */
static void reset_batch(int n) {
  for (int i = 0; i < n; i++) {
    iov[i].iov_len = SLOT;
    msgs[i].msg_hdr.msg_namelen = sizeof from[i];
  }
}

static int bound(int flags, int *port) {
  int fd = socket(AF_INET, SOCK_DGRAM | flags, 0);
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
      getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
    perror("mmsg_peer: bind");
    exit(1);
  }
  if (port) *port = ntohs(a.sin_port);
  return fd;
}

static void set_timeout(int fd, double secs) {
  struct timeval tv = {.tv_sec = (time_t)secs,
                       .tv_usec = (suseconds_t)((secs - (double)(time_t)secs) * 1e6)};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

static void print_port(int port) {
  printf("port=%d\n", port);
  fflush(stdout);
}

static int mode_recv(void) {
  int port, fd = bound(SOCK_NONBLOCK, &port);
  unsigned long long count = 0, bytes = 0;
  meter m;
  meter_init(&m);
  setup_batch();
  print_port(port);
  struct pollfd p = {.fd = fd, .events = POLLIN};
  for (;;) {
    if (poll(&p, 1, 20) > 0) {
      int n = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
      for (int i = 0; i < n; i++)
        bytes += msgs[i].msg_len;
      if (n > 0) {
        count += (unsigned)n;
        reset_batch(n);
      }
    }
    if (meter_poll(&m, count)) break;
  }
  close(fd);
  meter_report(&m, count, bytes);
  return 0;
}

static int mode_send(int port, unsigned long long n, size_t size) {
  int fd = bound(0, NULL);
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  setup_batch();
  memset(bufs[0], 'x', size);
  for (int i = 0; i < BATCH; i++) {
    iov[i].iov_base = bufs[0];
    iov[i].iov_len = size;
    msgs[i].msg_hdr.msg_name = &to;
    msgs[i].msg_hdr.msg_namelen = sizeof to;
  }
  unsigned long long sent = 0, errors = 0;
  double t0 = now_s(), u0, s0, u1, s1;
  cpu_s(&u0, &s0);
  while (sent < n && errors < 1000) {
    unsigned k = n - sent < BATCH ? (unsigned)(n - sent) : BATCH;
    int rc = sendmmsg(fd, msgs, k, 0);
    if (rc > 0)
      sent += (unsigned)rc;
    else
      errors++;
  }
  cpu_s(&u1, &s1);
  printf("errors=%llu secs=%.6f sent=%llu user=%.6f sys=%.6f\n", errors, now_s() - t0, n,
         u1 - u0, s1 - s0);
  close(fd);
  return 0;
}

static int mode_echo_server(void) {
  int port, fd = bound(0, &port);
  set_timeout(fd, 1.0);
  setup_batch();
  print_port(port);
  double t0 = now_s();
  int quit = 0;
  while (!quit && now_s() - t0 < 60) {
    int n = recvmmsg(fd, msgs, BATCH, MSG_WAITFORONE, NULL);
    if (n <= 0) continue;
    for (int i = 0; i < n; i++) {
      if (msgs[i].msg_len == 4) quit = 1;
      iov[i].iov_len = msgs[i].msg_len; /* the reply: the same bytes, to the sender */
    }
    if (!quit) sendmmsg(fd, msgs, (unsigned)n, 0);
    reset_batch(n);
  }
  close(fd);
  return 0;
}

static int mode_echo_client(int port, int inflight, double secs, size_t size) {
  int fd = bound(0, NULL);
  set_timeout(fd, 0.2); /* a stall: nothing for 200 ms */
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  char *payload = calloc(1, size + 1);
  memset(payload, 'x', size);
  struct iovec out_iov = {.iov_base = payload, .iov_len = size};
  struct mmsghdr out[BATCH];
  memset(out, 0, sizeof out);
  for (int i = 0; i < BATCH; i++) {
    out[i].msg_hdr.msg_iov = &out_iov;
    out[i].msg_hdr.msg_iovlen = 1;
    out[i].msg_hdr.msg_name = &to;
    out[i].msg_hdr.msg_namelen = sizeof to;
  }
  setup_batch();
  unsigned long long count = 0;
  size_t nlat = 0;
  int stalled = 0;
  double t0 = now_s(), t = t0, sent_at = t0;
  cpu_mark();
  sendmmsg(fd, out, (unsigned)(inflight < BATCH ? inflight : BATCH), 0);
  while (t - t0 < secs) {
    int n = recvmmsg(fd, msgs, BATCH, MSG_WAITFORONE, NULL);
    t = now_s();
    if (n <= 0) {
      stalled = 1;
      break;
    }
    count += (unsigned)n;
    if (inflight == 1 && nlat < LAT_MAX) {
      lat[nlat++] = t - sent_at;
      sent_at = t;
    }
    reset_batch(n);
    sendmmsg(fd, out, (unsigned)n, 0);
  }
  echo_report(count, t - t0, stalled, nlat);
  out_iov.iov_base = "quit";
  out_iov.iov_len = 4;
  sendmmsg(fd, out, 3, 0);
  close(fd);
  free(payload);
  return 0;
}

static int mode_sockets(int n) {
  int *fds = calloc((size_t)n, sizeof *fds);
  long r0 = rss_bytes();
  double c0 = now_s();
  for (int i = 0; i < n; i++)
    fds[i] = bound(SOCK_NONBLOCK, NULL);
  double c1 = now_s();
  long r1 = rss_bytes();
  double c2 = now_s();
  for (int i = 0; i < n; i++)
    close(fds[i]);
  double c3 = now_s();
  printf("close_s=%.6f create_s=%.6f n=%d per_socket=%.6f rss_after=%ld rss_before=%ld\n",
         c3 - c2, c1 - c0, n, (double)(r1 - r0) / n, r1, r0);
  free(fds);
  return 0;
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  if (strcmp(mode, "recv") == 0) return mode_recv();
  if (strcmp(mode, "send") == 0 && argc >= 5)
    return mode_send((int)arg_long(argc, argv, 2, 0),
                     (unsigned long long)arg_long(argc, argv, 3, 0),
                     (size_t)arg_long(argc, argv, 4, 64));
  if (strcmp(mode, "echo-server") == 0) return mode_echo_server();
  if (strcmp(mode, "echo-client") == 0 && argc >= 6)
    return mode_echo_client((int)arg_long(argc, argv, 2, 0),
                            (int)arg_long(argc, argv, 3, 1), arg_double(argc, argv, 4, 1),
                            (size_t)arg_long(argc, argv, 5, 64));
  if (strcmp(mode, "sockets") == 0)
    return mode_sockets((int)arg_long(argc, argv, 2, 1000));
  fprintf(stderr, "usage: mmsg_peer recv|send|echo-server|echo-client|sockets ...\n");
  return 2;
}

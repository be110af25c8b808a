/* The flooder: sends SIZE-byte datagrams to 127.0.0.1:PORT with sendmmsg, as fast as it
 * can (or RATE datagrams/s when RATE > 0, in batches of 64), for SECONDS (and at most
 * COUNT datagrams when COUNT >= 0). Prints "sent=N secs=T".
 * Usage: flood PORT SIZE SECONDS [COUNT [RATE]] */
#include "common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define BATCH 64

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: flood PORT SIZE SECONDS [COUNT]\n");
    return 2;
  }
  int port = (int)arg_long(argc, argv, 1, 0);
  size_t size = (size_t)arg_long(argc, argv, 2, 64);
  double secs = arg_double(argc, argv, 3, 1.0);
  long long limit = arg_long(argc, argv, 4, -1);
  double rate = arg_double(argc, argv, 5, 0);
  if (port <= 0 || port > 65535 || size > 65000 || secs <= 0 || secs > 60) {
    fprintf(stderr, "flood: bad arguments\n");
    return 2;
  }
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || connect(fd, (struct sockaddr *)&to, sizeof to) != 0) {
    perror("flood: socket");
    return 1;
  }
  char *payload = malloc(size ? size : 1);
  memset(payload, 'x', size ? size : 1);
  struct iovec iov = {.iov_base = payload, .iov_len = size};
  struct mmsghdr msgs[BATCH];
  memset(msgs, 0, sizeof msgs);
  for (int i = 0; i < BATCH; i++) {
    msgs[i].msg_hdr.msg_iov = &iov;
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  unsigned long long sent = 0, errors = 0;
  double t0 = now_s(), t = t0, stop = t0 + secs;
  while (t < stop && (limit < 0 || sent < (unsigned long long)limit)) {
    unsigned n = BATCH;
    if (limit >= 0 && (unsigned long long)limit - sent < n)
      n = (unsigned)(limit - (long long)sent);
    int rc = sendmmsg(fd, msgs, n, 0);
    if (rc > 0)
      sent += (unsigned long long)rc;
    else if (errno != EINTR && errno != EAGAIN && errno != ENOBUFS && ++errors > 1000)
      break; /* e.g. ECONNREFUSED: the receiver is gone */
    t = now_s();
    if (rate > 0) /* paced: sleep until this many datagrams are due */
      for (double due = t0 + (double)sent / rate; t < due && t < stop; t = now_s()) {
        struct timespec ts = {0, (long)((due - t) * 1e9)};
        nanosleep(&ts, NULL);
      }
  }
  printf("sent=%llu secs=%.6f\n", sent, t - t0);
  close(fd);
  free(payload);
  return 0;
}

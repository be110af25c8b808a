/* The sink: binds 127.0.0.1:0 with the largest receive buffer rmem_max allows, prints
 * "port=N", counts datagrams with recvmmsg until it has been idle for IDLE seconds after
 * the first one (or nothing came for START seconds, or 60 s passed), prints "got=N".
 * Usage: sink [IDLE [START]]   (defaults 0.5 and 15) */
#include "common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#define BATCH 64
#define SLOT 2048

int main(int argc, char **argv) {
  double idle = arg_double(argc, argv, 1, 0.5);
  double start = arg_double(argc, argv, 2, 15);
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int rcvbuf = 64 << 20; /* the kernel caps it at rmem_max */
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
      getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
    perror("sink");
    return 1;
  }
  printf("port=%d\n", ntohs(a.sin_port));
  fflush(stdout);
  static char bufs[BATCH][SLOT];
  struct iovec iov[BATCH];
  struct mmsghdr msgs[BATCH];
  memset(msgs, 0, sizeof msgs);
  for (int i = 0; i < BATCH; i++) {
    iov[i].iov_base = bufs[i];
    iov[i].iov_len = SLOT;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  unsigned long long got = 0;
  double t0 = now_s(), last = t0;
  struct pollfd p = {.fd = fd, .events = POLLIN};
  for (;;) {
    double t = now_s();
    if (t - t0 > 60 || (got == 0 && t - t0 > start) || (got > 0 && t - last > idle))
      break;
    if (poll(&p, 1, 20) <= 0) continue;
    int n;
    while ((n = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL)) > 0)
      got += (unsigned)n;
    last = now_s();
  }
  printf("got=%llu\n", got);
  return 0;
}

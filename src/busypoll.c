/* The busy poll, which loop.c runs last before libuv waits for I/O. Linux's (platform.h):
 * elsewhere, and with PORTABLE=1, the loop never polls and dgram.getBusyPoll says 0. */
#include "dgram.h"

#ifdef DGRAM_HAVE_BUSY_POLL
#include <poll.h>

/* A turn that sent datagrams is likely to get answers within microseconds: polling for
 * them a little while costs less than sleeping, which a virtual CPU pays dearly for.
 * Polls that find nothing make the loop skip the next ones, for 2, 4, ... up to 256
 * turns: a sender whose answers come late, or never, soon stops paying for them. A poll
 * that finds something halves that debt, so a mostly answered sender keeps polling. */
#define POLL_MISS_GRACE 2
#define POLL_SKIP_SHIFT_MAX 8

void loop_poll_briefly(dgram_loop *loop) {
  int timeout = uv_backend_timeout(&loop->uv);
  if (!loop->sent || loop->busy_poll_us == 0 || timeout == 0 ||
      loop->run_mode == UV_RUN_NOWAIT || loop->error_ref != LUA_NOREF)
    return;
  if (loop->poll.skip > 0) {
    loop->poll.skip--;
    loop->poll.skipped++;
    return;
  }
  uint64_t limit = (uint64_t)loop->busy_poll_us * 1000, start = uv_hrtime();
  if (timeout > 0 && (uint64_t)timeout * 1000000 < limit)
    limit = (uint64_t)timeout * 1000000;
  struct pollfd p = {.fd = uv_backend_fd(&loop->uv), .events = POLLIN};
  int ready;
  while ((ready = poll(&p, 1, 0)) == 0 && uv_hrtime() - start < limit)
    ;
  loop->poll.polls++;
  if (ready > 0) {
    loop->poll.hits++;
    loop->poll.misses /= 2;
  } else if (++loop->poll.misses > POLL_MISS_GRACE) {
    unsigned shift = loop->poll.misses - POLL_MISS_GRACE;
    loop->poll.skip = 1u << (shift < POLL_SKIP_SHIFT_MAX ? shift : POLL_SKIP_SHIFT_MAX);
  }
}
#else
void loop_poll_briefly(dgram_loop *loop) {
  (void)loop;
}
#endif

/* Which of the Linux fast paths this build has. Each one has a fallback through plain
 * libuv calls, which every other OS (and a build with -DDGRAM_PORTABLE, which turns them
 * all off) uses instead: `make test PORTABLE=1` runs the whole suite on the fallbacks,
 * so what macOS, the BSDs and Windows run is the code tested on Linux (all but reusePort
 * through libuv 1.49, which this machine's 1.44 lacks). dgram.features (module.c) tells a
 * script which ones it has. Included by dgram.h, after uv.h. */
#ifndef DGRAM_PLATFORM_H
#define DGRAM_PLATFORM_H

#if defined(__linux__) && !defined(DGRAM_PORTABLE)
#define DGRAM_HAVE_SENDMMSG 1     /* batch.c: a turn's sends, one sendmmsg per socket */
#define DGRAM_HAVE_GSO 1          /* batch.c: same-size runs as one UDP_SEGMENT write */
#define DGRAM_HAVE_REUSEPORT_FD 1 /* bind.c: reusePort by a socket of our own */
#define DGRAM_HAVE_BUSY_POLL 1    /* loop.c: poll(2) on the backend fd after sends */
#define DGRAM_HAVE_MEMINFO 1      /* stats.c: kernelDrops from SO_MEMINFO */
#endif

/* libuv 1.49 sets SO_REUSEPORT itself (UV_ENOTSUP where the OS cannot): the fallback of
 * reusePort. With an older libuv, and no socket of our own, the bind fails with it. */
#if !defined(DGRAM_HAVE_REUSEPORT_FD) && UV_VERSION_HEX >= 0x013100
#define DGRAM_HAVE_UV_REUSEPORT 1
#endif

#if defined(_MSC_VER) && !defined(__clang__)
#define DGRAM_THREAD_LOCAL __declspec(thread)
#else
#define DGRAM_THREAD_LOCAL _Thread_local
#endif

#endif

/* What the C helpers and C peers of the benchmark share: clocks, the receive meter,
 * resident memory, argument parsing. Header-only, every function static. The bench's C
 * programs are Linux only (sendmmsg, recvmmsg, /proc): tools, not part of the library. */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static inline double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline void cpu_s(double *user, double *sys) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  *user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6;
  *sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

/* Resident set size in bytes, from /proc/self/statm. */
static inline long rss_bytes(void) {
  long pages = 0, resident = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (f == NULL) return -1;
  if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = -1;
  fclose(f);
  return resident < 0 ? -1 : resident * sysconf(_SC_PAGESIZE);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The p-th percentile (0..100) of v (sorted in place), as benchlib.lua computes it. */
static inline double percentile(double *v, size_t n, double p) {
  if (n == 0) return 0;
  qsort(v, n, sizeof *v, cmp_double);
  size_t i = (size_t)((double)n * p / 100.0 + 0.999999);
  if (i < 1) i = 1;
  if (i > n) i = n;
  return v[i - 1];
}

/* The latency log of the echo client (one round trip in flight). */
#define LAT_MAX 2000000
static double lat[LAT_MAX];

/* The echo client's CPU time counts from cpu_mark() (its first send) to the report. */
static double cpu_mark_user, cpu_mark_sys;
static inline void cpu_mark(void) {
  cpu_s(&cpu_mark_user, &cpu_mark_sys);
}

static inline void echo_report(unsigned long long count, double secs, int stalled,
                               size_t nlat) {
  double user, sys;
  cpu_s(&user, &sys);
  printf("count=%llu p50_us=%.6f p99_us=%.6f secs=%.6f stalled=%d user=%.6f sys=%.6f\n",
         count, percentile(lat, nlat, 50) * 1e6, percentile(lat, nlat, 99) * 1e6, secs,
         stalled, user - cpu_mark_user, sys - cpu_mark_sys);
  fflush(stdout);
}

static inline long arg_long(int argc, char **argv, int i, long dflt) {
  return i < argc ? strtol(argv[i], NULL, 10) : dflt;
}

static inline double arg_double(int argc, char **argv, int i, double dflt) {
  return i < argc ? strtod(argv[i], NULL) : dflt;
}

/* The receive meter (the same logic as bench/peers/benchlib.lua and node.js): sampled
 * every TICK seconds, the window runs from the first sample that saw a datagram to the
 * last sample before the one that saw the last datagram, so that neither the partial
 * interval at the start nor the one at the end of the flood is counted. */
#define METER_TICK 0.020
#define METER_IDLE 0.300  /* no new datagram for this long after the first: done */
#define METER_START 15.0  /* no datagram at all for this long: done */
#define METER_LIMIT 60.0  /* never run longer than this */

typedef struct {
  double wall, user, sys;
  unsigned long long count;
} meter_sample;

typedef struct {
  int started;
  double born, next;
  meter_sample first, e0, e1;
} meter;

static inline void meter_init(meter *m) {
  memset(m, 0, sizeof *m);
  m->born = now_s();
  m->next = m->born + METER_TICK;
}

static inline meter_sample meter_take(unsigned long long count) {
  meter_sample s;
  s.wall = now_s();
  cpu_s(&s.user, &s.sys);
  s.count = count;
  return s;
}

/* One tick: returns 1 when the measurement is over. */
static inline int meter_tick(meter *m, unsigned long long count) {
  meter_sample s = meter_take(count);
  if (s.wall - m->born > METER_LIMIT) return 1;
  if (!m->started) {
    if (count == 0) return s.wall - m->born > METER_START;
    m->started = 1;
    m->first = m->e0 = m->e1 = s;
    return 0;
  }
  if (count > m->e1.count) {
    m->e0 = m->e1;
    m->e1 = s;
    return 0;
  }
  return s.wall - m->e1.wall > METER_IDLE;
}

/* Ticks when a tick is due (for loops that have no timer). */
static inline int meter_poll(meter *m, unsigned long long count) {
  double t = now_s();
  if (t < m->next) return 0;
  m->next = t + METER_TICK;
  return meter_tick(m, count);
}

static inline void meter_report(const meter *m, unsigned long long count,
                                unsigned long long bytes) {
  const meter_sample *end = m->e0.count > m->first.count ? &m->e0 : &m->e1;
  printf("count=%llu bytes=%llu win_count=%llu win_wall=%.6f win_user=%.6f win_sys=%.6f\n",
         count, bytes, m->started ? end->count - m->first.count : 0ULL,
         m->started ? end->wall - m->first.wall : 0.0,
         m->started ? end->user - m->first.user : 0.0,
         m->started ? end->sys - m->first.sys : 0.0);
  fflush(stdout);
}

#endif

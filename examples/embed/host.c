/* A small C host with its own 60 Hz frame loop, running a dgram script inside it: how a
 * game server written in C embeds Lua and folds dgram's loop into its frames.
 *
 *   build/embed-host [--mode=nowait|poll] [--seconds N] [--fps N] script.lua [args...]
 *
 * nowait: each frame calls dgram.run("nowait"), then sleeps until the next frame.
 * poll:   the host sleeps in its own poll() on dgram.backendFd(), for no longer than the
 *         time to the next frame or dgram.backendTimeout(), and calls dgram.run("nowait")
 *         whenever it wakes: datagrams are answered as they come, not once per frame.
 *
 * The script sees HOSTED = true (so it skips its own dgram.run()), `arg` as lua5.4 sets
 * it, and may define on_frame(n), called each frame inside dgram.batch (the frame's sends
 * leave together); on_frame returning false stops the host. The host stops after
 * --seconds when given, else when nothing referenced is left (as dgram.run() would), and
 * on SIGINT/SIGTERM unless the script took them with dgram.onSignal. A script error is
 * printed and the host exits 1. At exit it prints one summary line on stdout.
 *
 * Two builds: `make embed-host` loads dgram as lua5.4 would (core.so and the Lua files of
 * this project); `make embed-host-static` links libdgram.a (DGRAM_STATIC), the way a game
 * server ships it:  cc host.c -DDGRAM_STATIC -Iinclude -Lbuild -ldgram <Lua and libuv>.
 *
 * POSIX only (poll, signals, getrusage): an example, not part of the library, which
 * builds for Windows too (README.md, Platforms).
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#if LUA_VERSION_NUM < 504 /* Lua 5.3, 5.1, LuaJIT: the 5.4 calls this file makes */
#include "../../src/compat.h"
#endif

#ifdef DGRAM_STATIC /* linked with libdgram.a: make embed-host-static */
#include "dgram.h"
#endif

enum host_mode { MODE_NOWAIT, MODE_POLL };

struct host {
  enum host_mode mode;
  double seconds; /* < 0: until nothing referenced is left */
  double fps;
  int script_arg; /* index in argv of the script */
  lua_State *L;
  int dgram;          /* registry ref of require("dgram") */
  long frames;        /* frames completed */
  long runs;          /* dgram.run("nowait") calls */
  long wakeups;       /* poll mode: poll() calls that found the descriptor readable */
  double loop_cpu;    /* CPU seconds spent in the frame loop (not loading the script) */
  int stop_requested; /* on_frame returned false */
};

static volatile sig_atomic_t host_signalled = 0;

static void on_stop_signal(int sig) {
  host_signalled = sig;
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static const char *mode_name(enum host_mode mode) {
  return mode == MODE_POLL ? "poll" : "nowait";
}

/* ---- command line ------------------------------------------------------------------ */

static int usage(const char *why) {
  if (why) fprintf(stderr, "embed-host: %s\n", why);
  fprintf(stderr, "usage: embed-host [--mode=nowait|poll] [--seconds N] [--fps N] "
                  "script.lua [args...]\n");
  return 2;
}

static int parse_number(const char *text, double min, double *out) {
  char *end;
  double v = text ? strtod(text, &end) : 0;
  if (text == NULL || end == text || *end != '\0' || !(v >= min) || v > 1e9) return 0;
  *out = v;
  return 1;
}

/* Fills h from argv; returns 0, or the exit status of a usage error. */
static int parse_args(struct host *h, int argc, char **argv) {
  int i = 1;
  for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--mode=nowait") == 0)
      h->mode = MODE_NOWAIT;
    else if (strcmp(a, "--mode=poll") == 0)
      h->mode = MODE_POLL;
    else if (strcmp(a, "--seconds") == 0 && i + 1 < argc) {
      if (!parse_number(argv[++i], 0, &h->seconds)) return usage("bad --seconds");
    } else if (strcmp(a, "--fps") == 0 && i + 1 < argc) {
      if (!parse_number(argv[++i], 1, &h->fps) || h->fps > 10000)
        return usage("bad --fps (1 to 10000)");
    } else
      return usage("unknown option");
  }
  if (i >= argc) return usage("no script");
  h->script_arg = i;
  return 0;
}

/* ---- the Lua state ----------------------------------------------------------------- */

/* A string error gets a traceback; any other value (an error object) is kept. */
static int traceback(lua_State *L) {
  if (lua_type(L, 1) == LUA_TSTRING) luaL_traceback(L, L, lua_tostring(L, 1), 1);
  return 1;
}

/* Prints the error on the top of the stack and pops it: an error object through its
 * __tostring, or its code and message when it has none. */
static void report_error(lua_State *L) {
  int plain_table = lua_type(L, -1) == LUA_TTABLE;
  if (plain_table && luaL_getmetafield(L, -1, "__tostring") != LUA_TNIL) {
    lua_pop(L, 1);
    plain_table = 0;
  }
  if (plain_table) {
    lua_getfield(L, -1, "code");
    const char *code = luaL_tolstring(L, -1, NULL);
    lua_getfield(L, -3, "message");
    const char *message = luaL_tolstring(L, -1, NULL);
    fprintf(stderr, "embed-host: error object: %s: %s\n", code, message);
    lua_pop(L, 5);
    return;
  }
  fprintf(stderr, "embed-host: %s\n", luaL_tolstring(L, -1, NULL));
  lua_pop(L, 2);
}

#ifndef DGRAM_STATIC    /* the shared build finds this project's lua/ and build/ */
#ifndef DGRAM_BUILD_DIR /* build/<lua> for a Lua other than 5.4 (the Makefile says) */
#define DGRAM_BUILD_DIR "build"
#endif
/* The project's directory: the host is <root>/DGRAM_BUILD_DIR/embed-host. */
static int project_root(char *root, size_t size) {
  ssize_t n = readlink("/proc/self/exe", root, size - 1);
  if (n <= 0) return 0;
  root[n] = '\0';
  int levels = 2; /* "/embed-host", then each part of DGRAM_BUILD_DIR */
  for (const char *c = DGRAM_BUILD_DIR; *c != '\0'; c++)
    levels += *c == '/';
  for (int up = 0; up < levels; up++) {
    char *slash = strrchr(root, '/');
    if (slash == NULL) return 0;
    *slash = '\0';
  }
  return 1;
}

/* package.path and package.cpath start with the project's lua/ and build/. */
static void set_package_paths(lua_State *L) {
  char root[PATH_MAX];
  if (!project_root(root, sizeof root)) return; /* LUA_PATH/LUA_CPATH still apply */
  lua_getglobal(L, "package");
  lua_pushfstring(L, "%s/lua/?.lua;%s/lua/?/init.lua;", root, root);
  lua_getfield(L, -2, "path");
  lua_concat(L, 2);
  lua_setfield(L, -2, "path");
  lua_pushfstring(L, "%s/" DGRAM_BUILD_DIR "/?.so;", root);
  lua_getfield(L, -2, "cpath");
  lua_concat(L, 2);
  lua_setfield(L, -2, "cpath");
  lua_pop(L, 1);
}

#endif

/* arg[0] = script, arg[1..] = its arguments, arg[-k] = the host and its options. */
static void set_arg_table(lua_State *L, int argc, char **argv, int script) {
  lua_createtable(L, argc - script - 1, script);
  for (int i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - script);
  }
  lua_setglobal(L, "arg");
}

/* Loads and runs the script with its arguments as `...`; 0 on success. */
static int run_script(struct host *h, int argc, char **argv) {
  lua_State *L = h->L;
  lua_pushcfunction(L, traceback);
  if (luaL_loadfile(L, argv[h->script_arg]) != LUA_OK) {
    report_error(L);
    return -1;
  }
  int nargs = argc - h->script_arg - 1;
  luaL_checkstack(L, nargs, "too many arguments");
  for (int i = 0; i < nargs; i++)
    lua_pushstring(L, argv[h->script_arg + 1 + i]);
  if (lua_pcall(L, nargs, 0, -nargs - 2) != LUA_OK) {
    report_error(L);
    return -1;
  }
  lua_pop(L, 1);
  return 0;
}

/* require("dgram"), kept in the registry for the frame loop. */
static int load_dgram(struct host *h) {
  lua_State *L = h->L;
  lua_pushcfunction(L, traceback);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "dgram");
  if (lua_pcall(L, 1, 1, -3) != LUA_OK) {
    report_error(L);
    return -1;
  }
  h->dgram = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_pop(L, 1);
  return 0;
}

static int setup(struct host *h, int argc, char **argv) {
  lua_State *L = h->L;
  luaL_openlibs(L);
#ifndef DGRAM_STATIC
  set_package_paths(L);
#endif
  set_arg_table(L, argc, argv, h->script_arg);
  lua_pushboolean(L, 1);
  lua_setglobal(L, "HOSTED");
#ifdef DGRAM_STATIC
  luaL_requiref(L, "dgram", luaopen_dgram, 0); /* the module and its wrapper, built in */
  lua_pop(L, 1);
#endif
  if (load_dgram(h) != 0) return -1;
  return run_script(h, argc, argv);
}

/* ---- calls into dgram -------------------------------------------------------------- */

static void push_dgram_field(struct host *h, const char *name) {
  lua_rawgeti(h->L, LUA_REGISTRYINDEX, h->dgram);
  lua_getfield(h->L, -1, name);
  lua_remove(h->L, -2);
}

/* dgram.<name>() returning an integer (backendFd, backendTimeout). */
static long dgram_integer(struct host *h, const char *name) {
  push_dgram_field(h, name);
  lua_call(h->L, 0, 1); /* these two do not raise */
  long v = (long)lua_tointeger(h->L, -1);
  lua_pop(h->L, 1);
  return v;
}

/* dgram.run("nowait"); its errors already carry the callback's traceback. 0 on
 * success; *alive says whether referenced work remains. */
static int run_nowait(struct host *h, int *alive) {
  lua_State *L = h->L;
  push_dgram_field(h, "run");
  lua_pushliteral(L, "nowait");
  h->runs++;
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
    report_error(L);
    return -1;
  }
  *alive = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return 0;
}

/* Inside dgram.batch: on_frame(n) with a traceback for string errors. */
static int frame_in_batch(lua_State *L) {
  lua_pushcfunction(L, traceback);
  lua_getglobal(L, "on_frame");
  lua_pushvalue(L, 1);
  if (lua_pcall(L, 1, 1, -3) != LUA_OK) return lua_error(L);
  return 1;
}

/* Calls on_frame(n) when the script defines it; 0 on success. */
static int call_on_frame(struct host *h, long n) {
  lua_State *L = h->L;
  if (lua_getglobal(L, "on_frame") != LUA_TFUNCTION) {
    lua_pop(L, 1);
    return 0;
  }
  lua_pop(L, 1);
  push_dgram_field(h, "batch");
  lua_pushcfunction(L, frame_in_batch);
  lua_pushinteger(L, n);
  if (lua_pcall(L, 2, 1, 0) != LUA_OK) {
    report_error(L);
    return -1;
  }
  if (lua_type(L, -1) == LUA_TBOOLEAN && !lua_toboolean(L, -1)) h->stop_requested = 1;
  lua_pop(L, 1);
  return 0;
}

/* ---- the frame loop ---------------------------------------------------------------- */

static void sleep_until(double when) {
  double left = when - now_seconds();
  if (left <= 0) return;
  struct timespec ts = {(time_t)left, (long)((left - (double)(time_t)left) * 1e9)};
  nanosleep(&ts, NULL); /* a signal ends it early: the loop checks the flag */
}

/* Poll mode between frames: sleep in poll() on dgram's descriptor, at most until the
 * frame is due or dgram's next timer, and run dgram whenever it wakes. */
static int poll_until(struct host *h, double frame_due) {
  struct pollfd p = {.fd = (int)dgram_integer(h, "backendFd"), .events = POLLIN};
  int alive;
  while (!host_signalled) {
    double left_ms = (frame_due - now_seconds()) * 1000;
    if (left_ms <= 0) return 0;
    int timeout = (int)left_ms + 1; /* rounded up: waking early would spin */
    long dgram_ms = dgram_integer(h, "backendTimeout");
    if (dgram_ms >= 0 && dgram_ms < timeout) timeout = (int)dgram_ms;
    int ready = poll(&p, 1, timeout);
    if (ready < 0 && errno != EINTR) {
      perror("embed-host: poll");
      return -1;
    }
    if (ready > 0) h->wakeups++;
    if (ready != 0 || timeout == dgram_ms) /* readable, or a dgram timer is due */
      if (run_nowait(h, &alive) != 0) return -1;
  }
  return 0;
}

/* One frame: deliver what is waiting, then the script's frame. */
static int frame(struct host *h, int *alive) {
  if (run_nowait(h, alive) != 0) return -1;
  if (call_on_frame(h, h->frames + 1) != 0) return -1;
  h->frames++;
  return 0;
}

static int run_frames(struct host *h) {
  double period = 1.0 / h->fps, start = now_seconds(), due = start;
  double end = h->seconds >= 0 ? start + h->seconds : -1;
  int alive = 1;
  while (!host_signalled && !h->stop_requested) {
    if (frame(h, &alive) != 0) return -1;
    if (end < 0 && !alive) break;
    due += period;
    double now = now_seconds();
    if (now > due + period) /* a long stall: skip the missed frames, do not replay */
      due = now;
    if (end >= 0 && due > end) {
      due = end;
      if (now >= end) break;
    }
    if (h->mode == MODE_POLL) {
      if (poll_until(h, due) != 0) return -1;
    } else
      sleep_until(due);
  }
  return 0;
}

static int frame_loop(struct host *h) {
  double cpu_before = cpu_seconds();
  int status = run_frames(h);
  h->loop_cpu = cpu_seconds() - cpu_before;
  return status;
}

static void install_signals(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop_signal; /* no SA_RESTART: poll and nanosleep end at once */
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
}

int main(int argc, char **argv) {
  struct host h = {.mode = MODE_NOWAIT, .seconds = -1, .fps = 60, .dgram = LUA_NOREF};
  int status = parse_args(&h, argc, argv);
  if (status != 0) return status;
  h.L = luaL_newstate();
  if (h.L == NULL) return usage("cannot create a Lua state");
  install_signals();
  setvbuf(stdout, NULL, _IOLBF, 0); /* a parent reading the script's prints sees them */
  status = setup(&h, argc, argv) == 0 && frame_loop(&h) == 0 ? 0 : 1;
  printf("embed-host: frames=%ld mode=%s fps=%g runs=%ld wakeups=%ld cpu=%.3f "
         "loop_cpu=%.3f%s%s\n",
         h.frames, mode_name(h.mode), h.fps, h.runs, h.wakeups, cpu_seconds(), h.loop_cpu,
         host_signalled ? " signal=" : "",
         host_signalled ? (host_signalled == SIGINT ? "SIGINT" : "SIGTERM") : "");
  fflush(stdout);
  lua_close(h.L);
  return status;
}

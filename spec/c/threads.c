/* Four Lua states on four threads, each with its own dgram loop (libdgram's
 * luaopen_dgram: the module and its wrapper linked in, as a game server would).
 *
 * Each thread runs the same script: a server and a client exchanging datagrams over
 * 127.0.0.1, a timer, a fixed tick and a coroutine doing recv/sendAsync, driven by the
 * thread's own frame loop with dgram.run("nowait"); then it closes its state. With
 * `--exit`, thread 0 calls os.exit(0) from inside a callback while the others still run
 * (the exit hook must touch only thread 0's loop). Prints "ok" and exits 0, or says what
 * failed on stderr and exits 1. `make tsan` builds it and the module with
 * ThreadSanitizer; `make valgrind` runs it under memcheck.
 *
 * Usage: build/threads [--exit]
 * POSIX only (pthreads): a test harness, not part of the library. */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#if LUA_VERSION_NUM < 504 /* Lua 5.3, 5.1, LuaJIT: the 5.4 calls this file makes */
#include "../../src/compat.h"
#endif

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../include/dgram.h"

#define THREADS 4
#define MAX_FRAMES 4000 /* x 1 ms: about 4 s at most per thread */

static const char script[] =
    "local id, exit_early = ...\n"
    "local dgram = require('dgram')\n"
    "local server = dgram.createSocket('udp4')\n"
    "local client = dgram.createSocket('udp4')\n"
    "local st = { echoed = 0, ticks = 0, timer = false, coro = false }\n"
    "server:on('message', function(msg, rinfo)\n"
    "  server:send(msg, rinfo.port, rinfo.address)\n"
    "end)\n"
    "client:on('message', function()\n"
    "  st.echoed = st.echoed + 1\n"
    "  if exit_early and st.echoed == 50 then os.exit(0) end\n"
    "end)\n"
    "server:bind(0, '127.0.0.1', function()\n"
    "  local port = server:address().port\n"
    "  dgram.batch(function()\n"
    "    for i = 1, 200 do client:send('t' .. id .. ':' .. i, port, '127.0.0.1') end\n"
    "  end)\n"
    "  dgram.spawn(function()\n"
    "    local s = dgram.createSocket('udp4')\n"
    "    s:bind(0, '127.0.0.1')\n"
    "    local peer = dgram.createSocket('udp4')\n"
    "    dgram.spawn(function()\n"
    "      dgram.sleep(5)\n"
    "      assert(peer:sendAsync('coro', s:address().port, '127.0.0.1'))\n"
    "    end)\n"
    "    local msg = s:recv(2000)\n"
    "    st.coro = msg == 'coro'\n"
    "    s:close(); peer:close()\n"
    "  end)\n"
    "end)\n"
    "dgram.setTimeout(10, function() st.timer = true end)\n"
    "local tick\n"
    "tick = dgram.setFixedInterval(1000 / 60, function()\n"
    "  st.ticks = st.ticks + 1\n"
    "  if st.ticks == 5 then dgram.clearInterval(tick) end\n"
    "end)\n"
    "function done()\n"
    "  return st.echoed == 200 and st.ticks == 5 and st.timer and st.coro\n"
    "end\n"
    "function finish() server:close(); client:close() end\n"
    "function status()\n"
    "  return ('echoed %d ticks %d timer %s coro %s'):format(st.echoed, st.ticks,\n"
    "    st.timer, st.coro)\n"
    "end\n";

struct worker {
  int id, exit_early;
  char error[256];
};

static void sleep_ms(long ms) {
  struct timespec ts = {0, ms * 1000000L};
  nanosleep(&ts, NULL);
}

static int call_global(lua_State *L, const char *name) {
  lua_getglobal(L, name);
  if (lua_pcall(L, 0, 1, 0) != LUA_OK) return -1;
  int result = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return result;
}

static int run_nowait(lua_State *L) {
  lua_getglobal(L, "dgram_run");
  return lua_pcall(L, 0, 0, 0);
}

static void *worker_main(void *arg) {
  struct worker *w = arg;
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  luaL_requiref(L, "dgram", luaopen_dgram, 0);
  lua_pop(L, 1);
  if (luaL_dostring(
          L, "local d = require('dgram'); function dgram_run() d.run('nowait') end") !=
          LUA_OK ||
      luaL_loadstring(L, script) != LUA_OK) {
    snprintf(w->error, sizeof w->error, "%s", lua_tostring(L, -1));
    lua_close(L);
    return NULL;
  }
  lua_pushinteger(L, w->id);
  lua_pushboolean(L, w->exit_early);
  if (lua_pcall(L, 2, 0, 0) != LUA_OK) {
    snprintf(w->error, sizeof w->error, "%s", lua_tostring(L, -1));
    lua_close(L);
    return NULL;
  }
  int frame = 0, finished = 0;
  for (; frame < MAX_FRAMES && !finished; frame++) {
    if (run_nowait(L) != LUA_OK) break;
    finished = call_global(L, "done");
    if (!finished) sleep_ms(1);
  }
  if (!finished) {
    lua_getglobal(L, "status");
    lua_pcall(L, 0, 1, 0);
    snprintf(w->error, sizeof w->error, "thread %d: not done after %d frames: %s", w->id,
             frame, lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  call_global(L, "finish");
  run_nowait(L);
  lua_close(L); /* with the coroutine's sockets closed and the loop idle */
  return NULL;
}

int main(int argc, char **argv) {
  int exit_early = argc > 1 && strcmp(argv[1], "--exit") == 0;
  pthread_t threads[THREADS];
  struct worker workers[THREADS];
  for (int i = 0; i < THREADS; i++) {
    workers[i] = (struct worker){.id = i, .exit_early = exit_early && i == 0};
    if (pthread_create(&threads[i], NULL, worker_main, &workers[i]) != 0) {
      fprintf(stderr, "threads: pthread_create failed\n");
      return 1;
    }
  }
  int failed = 0;
  for (int i = 0; i < THREADS; i++) {
    pthread_join(threads[i], NULL);
    if (workers[i].error[0] != '\0') {
      fprintf(stderr, "threads: %s\n", workers[i].error);
      failed = 1;
    }
  }
  if (exit_early) {
    fprintf(stderr, "threads: thread 0 did not exit the process\n");
    return 1;
  }
  if (!failed) printf("ok\n");
  return failed;
}

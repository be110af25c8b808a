/* Two lua_States in one process, each with its own dgram loop.
 *
 * State A binds a udp4 socket on 127.0.0.1, state B sends it a datagram; the host runs
 * each state's loop in turn with dgram.run("nowait") (bounded in rounds and time) until
 * A has the datagram and B its send callback. Along the way: the two loops have their
 * own descriptors, running one state's loop fires none of the other's timers, closing
 * one state leaves the other working, and states are closed with sockets still open,
 * timers pending and callbacks queued. Prints "ok" and exits 0, or says what failed on
 * stderr and exits 1.
 *
 * Build: cc -O1 -g -Wall -Wextra -Werror -std=c11 -D_GNU_SOURCE spec/c/states.c \
 *          $(pkg-config --cflags --libs lua5.4) -o build/states
 * Run from the project root (package.path ./lua, package.cpath ./build or $DGRAM_CPATH).
 * POSIX only (clock_gettime, nanosleep): a test harness, not part of the library.
 */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#if LUA_VERSION_NUM < 504 /* Lua 5.3, 5.1, LuaJIT: the 5.4 calls this file makes */
#include "../../src/compat.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_ROUNDS 5000 /* x 1 ms sleep: about 5 s at most */

static void fail(const char *who, const char *what) {
  fprintf(stderr, "states: %s: %s\n", who, what);
  exit(1);
}

static void run_code(lua_State *L, const char *who, const char *code) {
  if (luaL_dostring(L, code) != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    fail(who, msg ? msg : "(error that is not a string)");
  }
}

/* Runs `code` (a chunk that returns one value) and leaves that value on the stack. */
static void eval(lua_State *L, const char *who, const char *code) {
  lua_settop(L, 0);
  run_code(L, who, code);
  if (lua_gettop(L) < 1) fail(who, "the chunk returned nothing");
  lua_settop(L, 1);
}

static lua_Integer eval_integer(lua_State *L, const char *who, const char *code) {
  eval(L, who, code);
  if (!lua_isinteger(L, 1)) {
    fprintf(stderr, "states: %s: `%s` gave %s, not an integer\n", who, code,
            luaL_typename(L, 1));
    exit(1);
  }
  lua_Integer v = lua_tointeger(L, 1);
  lua_settop(L, 0);
  return v;
}

static int eval_boolean(lua_State *L, const char *who, const char *code) {
  eval(L, who, code);
  if (!lua_isboolean(L, 1)) {
    fprintf(stderr, "states: %s: `%s` gave %s, not a boolean\n", who, code,
            luaL_typename(L, 1));
    exit(1);
  }
  int v = lua_toboolean(L, 1);
  lua_settop(L, 0);
  return v;
}

static lua_State *open_state(const char *who) {
  lua_State *L = luaL_newstate();
  if (L == NULL) fail(who, "luaL_newstate failed");
  luaL_openlibs(L);
  const char *cpath = getenv("DGRAM_CPATH");
  if (cpath == NULL || *cpath == '\0') cpath = "./build/?.so";
  lua_getglobal(L, "package");
  lua_pushliteral(L, "./lua/?.lua;./lua/?/init.lua");
  lua_setfield(L, -2, "path");
  lua_pushstring(L, cpath);
  lua_setfield(L, -2, "cpath");
  lua_pop(L, 1);
  run_code(L, who, "dgram = require('dgram')");
  return L;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

int main(void) {
  lua_State *A = open_state("A");
  lua_State *B = open_state("B");
  char code[512];

  /* Each state has a loop of its own. */
  lua_Integer fd_a = eval_integer(A, "A", "return dgram.backendFd()");
  lua_Integer fd_b = eval_integer(B, "B", "return dgram.backendFd()");
  if (fd_a < 0 || fd_b < 0) fail("main", "backendFd is negative");
  if (fd_a == fd_b) fail("main", "the two states share one loop descriptor");

  /* A: a bound server and a 1 ms timer. */
  run_code(A, "A",
           "got, from, timer_fired = nil, nil, false\n"
           "server = dgram.createSocket('udp4')\n"
           "server:on('message', function(msg, rinfo) got, from = msg, rinfo.port end)\n"
           "server:bind(0, '127.0.0.1')\n"
           "dgram.setTimeout(1, function() timer_fired = true end)");
  lua_Integer port = eval_integer(A, "A", "return server:address().port");
  if (port <= 0 || port > 65535) fail("A", "server:address().port is out of range");

  /* B: a client that sends to A's port. */
  snprintf(code, sizeof code,
           "sent = nil\n"
           "client = dgram.createSocket('udp4')\n"
           "client:send('hello from B', %lld, '127.0.0.1', function(err, n)\n"
           "  sent = err == nil and n or tostring(err)\n"
           "end)",
           (long long)port);
  run_code(B, "B", code);

  /* Running B's loop fires none of A's timers and runs none of A's callbacks. */
  for (int i = 0; i < 20; i++) {
    eval_boolean(B, "B", "return dgram.run('nowait')");
    sleep_ms(1);
  }
  if (eval_boolean(A, "A", "return timer_fired"))
    fail("A", "A's timer fired while only B's loop ran");
  if (eval_boolean(A, "A", "return got ~= nil"))
    fail("A", "A's message handler ran while only B's loop ran");

  /* The host's frame loop: each state's loop in turn, never blocking. */
  int done = 0;
  for (int round = 0; round < MAX_ROUNDS && !done; round++) {
    eval_boolean(A, "A", "return dgram.run('nowait')");
    eval_boolean(B, "B", "return dgram.run('nowait')");
    done = eval_boolean(A, "A", "return got ~= nil") &&
           eval_boolean(B, "B", "return sent ~= nil");
    if (!done) sleep_ms(1);
  }
  if (!done) fail("main", "the datagram did not arrive in time");

  if (!eval_boolean(A, "A", "return got == 'hello from B'")) fail("A", "wrong datagram");
  if (!eval_boolean(B, "B", "return sent == 12")) {
    eval(B, "B", "return tostring(sent)");
    fail("B", lua_tostring(B, 1));
  }
  lua_Integer from = eval_integer(A, "A", "return from");
  lua_Integer client_port = eval_integer(B, "B", "return client:address().port");
  if (from != client_port) fail("main", "rinfo.port is not B's client port");
  if (!eval_boolean(A, "A", "return timer_fired")) fail("A", "A's timer never fired");

  /* Both loops still have work: their bound sockets. */
  if (!eval_boolean(A, "A", "return dgram.run('nowait')")) fail("A", "A's loop is empty");
  if (!eval_boolean(B, "B", "return dgram.run('nowait')")) fail("B", "B's loop is empty");

  /* A closes with its socket open, a timer pending and a 'close' not yet emitted. */
  run_code(A, "A",
           "dgram.setTimeout(100000, function() end)\n"
           "local s = dgram.createSocket('udp4')\n"
           "s:bind(0, '127.0.0.1')\n"
           "s:close()");
  lua_close(A);

  /* B goes on working after A is gone. */
  run_code(B, "B",
           "b_fired = false\n"
           "dgram.setTimeout(1, function() b_fired = true end)");
  for (int i = 0; i < 1000 && !eval_boolean(B, "B", "return b_fired"); i++) {
    eval_boolean(B, "B", "return dgram.run('nowait')");
    sleep_ms(1);
  }
  if (!eval_boolean(B, "B", "return b_fired"))
    fail("B", "B's timer did not fire after A closed");

  /* B closes with a send (and its callback) still queued and its client open. */
  run_code(B, "B",
           "client:send('unsent', 9, '127.0.0.1', function() error('called') end)\n"
           "collectgarbage()");
  lua_close(B);

  /* A state that loads dgram, makes sockets and closes without ever running. */
  lua_State *C = open_state("C");
  run_code(
      C, "C",
      "local s = dgram.createSocket('udp6')\n"
      "s:on('listening', function() error('called') end)\n"
      "s:bind(0, '::1')\n"
      "dgram.createSocket('udp4'):send('x', 9, function() error('called') end)\n"
      "dgram.setInterval(1, function() error('called') end)\n"
      "-- lookups in flight: the resolver's, and a custom one that never answers\n"
      "dgram.createSocket('udp4'):send('x', 9, 'localhost', function() error('c') end)\n"
      "dgram.createSocket('udp4'):bind(0, 'localhost')\n"
      "local never = dgram.createSocket({type = 'udp4', lookup = function() end})\n"
      "never:send('x', 9, 'example.test', function() error('called') end)");
  lua_close(C);

  printf("ok\n");
  return 0;
}

/* Signals on the loop: dgram.onSignal(name, fn), and Ctrl-C during a blocking
 * dgram.run, which would otherwise wait for the next datagram: the standalone lua's
 * SIGINT handler only sets a hook that runs when Lua code runs again. */
#include "dgram.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define DGRAM_SIGNAL_MT "dgram.signal"

struct loop_signals {
  uv_signal_t interrupt; /* SIGINT while dgram.run blocks, unless a script watches it */
  int watching_sigint;   /* onSignal("SIGINT") handles started */
#ifndef _WIN32
  struct sigaction saved; /* the SIGINT action before dgram.run took it */
#endif
};

typedef struct dgram_signal {
  uv_signal_t *handle; /* malloc'd: libuv may outlive the userdata; NULL once stopped */
  dgram_loop *loop;
  int self_ref; /* registry anchor while started */
} dgram_signal;

static const struct {
  const char *name;
  int signum;
} signal_names[] = {{"SIGINT", SIGINT},
                    {"SIGTERM", SIGTERM},
#ifdef SIGHUP
                    {"SIGHUP", SIGHUP},
#endif
                    {NULL, 0}};

static const char *signal_name(int signum) {
  for (int i = 0; signal_names[i].name != NULL; i++)
    if (signal_names[i].signum == signum) return signal_names[i].name;
  return "?";
}

static struct loop_signals *loop_signals(dgram_loop *loop) {
  if (loop->signals == NULL) {
    loop->signals = calloc(1, sizeof *loop->signals);
    if (loop->signals == NULL) return NULL;
    uv_signal_init(&loop->uv, &loop->signals->interrupt);
    uv_unref((uv_handle_t *)&loop->signals->interrupt);
    loop->signals->interrupt.data = loop;
  }
  return loop->signals;
}

/* ---- Ctrl-C during dgram.run ----------------------------------------------------------
 */

static void on_interrupt(uv_signal_t *h, int signum) {
  dgram_loop *loop = h->data;
  lua_State *L = loop_state(loop);
  (void)signum;
  if (L == NULL) {
    uv_stop(&loop->uv);
    return;
  }
  lua_pushliteral(L, "interrupted!"); /* what the standalone lua raises on Ctrl-C */
  loop_fail(L, loop);
}

static void signal_interrupt_begin(dgram_loop *loop) {
  struct loop_signals *sig = loop_signals(loop);
  if (sig == NULL || sig->watching_sigint) return;
#ifndef _WIN32
  sigaction(SIGINT, NULL, &sig->saved);
#endif
  uv_signal_start(&sig->interrupt, on_interrupt, SIGINT);
}

static void signal_interrupt_end(dgram_loop *loop) {
  struct loop_signals *sig = loop->signals;
  if (sig == NULL || !uv_is_active((uv_handle_t *)&sig->interrupt)) return;
  uv_signal_stop(&sig->interrupt);
#ifndef _WIN32
  if (!sig->watching_sigint) sigaction(SIGINT, &sig->saved, NULL);
#endif
}

/* The loop is closing: its handles are closed by the loop's own walk; this frees the
 * record once they are. */
static void signal_free(dgram_loop *loop) {
  free(loop->signals);
  loop->signals = NULL;
}

/* ---- dgram.onSignal ------------------------------------------------------------------
 */

static void signal_fire(uv_signal_t *h, int signum) {
  dgram_signal *sg = h->data;
  lua_State *L = sg != NULL ? loop_state(sg->loop) : NULL;
  if (L == NULL) return;
  lua_rawgeti(L, LUA_REGISTRYINDEX, sg->self_ref);
  lua_getiuservalue(L, -1, 1);
  lua_pushstring(L, signal_name(signum));
  loop_call(L, sg->loop, 1);
  lua_pop(L, 1);
}

static void signal_stop_handle(lua_State *L, dgram_signal *sg) {
  if (sg->handle == NULL) return;
  if (sg->handle->signum == SIGINT && sg->loop->signals != NULL)
    sg->loop->signals->watching_sigint--;
  sg->handle->data = NULL;
  uv_close((uv_handle_t *)sg->handle, loop_free_handle);
  sg->handle = NULL;
  if (L != NULL) {
    luaL_unref(L, LUA_REGISTRYINDEX, sg->self_ref);
    sg->self_ref = LUA_NOREF;
  }
}

static int signal_number(lua_State *L, int idx) {
  const char *name = lua_tostring(L, idx);
  if (lua_type(L, idx) == LUA_TSTRING)
    for (int i = 0; signal_names[i].name != NULL; i++)
      if (strcmp(signal_names[i].name, name) == 0) return signal_names[i].signum;
  return raise_error(L, "ERR_UNKNOWN_SIGNAL",
                     "Unknown signal: %s (dgram.onSignal takes \"SIGINT\", \"SIGTERM\" "
                     "or \"SIGHUP\")",
                     type_name(L, idx));
}

/* dgram.onSignal(name, fn): fn(name) on the loop instead of the default action. */
static int signal_on(lua_State *L) {
  int signum = signal_number(L, 1);
  if (!lua_isfunction(L, 2))
    return raise_error(L, "ERR_INVALID_ARG_TYPE",
                       "The \"fn\" argument must be of type function. Received %s",
                       type_name(L, 2));
  dgram_loop *loop = loop_get(L);
  dgram_signal *sg = lua_newuserdatauv(L, sizeof *sg, 1);
  sg->handle = NULL;
  sg->loop = loop;
  sg->self_ref = LUA_NOREF;
  luaL_setmetatable(L, DGRAM_SIGNAL_MT);
  lua_pushvalue(L, 2);
  lua_setiuservalue(L, -2, 1);
  struct loop_signals *sig = loop_signals(loop);
  uv_signal_t *h = malloc(sizeof *h);
  if (h == NULL || sig == NULL) {
    free(h);
    return luaL_error(L, "dgram: out of memory");
  }
  uv_signal_init(&loop->uv, h);
  uv_unref((uv_handle_t *)h); /* it never keeps dgram.run going */
  h->data = sg;
  int rc = uv_signal_start(h, signal_fire, signum);
  if (rc != 0) {
    uv_close((uv_handle_t *)h, loop_free_handle);
    return raise_uv_error(L, rc, "signal", NULL, -1);
  }
  sg->handle = h;
  if (signum == SIGINT) sig->watching_sigint++;
  lua_pushvalue(L, -1);
  sg->self_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return 1;
}

static int signal_stop(lua_State *L) {
  dgram_signal *sg = luaL_testudata(L, 1, DGRAM_SIGNAL_MT);
  if (sg == NULL)
    return raise_error(
        L, "ERR_INVALID_ARG_TYPE",
        "stop was called on %s, not a signal handle (use a colon: h:stop())",
        type_name(L, 1));
  signal_stop_handle(L, sg);
  lua_settop(L, 1);
  return 1;
}

static int signal_gc(lua_State *L) {
  dgram_signal *sg = lua_touserdata(L, 1);
  if (sg->loop->closing)
    sg->handle = NULL; /* closed and freed with the loop (timer_gc) */
  signal_stop_handle(NULL, sg);
  return 0;
}

/* Signal handles made by a finalizer while the state closes are never finalized: closed
 * and freed with the loop (the Ctrl-C watcher is part of the loop's record). */
static void signal_close_one(uv_handle_t *h, void *arg) {
  dgram_loop *loop = arg;
  if (h->type != UV_SIGNAL || uv_is_closing(h)) return;
  if (loop->signals != NULL && h == (uv_handle_t *)&loop->signals->interrupt)
    uv_close(h, NULL);
  else
    uv_close(h, loop_free_handle);
}

static void signal_close_handles(dgram_loop *loop) {
  uv_walk(&loop->uv, signal_close_one, loop);
}

void signal_register(lua_State *L) {
  static const loop_hooks hooks = {.run_begin = signal_interrupt_begin,
                                   .run_end = signal_interrupt_end,
                                   .close_handles = signal_close_handles,
                                   .closing = signal_free};
  loop_add_hooks(loop_get(L), &hooks);
  static const luaL_Reg methods[] = {{"stop", signal_stop}, {NULL, NULL}};
  luaL_newmetatable(L, DGRAM_SIGNAL_MT);
  lua_pushcfunction(L, signal_gc);
  lua_setfield(L, -2, "__gc");
  lua_pushliteral(L, "dgram.signal");
  lua_setfield(L, -2, "__metatable");
  luaL_newlib(L, methods);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  lua_pushcfunction(L, signal_on);
  lua_setfield(L, -2, "onSignal");
}

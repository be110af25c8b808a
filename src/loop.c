/* The per-state loop: one uv_loop_t per lua_State, kept in the registry; the deferred
 * queue that makes every callback "later"; dgram.run and the error hand-off. */
#include "dgram.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char loop_key = 0; /* its address is the registry key */

#define VALUES_PER_ITEM 4

/* A finalizer may use the module while the state closes, after the loop's own __gc: the
 * loop's memory stays until the state is freed, but what it owned is gone. */
dgram_loop *loop_get(lua_State *L) {
  lua_rawgetp(L, LUA_REGISTRYINDEX, &loop_key);
  dgram_loop *loop = lua_touserdata(L, -1);
  lua_pop(L, 1);
  if (loop != NULL && loop->closing)
    raise_error(L, "ERR_SOCKET_DGRAM_NOT_RUNNING",
                "Not running: dgram's loop is gone, the Lua state is closing");
  return loop;
}

/* Callbacks nest a few C helpers deep: make sure they have the stack room for it. */
#define CALLBACK_STACK 64
/* The largest frame a Lua function takes (255 registers, and its call's slots): a
 * callback that could not even be entered would be lost, not run. */
#define CALLBACK_FRAME 260

lua_State *loop_state(dgram_loop *loop) {
  if (loop->closing || loop->L == NULL || !lua_checkstack(loop->L, CALLBACK_STACK))
    return NULL;
  return loop->L;
}

/* ---- the hooks of the layers above ------------------------------------------------- */

/* Registering the same hooks twice (the module opened again) does nothing. */
void loop_add_hooks(dgram_loop *loop, const loop_hooks *hooks) {
  for (int i = 0; i < loop->nhooks; i++)
    if (loop->hooks[i] == hooks) return;
  if (loop->nhooks == LOOP_MAX_HOOKS) abort(); /* a static count: a bug here */
  loop->hooks[loop->nhooks++] = hooks;
}

static void hooks_turn_end(lua_State *L, dgram_loop *loop) {
  for (int i = 0; i < loop->nhooks; i++)
    if (loop->hooks[i]->turn_end) loop->hooks[i]->turn_end(L, loop);
}

/* exiting, closing, run_begin, run_end: the hooks that take only the loop. */
#define HOOKS_CALL(loop, member)                                                         \
  do {                                                                                   \
    for (int i_ = 0; i_ < (loop)->nhooks; i_++)                                          \
      if ((loop)->hooks[i_]->member) (loop)->hooks[i_]->member(loop);                    \
  } while (0)

/* ---- the deferred queue ------------------------------------------------------------ */

static void queue_drain(uv_check_t *check);

/* The idle handle only keeps poll from blocking; the check handle does the work. */
static void idle_nothing(uv_idle_t *idle) {
  (void)idle;
}

static void queue_activate(dgram_loop *loop) {
  uv_idle_start(&loop->idle, idle_nothing);
  uv_check_start(&loop->check, queue_drain);
}

static size_t queue_next_cap(const dgram_loop *loop) {
  return loop->queue_cap ? loop->queue_cap * 2 : 64;
}

/* Doubles the ring, moving the items' Lua values to their new slots. Only the table's
 * creation may run finalizers (which may defer, and so grow the ring themselves): the
 * copy into its preallocated slots allocates nothing. */
static void queue_grow(lua_State *L, dgram_loop *loop) {
  size_t cap;
  for (;;) {
    cap = queue_next_cap(loop);
    lua_createtable(L, (int)(cap * VALUES_PER_ITEM), 0);
    if (loop->queue_len < loop->queue_cap) { /* a finalizer grew it: room enough */
      lua_pop(L, 1);
      return;
    }
    if (cap == queue_next_cap(loop)) break;
    lua_pop(L, 1); /* grown and filled again meanwhile: a bigger table */
  }
  deferred *items = malloc(cap * sizeof *items);
  if (items == NULL) luaL_error(L, "dgram: out of memory");
  lua_rawgeti(L, LUA_REGISTRYINDEX, loop->queue_ref);
  for (size_t i = 0; i < loop->queue_len; i++) {
    size_t from = (loop->queue_head + i) % loop->queue_cap;
    items[i] = loop->queue[from];
    for (int k = 1; k <= VALUES_PER_ITEM; k++) {
      lua_rawgeti(L, -1, (lua_Integer)(from * VALUES_PER_ITEM + k));
      lua_rawseti(L, -3, (lua_Integer)(i * VALUES_PER_ITEM + k));
    }
  }
  lua_pop(L, 1);
  lua_rawseti(L, LUA_REGISTRYINDEX, loop->queue_ref);
  loop->queue_gen++;
  free(loop->queue);
  loop->queue = items;
  loop->queue_cap = cap;
  loop->queue_head = 0;
}

void loop_defer(lua_State *L, dgram_loop *loop, const deferred *d, int nvalues) {
  if (loop->queue_len == loop->queue_cap) queue_grow(L, loop);
  size_t pos = (loop->queue_head + loop->queue_len) % loop->queue_cap;
  loop->queue[pos] = *d;
  loop->queue[pos].nvalues = (unsigned char)nvalues;
  lua_rawgeti(L, LUA_REGISTRYINDEX, loop->queue_ref);
  for (int k = 1; k <= nvalues; k++) {
    lua_pushvalue(L, k - nvalues - 2);
    lua_rawseti(L, -2, (lua_Integer)(pos * VALUES_PER_ITEM + k));
  }
  lua_pop(L, 1 + nvalues);
  if (loop->queue_len++ == 0) queue_activate(loop);
}

static void run_item(lua_State *L, dgram_loop *loop, const deferred *d, int base) {
  switch (d->kind) {
  case DEFER_CALL:
    lua_pushvalue(L, base + 1);
    lua_pushvalue(L, base + 2);
    if (d->has_value)
      lua_pushinteger(L, d->value);
    else
      lua_pushvalue(L, base + 3);
    loop_call(L, loop, 2);
    break;
  case DEFER_CONTINUE:
    d->cont(L, d, base);
    break;
  }
}

/* Runs the items queued before this turn; later ones wait for the next turn. */
static void queue_drain(uv_check_t *check) {
  dgram_loop *loop = check->data;
  lua_State *L = loop_state(loop);
  size_t n = loop->queue_len;
  if (L == NULL) return;
  hooks_turn_end(L,
                 loop); /* sent during I/O callbacks: they leave before deferred ones */
  lua_rawgeti(L, LUA_REGISTRYINDEX, loop->queue_ref);
  int values = lua_gettop(L), base = values + 1;
  unsigned gen = loop->queue_gen;
  while (n-- > 0 && loop->error_ref == LUA_NOREF) {
    size_t pos = loop->queue_head;
    deferred d = loop->queue[pos];
    lua_Integer slot = (lua_Integer)(pos * VALUES_PER_ITEM);
    for (int k = 1; k <= d.nvalues; k++) {
      lua_rawgeti(L, values, slot + k);
      lua_pushnil(L);
      lua_rawseti(L, values, slot + k);
    }
    lua_settop(L, values + VALUES_PER_ITEM); /* nil for the values not stored */
    loop->queue_head = (pos + 1) % loop->queue_cap;
    loop->queue_len--;
    run_item(L, loop, &d, base);
    lua_settop(L, values);
    if (gen != loop->queue_gen) { /* an item grew the queue: its values moved */
      gen = loop->queue_gen;
      lua_rawgeti(L, LUA_REGISTRYINDEX, loop->queue_ref);
      lua_replace(L, values);
    }
  }
  lua_settop(L, values - 1);
  hooks_turn_end(L, loop); /* what the callbacks sent leaves now, not after the timers */
  if (loop->queue_len == 0) {
    uv_idle_stop(&loop->idle);
    uv_check_stop(&loop->check);
  }
}

/* ---- before the loop waits: the batch leaves, then a short busy poll --------------- */

static void before_poll(uv_prepare_t *prepare) {
  dgram_loop *loop = prepare->data;
  lua_State *L = loop_state(loop);
  if (++loop->turn == 0) loop->turn = 1; /* 0 is no socket's drained_turn */
  if (L == NULL) return;
  hooks_turn_end(L, loop);
  loop_poll_briefly(loop);
  loop->sent = 0;
}

#define BUSY_POLL_MAX_US 1000000

/* dgram.setBusyPoll(us): how long the loop polls for answers after a turn that sent. */
int loop_set_busy_poll(lua_State *L) {
  if (!lua_isinteger(L, 1))
    return raise_error(L, "ERR_INVALID_ARG_TYPE",
                       "The \"us\" argument must be an integer. Received %s",
                       type_name(L, 1));
  lua_Integer us = lua_tointeger(L, 1);
  if (us < 0 || us > BUSY_POLL_MAX_US)
    return raise_error(L, "ERR_OUT_OF_RANGE",
                       "The value of \"us\" is out of range. It must be >= 0 && <= %d. "
                       "Received %s",
                       BUSY_POLL_MAX_US, type_name(L, 1));
#ifdef DGRAM_HAVE_BUSY_POLL
  dgram_loop *loop = loop_get(L);
  loop->busy_poll_us = (unsigned)us;
  loop->poll.misses = loop->poll.skip = 0; /* a new limit: judge it afresh */
#endif
  return 0;
}

int loop_get_busy_poll(lua_State *L) {
  lua_pushinteger(L, loop_get(L)->busy_poll_us);
  return 1;
}

/* dgram.core._pollStats(): polls made, polls that found I/O, turns that skipped one. For
 * the specs and the benchmark. */
int loop_poll_stats(lua_State *L) {
  const dgram_loop *loop = loop_get(L);
  lua_pushinteger(L, (lua_Integer)loop->poll.polls);
  lua_pushinteger(L, (lua_Integer)loop->poll.hits);
  lua_pushinteger(L, (lua_Integer)loop->poll.skipped);
  return 3;
}

/* ---- calling Lua from callbacks ---------------------------------------------------- */

/* A string error gets the callback's traceback; any other value is kept as it is. */
static int traceback(lua_State *L) {
  if (lua_type(L, 1) == LUA_TSTRING)
    luaL_traceback(L, L, lua_tostring(L, 1), 1);
  else
    lua_settop(L, 1);
  return 1;
}

/* A call packed by loop_call while an error was on its way out: {fn, args..., n=}. */
static void call_packed(lua_State *L, const deferred *d, int base) {
  (void)d;
  int n = (int)lua_rawlen(L, base + 1);
  for (int i = 1; i <= n; i++)
    lua_rawgeti(L, base + 1, i);
  loop_call(L, loop_get(L), n - 1);
}

static void defer_call(lua_State *L, dgram_loop *loop, int nargs) {
  deferred d = {.kind = DEFER_CONTINUE, .cont = call_packed};
  int fn = lua_gettop(L) - nargs;
  lua_createtable(L, nargs + 1, 0);
  for (int i = 0; i <= nargs; i++) {
    lua_pushvalue(L, fn + i);
    lua_rawseti(L, -2, i + 1);
  }
  lua_replace(L, fn);
  lua_settop(L, fn);
  lua_pushnil(L);
  lua_insert(L, -2); /* owner, packed call */
  loop_defer(L, loop, &d, 2);
}

void loop_fail(lua_State *L, dgram_loop *loop) {
  if (loop->error_ref == LUA_NOREF)
    loop->error_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  else
    lua_pop(L, 1); /* the first error wins */
  uv_stop(&loop->uv);
}

int loop_call(lua_State *L, dgram_loop *loop, int nargs) {
  if (loop->error_ref != LUA_NOREF) { /* the loop is stopping: call it on the next run */
    defer_call(L, loop, nargs);
    return -1;
  }
  loop->callbacks++;
  if (loop->run_mode == UV_RUN_ONCE) uv_stop(&loop->uv); /* the rest of this round only */
  if (lua_pcall(L, nargs, 0, LOOP_SLOT(loop, SLOT_MSGH)) == LUA_OK) return 0;
  loop_fail(L, loop);
  return -1;
}

/* ---- dgram.run, backendFd, backendTimeout ------------------------------------------ */

/* Pushes `traceback`. Before Lua 5.2 a C function pushed is a new closure each time,
 * which would be garbage made by every dgram.run: there it is made once, kept in the
 * registry. */
static void push_traceback(lua_State *L) {
#if LUA_VERSION_NUM < 502
  static const char key = 0;
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &key) == LUA_TFUNCTION) return;
  lua_pop(L, 1);
  lua_pushcfunction(L, traceback);
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &key);
#else
  lua_pushcfunction(L, traceback);
#endif
}

static void push_run_slots(lua_State *L) {
  luaL_checkstack(L, SLOT_COUNT + 8, NULL);
  push_traceback(L);
  lua_pushliteral(L, "address");
  lua_pushliteral(L, "family");
  lua_pushliteral(L, "port");
  lua_pushliteral(L, "size");
  lua_pushliteral(L, "IPv4");
  lua_pushliteral(L, "IPv6");
}

/* The loop whose Lua code runs on this thread (inside dgram.run or dgram.batch), if any.
 * A plain os.exit from that code ends the process without closing the Lua state; the
 * exit hook still sends what that loop's batch holds, as Node's sends would have left
 * already. The hook touches only the exiting thread's own loop, which is alive (its code
 * is running), so it reads no other thread's data and no freed loop; outside dgram.run
 * and dgram.batch nothing waits in a batch and the hook does nothing. */
static DGRAM_THREAD_LOCAL dgram_loop *running_loop;
static uv_once_t exit_hook_once = UV_ONCE_INIT;

static void send_batch_at_exit(void) {
  if (running_loop != NULL && !running_loop->closing) HOOKS_CALL(running_loop, exiting);
}

static void install_exit_hook(void) {
  atexit(send_batch_at_exit); /* in a shared module, glibc runs it at unload as well */
}

/* Marks `loop` as the one running on this thread; returns the one it replaces. */
static dgram_loop *loop_enter(dgram_loop *loop) {
  dgram_loop *previous = running_loop;
  running_loop = loop;
  return previous;
}

/* Whether referenced handles or requests remain: uv_loop_alive also counts handles that
 * are only closing (a timer the collector just freed), which no run waits for. */
static int loop_has_work(const dgram_loop *loop) {
  return loop->uv.active_handles > 0 || loop->uv.active_reqs.count > 0;
}

/* run("once"): rounds until one of them ran a callback. Each callback stops the round it
 * runs in (loop_call), so a round whose timers already ran never goes on to block. */
static void run_once(dgram_loop *loop) {
  uint64_t before = loop->callbacks;
  do
    uv_run(&loop->uv, UV_RUN_ONCE);
  while (loop->callbacks == before && loop->error_ref == LUA_NOREF &&
         uv_loop_alive(&loop->uv));
}

/* run("nowait"): libuv reads a few dozen datagrams per socket per round, so rounds go on
 * while the last one read something or left deferred callbacks, never blocking. Each
 * round reads every readable socket in turn, so a flooded one does not starve the
 * others; the bound keeps it from holding the host's frame for ever. */
#define NOWAIT_MAX_ROUNDS 1024

static void run_nowait(dgram_loop *loop) {
  for (int round = 0; round < NOWAIT_MAX_ROUNDS; round++) {
    uint64_t reads = loop->reads;
    /* libuv does not poll a loop with nothing referenced, but a host's unref'd socket
     * still gets what is waiting: the idle handle keeps the round going (and drained
     * queues stop it again). */
    uv_idle_start(&loop->idle, idle_nothing);
    uv_run(&loop->uv, UV_RUN_NOWAIT);
    if (loop->error_ref != LUA_NOREF) break;
    if (loop->reads == reads && loop->queue_len == 0) break;
  }
  if (loop->queue_len == 0) uv_idle_stop(&loop->idle);
}

static const char *const run_modes[] = {"default", "once", "nowait", NULL};

static int check_run_mode(lua_State *L, int idx) {
  if (lua_isnoneornil(L, idx)) return 0;
  if (lua_type(L, idx) != LUA_TSTRING)
    return raise_error(L, "ERR_INVALID_ARG_TYPE",
                       "The \"mode\" argument must be of type string. Received %s",
                       type_name(L, idx));
  const char *name = lua_tostring(L, idx);
  for (int mode = 0; run_modes[mode] != NULL; mode++)
    if (strcmp(run_modes[mode], name) == 0) return mode;
  return raise_error(L, "ERR_INVALID_ARG_VALUE",
                     "The argument 'mode' must be one of 'default', 'once', 'nowait'. "
                     "Received %s",
                     type_name(L, idx));
}

int loop_run(lua_State *L) {
  static const uv_run_mode uv_modes[] = {UV_RUN_DEFAULT, UV_RUN_ONCE, UV_RUN_NOWAIT};
  uv_run_mode mode = uv_modes[check_run_mode(L, 1)];
  dgram_loop *loop = loop_get(L);
  if (loop->L != NULL)
    return raise_error(L, "ERR_INVALID_STATE",
                       "dgram.run cannot run the loop from a callback");
  /* Without this room callbacks would be skipped (loop_state) or could not be entered. */
  if (!lua_checkstack(L, SLOT_COUNT + CALLBACK_STACK + CALLBACK_FRAME))
    return raise_error(L, "ERR_OUT_OF_RANGE",
                       "dgram.run needs %d free Lua stack slots for its callbacks: the "
                       "stack is nearly full",
                       SLOT_COUNT + CALLBACK_STACK + CALLBACK_FRAME);
  push_run_slots(L);
  loop->slots = lua_gettop(L) - SLOT_COUNT + 1;
  int top = lua_gettop(L);
  loop->L = L;
  loop->ran = 1;
  loop->run_mode = mode;
  dgram_loop *outer = loop_enter(loop);
  if (mode == UV_RUN_NOWAIT) {
    run_nowait(loop);
  } else {
    HOOKS_CALL(loop, run_begin); /* Ctrl-C must not wait for the next datagram */
    if (mode == UV_RUN_ONCE)
      run_once(loop);
    else
      uv_run(&loop->uv, UV_RUN_DEFAULT);
    HOOKS_CALL(loop, run_end);
  }
  hooks_turn_end(L, loop);
  loop_enter(outer);
  loop->L = NULL;
  loop->run_mode = UV_RUN_DEFAULT;
  if (lua_gettop(L) != top) { /* a callback left the stack unbalanced: a bug here */
#ifdef DGRAM_CHECKED
    fprintf(stderr, "dgram: stack %d -> %d after a loop run\n", top, lua_gettop(L));
    abort();
#endif
    lua_settop(L, top);
  }
  lua_settop(L, top - SLOT_COUNT);
  if (loop->error_ref != LUA_NOREF) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, loop->error_ref);
    luaL_unref(L, LUA_REGISTRYINDEX, loop->error_ref);
    loop->error_ref = LUA_NOREF;
    return lua_error(L);
  }
  lua_pushboolean(L, loop_has_work(loop));
  return 1;
}

/* core.nextTick(fn[, a[, b]]): calls fn(a, b) on the next loop turn. */
int loop_next_tick(lua_State *L) {
  deferred d = {.kind = DEFER_CALL};
  if (lua_type(L, 1) != LUA_TFUNCTION)
    return raise_error(L, "ERR_INVALID_ARG_TYPE",
                       "The \"callback\" argument must be of type function. Received %s",
                       type_name(L, 1));
  lua_settop(L, 3);
  lua_pushnil(L);
  lua_insert(L, 1); /* owner, fn, a, b */
  loop_defer(L, loop_get(L), &d, 4);
  return 0;
}

int loop_backend_fd(lua_State *L) {
  lua_pushinteger(L, uv_backend_fd(&loop_get(L)->uv));
  return 1;
}

/* On a fresh clock: a host may have worked for a while since the last run. Nothing
 * referenced left means nothing will become due: -1, never a 0 that makes a host spin. */
int loop_backend_timeout(lua_State *L) {
  dgram_loop *loop = loop_get(L);
  uv_update_time(&loop->uv);
  lua_pushinteger(L, loop_has_work(loop) ? uv_backend_timeout(&loop->uv) : -1);
  return 1;
}

int loop_alive(lua_State *L) {
  lua_pushboolean(L, loop_has_work(loop_get(L)));
  return 1;
}

int loop_now(lua_State *L) {
  lua_pushnumber(L, (lua_Number)uv_hrtime() / 1e6);
  return 1;
}

int loop_hrtime(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)uv_hrtime());
  return 1;
}

/* dgram.batch(fn, ...): the sends fn makes wait in the loop's batch (outside dgram.run
 * they would leave one by one) and leave together when it returns, or raises. */
int loop_batch(lua_State *L) {
  if (lua_type(L, 1) != LUA_TFUNCTION)
    return raise_error(L, "ERR_INVALID_ARG_TYPE",
                       "The \"fn\" argument must be of type function. Received %s",
                       type_name(L, 1));
  dgram_loop *loop = loop_get(L);
  loop->batching++;
  dgram_loop *outer = loop_enter(loop);
  int status = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
  loop_enter(outer);
  if (--loop->batching == 0 && loop->L == NULL) hooks_turn_end(L, loop);
  if (status != LUA_OK) return lua_error(L);
  return lua_gettop(L);
}

/* ---- recycled send requests -------------------------------------------------------- */

struct free_req {
  struct free_req *next;
};

void *loop_alloc_req(dgram_loop *loop, size_t size) {
  struct free_req *r = loop->free_reqs;
  if (r == NULL) return malloc(size);
  loop->free_reqs = r->next;
  return r;
}

void loop_free_req(dgram_loop *loop, void *req) {
  struct free_req *r = req;
  r->next = loop->free_reqs;
  loop->free_reqs = r;
}

/* ---- the loop's lifetime ----------------------------------------------------------- */

void loop_free_handle(uv_handle_t *h) {
  free(h);
}

static void close_of_type(uv_handle_t *h, void *arg) {
  if (h->type == *(const uv_handle_type *)arg && !uv_is_closing(h))
    uv_close(h, loop_free_handle);
}

void loop_close_handles(dgram_loop *loop, uv_handle_type type) {
  uv_walk(&loop->uv, close_of_type, &type);
}

/* The loop's own handles (idle, check, prepare) are part of it: nothing to free. */
static void close_leftover(uv_handle_t *h, void *arg) {
  (void)arg;
  if (!uv_is_closing(h)) uv_close(h, NULL);
}

/* The state is closing: close every handle and let libuv finish, calling no Lua. */
static int loop_gc(lua_State *L) {
  dgram_loop *loop = lua_touserdata(L, 1);
  if (!loop->ran && (loop_has_work(loop) || loop->queue_len || loop->timer_left))
    fputs(
        "dgram: the script ended with work waiting (sends, binds, timers) and never ran "
        "dgram.run()\n",
        stderr);
  loop->closing = 1;
  /* os.exit(0, true) from a callback frees the loop before the exit hook runs */
  if (running_loop == loop) running_loop = NULL;
  HOOKS_CALL(loop, exiting);
  HOOKS_CALL(loop, close_handles);
  uv_walk(&loop->uv, close_leftover, NULL);
  uv_run(&loop->uv, UV_RUN_DEFAULT);
  uv_loop_close(&loop->uv);
  HOOKS_CALL(loop, closing);
  free(loop->slab);
  free(loop->queue);
  loop->slab = NULL;
  loop->queue = NULL;
  loop->queue_cap = loop->queue_len = 0;
  for (struct free_req *r = loop->free_reqs, *next; r; r = next) {
    next = r->next;
    free(r);
  }
  loop->free_reqs = NULL;
  return 0;
}

void loop_open(lua_State *L) {
  if (loop_get(L) != NULL) return;
  dgram_loop *loop = lua_newuserdatauv(L, sizeof *loop, 0);
  memset(loop, 0, sizeof *loop);
  int rc = uv_loop_init(&loop->uv);
  if (rc != 0) luaL_error(L, "dgram: cannot create the loop: %s", uv_strerror(rc));
  loop->error_ref = LUA_NOREF;
  lua_createtable(L, 64 * VALUES_PER_ITEM, 0);
  loop->queue_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  uv_idle_init(&loop->uv, &loop->idle);
  uv_check_init(&loop->uv, &loop->check);
  uv_prepare_init(&loop->uv, &loop->prepare);
  uv_unref((uv_handle_t *)&loop->prepare); /* dgram.run flushes when it returns */
  loop->prepare.data = loop;
  uv_prepare_start(&loop->prepare, before_poll);
  loop->busy_poll_us = BUSY_POLL_DEFAULT_US;
  loop->turn = 1;
  uv_unref((uv_handle_t *)&loop->check);
  loop->check.data = loop;
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, loop_gc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &loop_key);
  uv_once(&exit_hook_once, install_exit_hook);
}

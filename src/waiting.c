/* The sends and connects of a socket that cannot go yet: waiting for the bind, for a
 * lookup, or (a send on a socket being connected) for the connect. They wait in one
 * first-in first-out queue per socket, so that they go in the order they were made
 * however long each lookup takes, and each callback runs exactly once: with the outcome,
 * or with the error that dropped the operation (a failed bind, close). A socket that is
 * bound, has nothing waiting and sends to an IP literal never comes here. */
#include "dgram.h"

/* ---- the queue: _waiting[head+1 .. tail] in the socket's handlers table ------------ */

static void push_queue(lua_State *L, int sidx) {
  socket_handlers(L, sidx, 1);
  if (lua_getfield(L, -1, "_waiting") != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_createtable(L, 4, 0);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, "_waiting");
  }
  lua_remove(L, -2);
}

/* A queue that held many operations is let go once empty, not kept at its peak size. */
#define QUEUE_KEEP 64

/* Pushes the first operation and takes it off the queue (q: the queue's index). */
static int queue_shift(lua_State *L, dgram_socket *s, int sidx, int q) {
  int at = ++s->wait.head;
  lua_rawgeti(L, q, at);
  lua_pushnil(L);
  lua_rawseti(L, q, at);
  if (s->wait.head == s->wait.tail) {
    s->wait.head = s->wait.tail = 0;
    if (at > QUEUE_KEEP) {
      socket_handlers(L, sidx, 1);
      lua_pushnil(L);
      lua_setfield(L, -2, "_waiting");
      lua_pop(L, 1);
    }
  }
  return lua_gettop(L);
}

waiting_item *waiting_item_new(lua_State *L, const waiting_op *op, int kind, int port) {
  waiting_item *w = lua_newuserdatauv(L, sizeof *w, WV_COUNT);
  w->op = op;
  w->kind = kind;
  w->phase = PHASE_BIND;
  w->port = port;
  return w;
}

static size_t item_bytes(lua_State *L, int item) {
  size_t bytes = 0;
  if (lua_getiuservalue(L, item, WV_DATA) == LUA_TSTRING) {
    bytes = lua_rawlen(L, -1);
  } else if (lua_istable(L, -1)) {
    lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
    for (lua_Integer i = 1; i <= n; i++) {
      lua_rawgeti(L, -1, i);
      bytes += lua_rawlen(L, -1);
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
  return bytes;
}

/* The operation leaves the queue's counts (it is going, or dropped). */
static void item_uncount(lua_State *L, dgram_socket *s, int item) {
  if (WAITING_ITEM(L, item)->kind == WAIT_CONNECT) return;
  s->wait.sends--;
  s->wait.bytes -= item_bytes(L, item);
}

/* The operation will not go: its lookup is given up, and a connect leaves the socket
 * unconnected. */
static void item_abandon(lua_State *L, dgram_socket *s, int item) {
  if (WAITING_ITEM(L, item)->phase == PHASE_DEAD) return;
  item_uncount(L, s, item);
  if (WAITING_ITEM(L, item)->kind == WAIT_CONNECT) s->connect_state = DISCONNECTED;
  lua_getiuservalue(L, item, WV_TOKEN);
  resolve_cancel(L, lua_gettop(L));
  lua_pop(L, 1);
  WAITING_ITEM(L, item)->phase = PHASE_DEAD;
}

/* ---- going in order ---------------------------------------------------------------- */

/* Runs the operations at the head of the queue that are ready, until one is not. */
static void waiting_pump(lua_State *L, dgram_socket *s, int sidx) {
  if (!waiting_any(s)) return;
  push_queue(L, sidx);
  int q = lua_gettop(L);
  while (waiting_any(s) && s->state == SOCK_BOUND) {
    if (lua_rawgeti(L, q, s->wait.head + 1) != LUA_TUSERDATA) { /* still being queued */
      lua_pop(L, 1);
      break;
    }
    int phase = WAITING_ITEM(L, lua_gettop(L))->phase;
    lua_pop(L, 1);
    if (phase == PHASE_BIND || phase == PHASE_LOOKUP) break;
    int item = queue_shift(L, s, sidx, q);
    if (phase != PHASE_DEAD) {
      item_uncount(L, s, item);
      WAITING_ITEM(L, item)->op->ready(L, s, sidx, item);
    }
    lua_settop(L, q);
  }
  lua_pop(L, 1);
}

/* A lookup answered (the address, or an error, on the stack top) for the operation at
 * item, unless it was dropped meanwhile. */
static void waiting_resolved(lua_State *L, dgram_socket *s, int sidx, int ok, int item) {
  if (WAITING_ITEM(L, item)->phase != PHASE_LOOKUP) return;
  lua_pushvalue(L, -1);
  lua_setiuservalue(L, item, WV_RESULT);
  lua_pushnil(L);
  lua_setiuservalue(L, item, WV_TOKEN);
  WAITING_ITEM(L, item)->phase = ok ? PHASE_READY : PHASE_FAILED;
  waiting_pump(L, s, sidx);
}

/* Starts the operation at item on a bound socket: a literal is ready at once (a connect
 * still connects on a later turn, as Node's always-async lookup does); a host name, or
 * any address with a `lookup` option, is looked up. Returns LUA_OK, or the status of an
 * error the lookup raised (pushed; the operation is abandoned). */
static int item_start(lua_State *L, dgram_socket *s, int sidx, int item) {
  int kind = WAITING_ITEM(L, item)->kind;
  if (kind == WAIT_SEND_CONNECTED) {
    WAITING_ITEM(L, item)->phase = PHASE_READY;
    return LUA_OK;
  }
  lua_getiuservalue(L, item, WV_HOST);
  const char *host = lua_tostring(L, -1);
  if (host == NULL || *host == '\0') {
    lua_pop(L, 1);
    lua_pushstring(L, s->family == AF_INET6 ? "::1" : "127.0.0.1");
  }
  int host_idx = lua_gettop(L);
  if (kind == WAIT_SEND && !resolve_needed(s, lua_tostring(L, host_idx))) {
    lua_setiuservalue(L, item, WV_RESULT);
    WAITING_ITEM(L, item)->phase = PHASE_READY;
    return LUA_OK;
  }
  WAITING_ITEM(L, item)->phase = PHASE_LOOKUP;
  if (!resolve_needed(s, lua_tostring(L, host_idx))) {
    resolve_later(L, s, sidx, host_idx, waiting_resolved, item);
  } else {
    int status = resolve_start(L, s, sidx, host_idx, waiting_resolved, item);
    if (status != LUA_OK) {
      lua_remove(L, host_idx);
      item_abandon(L, s, item);
      return status;
    }
  }
  /* The token; the lookup may have closed the socket, dropping the operation. */
  if (WAITING_ITEM(L, item)->phase == PHASE_DEAD)
    resolve_cancel(L, lua_gettop(L));
  else
    lua_setiuservalue(L, item, WV_TOKEN);
  lua_settop(L, host_idx - 1);
  return LUA_OK;
}

/* The socket closed while the operation at item was being queued (a finalizer run by an
 * allocation did it): it is dropped as close() would have. Pops the item. */
static void closed_while_added(lua_State *L, dgram_socket *s, int sidx, int item,
                               int at) {
  if (at > s->wait.tail) { /* the queue was emptied meanwhile */
    push_queue(L, sidx);
    lua_pushnil(L);
    lua_rawseti(L, -2, at);
    lua_pop(L, 1);
  }
  int kind = WAITING_ITEM(L, item)->kind;
  item_abandon(L, s, item);
  if (kind != WAIT_CONNECT && lua_getiuservalue(L, item, WV_CB) != LUA_TNIL) {
    push_not_running(L);
    socket_fail(L, s, sidx, lua_gettop(L) - 1);
  }
  lua_settop(L, item - 1);
}

int waiting_add(lua_State *L, dgram_socket *s, int sidx) {
  int item = lua_gettop(L);
  WAITING_ITEM(L, item)->phase = PHASE_BIND;
  if (WAITING_ITEM(L, item)->kind != WAIT_CONNECT) {
    s->wait.sends++;
    s->wait.bytes += item_bytes(L, item);
  }
  /* The slot is taken first: a finalizer run by the store may queue an operation too. */
  int at = ++s->wait.tail;
  push_queue(L, sidx);
  lua_pushvalue(L, item);
  lua_rawseti(L, -2, at);
  lua_pop(L, 1);
  if (s->state == SOCK_CLOSED) {
    closed_while_added(L, s, sidx, item, at);
    return LUA_OK;
  }
  if (s->state != SOCK_BOUND) {
    lua_pop(L, 1);
    return LUA_OK;
  }
  int status = item_start(L, s, sidx, item);
  if (status != LUA_OK) {
    waiting_pump(L, s, sidx); /* past the abandoned one, if it was first */
    lua_remove(L, item);
    return status;
  }
  lua_pop(L, 1);
  waiting_pump(L, s, sidx); /* the head may be this one, or one abandoned */
  return LUA_OK;
}

/* Starts what waited for the bind, in order. Returns LUA_OK, or the status of an error a
 * lookup raised (pushed): the operations after that one are not started yet. */
static int start_waiting(lua_State *L, dgram_socket *s, int sidx) {
  push_queue(L, sidx);
  int q = lua_gettop(L);
  for (int i = s->wait.head + 1; i <= s->wait.tail && s->state == SOCK_BOUND; i++) {
    lua_rawgeti(L, q, i);
    int item = lua_gettop(L);
    if (lua_isuserdata(L, item) && WAITING_ITEM(L, item)->phase == PHASE_BIND) {
      int status = item_start(L, s, sidx, item);
      if (status != LUA_OK) {
        lua_replace(L, q);
        lua_settop(L, q);
        return status;
      }
    }
    lua_settop(L, q);
  }
  lua_pop(L, 1);
  return LUA_OK;
}

static void waiting_resume(lua_State *L, const deferred *d, int base) {
  dgram_socket *s = lua_touserdata(L, base);
  (void)d;
  if (s->state == SOCK_BOUND) waiting_bound(L, s, base);
}

void waiting_bound(lua_State *L, dgram_socket *s, int sidx) {
  if (!waiting_any(s)) return;
  if (start_waiting(L, s, sidx) != LUA_OK) {
    /* A program error: it leaves dgram.run; the others go on at its next call. */
    loop_fail(L, s->loop);
    deferred d = {.kind = DEFER_CONTINUE, .cont = waiting_resume};
    lua_pushvalue(L, sidx);
    loop_defer(L, s->loop, &d, 1);
    return;
  }
  waiting_pump(L, s, sidx);
}

/* ---- dropped ----------------------------------------------------------------------- */

int waiting_drop(lua_State *L, dgram_socket *s, int sidx, int err, int closing) {
  int told = 0, untold = 0;
  if (!waiting_any(s)) return 0;
  push_queue(L, sidx);
  int q = lua_gettop(L);
  while (waiting_any(s)) {
    int item = queue_shift(L, s, sidx, q);
    if (lua_isuserdata(L, item) && WAITING_ITEM(L, item)->phase != PHASE_DEAD) {
      int kind = WAITING_ITEM(L, item)->kind;
      item_abandon(L, s, item);
      if (kind != WAIT_CONNECT) s->stats.send_errors++;
      if (err != 0 && !(closing && kind == WAIT_CONNECT)) {
        if (lua_getiuservalue(L, item, WV_CB) != LUA_TNIL) {
          lua_pushvalue(L, err);
          socket_fail(L, s, sidx, lua_gettop(L) - 1);
          told++;
        } else {
          untold++;
        }
      }
    }
    lua_settop(L, q);
  }
  lua_pop(L, 1);
  return told > 0 && untold == 0;
}

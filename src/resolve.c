/* Name resolution: IP literals, uv_getaddrinfo, and the `lookup` option's Lua hook. */
#include "dgram.h"

#include <stdlib.h>
#include <string.h>

/* ---- literals ---------------------------------------------------------------------- */

/* A custom `lookup` sees every address, as Node's does; the built-in one skips literals.
 */
int resolve_needed(const dgram_socket *s, const char *host) {
  return s->has_lookup || !resolve_is_literal(host);
}

/* ---- a resolution in flight -------------------------------------------------------- */

/* The request's Lua side, kept by `ref`: {socket, host, extra}. */
typedef struct resolve_req {
  uv_getaddrinfo_t req;
  dgram_socket *s;
  resolve_cb cb;
  int ref;
} resolve_req;

/* Runs the continuation with the result (address string or error) on the stack top,
 * and pops it. */
static void resolve_finish(lua_State *L, dgram_socket *s, resolve_cb cb, int ref,
                           int ok) {
  int result = lua_gettop(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
  luaL_unref(L, LUA_REGISTRYINDEX, ref);
  lua_rawgeti(L, -1, 1); /* the socket */
  lua_rawgeti(L, -2, 3); /* extra */
  lua_pushvalue(L, result);
  cb(L, s, result + 2, ok, result + 3);
  lua_settop(L, result - 1);
}

static void push_addrinfo(lua_State *L, const struct addrinfo *ai, int family) {
  char ip[DGRAM_ADDRSTRLEN];
  int port;
  for (; ai != NULL; ai = ai->ai_next)
    if (ai->ai_family == family) break;
  if (ai == NULL) {
    push_uv_error(L, UV_EAI_NONAME, "getaddrinfo", NULL, -1);
    return;
  }
  lua_pushstring(L, sockaddr_string(ai->ai_addr, ip, sizeof ip, &port));
}

static void getaddrinfo_done(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
  resolve_req *r = req->data;
  dgram_loop *loop = (dgram_loop *)req->loop;
  lua_State *L = loop_state(loop);
  if (L != NULL) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, r->ref);
    lua_rawgeti(L, -1, 2);
    const char *host = lua_tostring(L, -1);
    if (status == 0)
      push_addrinfo(L, res, r->s->family);
    else
      push_uv_error(L, status, "getaddrinfo", host, -1);
    if (status != 0 || lua_istable(L, -1)) { /* Node's dns errors name the host */
      lua_pushvalue(L, -2);
      lua_setfield(L, -2, "hostname");
    }
    lua_replace(L, -3);
    lua_pop(L, 1);
    resolve_finish(L, r->s, r->cb, r->ref, lua_type(L, -1) == LUA_TSTRING);
  }
  uv_freeaddrinfo(res);
  free(r);
}

/* ---- the `lookup` option, and failures reported later ------------------------------ */

/* A resolution finished on the Lua side: the continuation runs on a later turn, unless
 * the operation was given up meanwhile (resolve_cancel). */
typedef struct lookup_state {
  dgram_socket *s;
  resolve_cb cb;
  int ref;
  unsigned char done;      /* answered (or given up): later answers are ignored */
  unsigned char cancelled; /* given up: an answer already queued is dropped */
} lookup_state;

static void lookup_continue(lua_State *L, const deferred *d, int base) {
  lookup_state *st = lua_touserdata(L, base);
  if (st->cancelled) {
    luaL_unref(L, LUA_REGISTRYINDEX, st->ref);
    return;
  }
  lua_pushvalue(L, base + 2);
  resolve_finish(L, st->s, st->cb, st->ref, (int)d->value);
}

/* Gives up the resolution whose token is at idx: its answer, now or later, is dropped,
 * and what it kept (the socket among others) is let go. */
void resolve_cancel(lua_State *L, int idx) {
  lookup_state *st = lua_touserdata(L, idx);
  if (st == NULL || st->cancelled) return;
  st->cancelled = 1;
  if (!st->done) {
    st->done = 1;
    luaL_unref(L, LUA_REGISTRYINDEX, st->ref);
  }
}

/* Queues the result on the stack top (popped) for the state at st_idx. */
static void lookup_defer(lua_State *L, int st_idx, int ok) {
  st_idx = lua_absindex(L, st_idx);
  lookup_state *st = lua_touserdata(L, st_idx);
  deferred d = {.kind = DEFER_CONTINUE, .value = ok, .cont = lookup_continue};
  st->done = 1;
  lua_pushvalue(L, st_idx);
  lua_pushnil(L);
  lua_rotate(L, -3, -1); /* state, nil, result */
  loop_defer(L, st->s->loop, &d, 3);
}

/* cb(err, address, family) as handed to the user's lookup; a second call is ignored. */
static int lookup_callback(lua_State *L) {
  lookup_state *st = lua_touserdata(L, lua_upvalueindex(1));
  if (st->done) return 0;
  int ok = 0;
  if (!lua_isnoneornil(L, 1)) {
    lua_pushvalue(L, 1);
  } else if (lua_type(L, 2) == LUA_TSTRING) {
    /* an embedded NUL would cut the address short, an unknown scope be dropped */
    ok = !address_push_invalid(L, 2, "address");
    if (ok) lua_pushvalue(L, 2);
  } else {
    lua_pushfstring(L, "The \"address\" argument must be of type string. Received %s",
                    type_name(L, 2));
    push_error(L, "ERR_INVALID_ARG_TYPE", lua_tostring(L, -1), NULL, 0, NULL, -1);
    lua_remove(L, -2);
  }
  lookup_defer(L, lua_upvalueindex(1), ok);
  return 0;
}

static lookup_state *push_lookup_state(lua_State *L, dgram_socket *s, resolve_cb cb,
                                       int ref) {
  lookup_state *st = lua_newuserdatauv(L, sizeof *st, 0);
  st->s = s;
  st->cb = cb;
  st->ref = ref;
  st->done = st->cancelled = 0;
  return st;
}

/* Calls the user's lookup (the handlers table on the stack top); leaves the token on the
 * stack. An error raised inside it is a program error, not a failed resolution: the
 * resolution is given up and the error replaces the token (returns its status). */
static int lookup_call(lua_State *L, dgram_socket *s, int host_idx, resolve_cb cb,
                       int ref) {
  push_lookup_state(L, s, cb, ref);
  int st = lua_gettop(L);
  lua_getfield(L, -2, "lookup");
  lua_pushvalue(L, host_idx);
  lua_pushinteger(L, s->family == AF_INET6 ? 6 : 4);
  lua_pushvalue(L, st);
  lua_pushcclosure(L, lookup_callback, 1);
  int status = lua_pcall(L, 3, 0, 0);
  if (status != LUA_OK) {
    resolve_cancel(L, st);
    lua_replace(L, st);
  }
  return status;
}

/* The request's Lua side, {socket, host, extra}, kept in the registry: its ref. */
static int ref_request(lua_State *L, int sidx, int host_idx, int extra) {
  lua_createtable(L, 3, 0);
  lua_pushvalue(L, sidx);
  lua_rawseti(L, -2, 1);
  lua_pushvalue(L, host_idx);
  lua_rawseti(L, -2, 2);
  lua_pushvalue(L, extra);
  lua_rawseti(L, -2, 3);
  return luaL_ref(L, LUA_REGISTRYINDEX);
}

int resolve_start(lua_State *L, dgram_socket *s, int sidx, int host_idx, resolve_cb cb,
                  int extra) {
  int ref = ref_request(L, sidx, host_idx, extra);
  if (s->has_lookup) {
    socket_handlers(L, sidx, 0);
    int status = lookup_call(L, s, host_idx, cb, ref);
    lua_remove(L, -2);
    return status;
  }
  struct addrinfo hints;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = s->family;
  hints.ai_socktype = SOCK_DGRAM;
  resolve_req *r = malloc(sizeof *r);
  int rc = r ? 0 : UV_ENOMEM;
  if (r != NULL && !address_plausible_host(lua_tostring(L, host_idx)))
    rc = UV_EAI_NONAME; /* no DNS name looks like that: nothing to ask the network */
  else if (r != NULL) {
    r->s = s, r->cb = cb, r->ref = ref, r->req.data = r;
    rc = uv_getaddrinfo(&s->loop->uv, &r->req, getaddrinfo_done,
                        lua_tostring(L, host_idx), NULL, &hints);
  }
  if (rc != 0) {
    free(r);
    push_lookup_state(L, s, cb, ref);
    push_uv_error(L, rc, "getaddrinfo", lua_tostring(L, host_idx), -1);
    lua_pushvalue(L, host_idx);
    lua_setfield(L, -2, "hostname");
    lookup_defer(L, -2, 0);
    return LUA_OK; /* the state is the token */
  }
  lua_pushnil(L); /* getaddrinfo always answers, and the continuation checks */
  return LUA_OK;
}

/* The answer for a literal that needs no resolver, on a later turn like any other. */
void resolve_later(lua_State *L, dgram_socket *s, int sidx, int host_idx, resolve_cb cb,
                   int extra) {
  push_lookup_state(L, s, cb, ref_request(L, sidx, host_idx, extra));
  lua_pushvalue(L, host_idx);
  lookup_defer(L, -2, 1);
}

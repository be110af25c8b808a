/* bind (explicit and implicit), connect, and the receive start that follows a bind. */
#include "dgram.h"

#include <string.h>

#ifdef DGRAM_HAVE_REUSEPORT_FD
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>
#endif

static const char *any_address(const dgram_socket *s) {
  return s->family == AF_INET6 ? "::" : "0.0.0.0";
}

#ifdef DGRAM_HAVE_REUSEPORT_FD
/* SO_REUSEPORT must be set before bind(2), and libuv 1.44 has no flag for it. */
#define REUSEPORT_FLAG 0
static int open_reuseport_fd(dgram_socket *s) {
  uv_os_fd_t fd;
  if (uv_fileno((uv_handle_t *)s->handle, &fd) == 0) return 0; /* a retried bind */
  int sock = socket(s->family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) return uv_translate_sys_error(errno);
  int on = 1;
  if (setsockopt(sock, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0) {
    int err = uv_translate_sys_error(errno);
    close(sock);
    return err;
  }
  int rc = uv_udp_open(s->handle, sock);
  if (rc != 0) close(sock);
  return rc;
}
#elif defined(DGRAM_HAVE_UV_REUSEPORT)
#define REUSEPORT_FLAG UV_UDP_REUSEPORT /* libuv sets it, or fails with UV_ENOTSUP */
static int open_reuseport_fd(dgram_socket *s) {
  (void)s;
  return 0;
}
#else
/* No way to set it before the bind: the bind fails, as Node's does on an OS without it
 * (docs/API.md, dgram.features.reusePort). */
#define REUSEPORT_FLAG 0
static int open_reuseport_fd(dgram_socket *s) {
  (void)s;
  return UV_ENOTSUP;
}
#endif

static int apply_buffer_sizes(dgram_socket *s, const char **syscall) {
  int rc = 0;
  if (s->recv_buffer_size > 0) {
    int v = s->recv_buffer_size;
    *syscall = "uv_recv_buffer_size";
    rc = uv_recv_buffer_size((uv_handle_t *)s->handle, &v);
  }
  if (rc == 0 && s->send_buffer_size > 0) {
    int v = s->send_buffer_size;
    *syscall = "uv_send_buffer_size";
    rc = uv_send_buffer_size((uv_handle_t *)s->handle, &v);
  }
  return rc;
}

/* On the turn after the bind, as in Node: receive, emit 'listening', then let the sends
 * and connects that waited for the bind go. */
static void bind_complete(lua_State *L, const deferred *d, int sidx) {
  dgram_socket *s = lua_touserdata(L, sidx);
  (void)d;
  if (s->state == SOCK_CLOSED) return;
  int rc = uv_udp_recv_start(s->handle, recv_alloc, recv_on_data);
  if (rc != 0) {
    push_uv_error(L, rc, "recvStart", NULL, -1);
    socket_emit(L, s, sidx, EV_ERROR, 1);
    return;
  }
  s->state = SOCK_BOUND;
  socket_emit(L, s, sidx, EV_LISTENING, 0);
  if (s->state != SOCK_CLOSED) waiting_bound(L, s, sidx);
}

/* The bind failed with the error on the stack top (popped): what waited for it gets the
 * error. An explicit bind emits it as 'error'; an implicit one (a send's, a connect's)
 * only when something that waited had no callback to tell. A finalizer run by an
 * allocation here may close the socket (close then keeps the anchor) or bind it again
 * (the new bind keeps it). */
static void bind_failed(lua_State *L, dgram_socket *s, int sidx) {
  if (s->state == SOCK_CLOSED) { /* closed while the error was made: 'close' says it */
    lua_pop(L, 1);
    return;
  }
  s->state = SOCK_UNBOUND;
  int told = waiting_drop(L, s, sidx, lua_gettop(L), 0);
  if (s->implicit_bind && told)
    lua_pop(L, 1);
  else
    socket_defer_emit(L, s, sidx, EV_ERROR, 1);
  if (s->state == SOCK_UNBOUND)
    socket_release(L, s); /* a queued 'error' keeps it alive until emitted */
}

/* Binds to an IP literal now; 'listening' or 'error' follow on the next turn. */
static void bind_to(lua_State *L, dgram_socket *s, int sidx, const char *ip, int port) {
  dgram_addr addr;
  unsigned flags = (s->reuse_addr ? UV_UDP_REUSEADDR : 0) |
                   (s->ipv6_only ? UV_UDP_IPV6ONLY : 0) |
                   (s->reuse_port ? REUSEPORT_FLAG : 0);
  const char *syscall = "bind";
  int rc = socket_address_of(ip, port, s->family, &addr);
  if (rc == 0 && s->reuse_port) rc = open_reuseport_fd(s);
  if (rc == 0) rc = uv_udp_bind(s->handle, &addr.sa, flags);
  if (rc == 0) rc = apply_buffer_sizes(s, &syscall);
  if (rc != 0) {
    push_uv_error(L, rc, syscall, ip, port > 0 ? port : -1);
    bind_failed(L, s, sidx);
    return;
  }
  s->fd_bound = 1;
  deferred d = {.kind = DEFER_CONTINUE, .cont = bind_complete};
  lua_pushvalue(L, sidx);
  lua_pushnil(L);
  loop_defer(L, s->loop, &d, 2);
}

/* The bind's lookup, while it runs, is the handlers table's _bindlookup (its token). */
static void set_bind_lookup(lua_State *L, int sidx) {
  socket_handlers(L, sidx, 1);
  lua_insert(L, -2);
  lua_setfield(L, -2, "_bindlookup");
  lua_pop(L, 1);
}

/* The bind address came back from the resolver (string) or failed (error object). */
static void bind_resolved(lua_State *L, dgram_socket *s, int sidx, int ok, int extra) {
  if (s->state != SOCK_BINDING) return; /* closed meanwhile */
  lua_pushnil(L);
  set_bind_lookup(L, sidx);
  if (!ok) {
    lua_pushvalue(L, -1);
    bind_failed(L, s, sidx);
    return;
  }
  bind_to(L, s, sidx, lua_tostring(L, -1), (int)lua_tointeger(L, extra));
}

/* The socket closes: an answer to its bind's lookup, even a late one, is ignored. */
void bind_cancel(lua_State *L, int sidx) {
  if (!socket_handlers(L, sidx, 0)) {
    lua_pop(L, 1);
    return;
  }
  lua_getfield(L, -1, "_bindlookup");
  resolve_cancel(L, lua_gettop(L));
  lua_pop(L, 2);
}

/* bind_start's result when a finalizer run by an allocation there closed or bound the
 * socket first: nothing was started, no error is pushed. */
#define BIND_PREEMPTED (-1)

/* Starts binding: the address at addr_idx (nil: any) and port. Returns LUA_OK, the status
 * of an error the `lookup` function raised (pushed: the socket is unbound again and what
 * waited for the bind is dropped without a report, the call raises), or BIND_PREEMPTED.
 */
static int bind_start(lua_State *L, dgram_socket *s, int sidx, int addr_idx, int port) {
  const char *addr = lua_tostring(L, addr_idx);
  if (addr == NULL || *addr == '\0') {
    lua_pushstring(L, any_address(s));
    lua_replace(L, addr_idx);
    addr = lua_tostring(L, addr_idx);
  }
  if (s->state != SOCK_UNBOUND) return BIND_PREEMPTED;
  s->state = SOCK_BINDING;
  socket_anchor(L, s, sidx);
  if (!resolve_needed(s, addr)) {
    bind_to(L, s, sidx, addr, port);
    return LUA_OK;
  }
  lua_pushinteger(L, port);
  int status = resolve_start(L, s, sidx, addr_idx, bind_resolved, lua_gettop(L));
  lua_remove(L, -2);
  if (status == LUA_OK) {
    set_bind_lookup(L, sidx);
  } else if (s->state == SOCK_BINDING) {
    s->state = SOCK_UNBOUND;
    waiting_drop(L, s, sidx, 0, 0);
    socket_release(L, s);
  }
  return status;
}

int socket_bind_implicit(lua_State *L, dgram_socket *s, int sidx) {
  lua_pushnil(L);
  s->implicit_bind = 1;
  int status = bind_start(L, s, sidx, lua_gettop(L), 0);
  if (status == BIND_PREEMPTED) status = LUA_OK; /* the caller looks at the state again */
  lua_remove(L, status == LUA_OK ? -1 : -2);
  return status;
}

static void check_unbound(lua_State *L, const dgram_socket *s) {
  if (s->state == SOCK_CLOSED) raise_not_running(L);
  if (s->state != SOCK_UNBOUND)
    raise_error(L, "ERR_SOCKET_ALREADY_BOUND", "Socket is already bound");
}

/* socket:bind([port][, address]) or socket:bind(options); the wrapper takes callbacks.
 * Reading the options may run metamethods that close, bind or send on this socket: the
 * state is checked again once they have run. */
static int socket_bind(lua_State *L) {
  dgram_socket *s = socket_check_settled(L, 1);
  luaL_checkstack(L, DGRAM_CALL_STACK, NULL);
  check_unbound(L, s);
  lua_settop(L, 3);
  if (lua_istable(L, 2)) {
    lua_getfield(L, 2, "port");
    lua_getfield(L, 2, "address");
    check_unbound(L, s);
  } else {
    lua_pushvalue(L, 2);
    lua_pushvalue(L, 3);
  }
  int port_idx = 4, addr_idx = 5;
  int port = lua_isnil(L, port_idx) ? 0 : check_port(L, port_idx, 1);
  if (!lua_isnil(L, addr_idx) && lua_type(L, addr_idx) != LUA_TSTRING)
    return raise_error(L, "ERR_INVALID_ARG_TYPE",
                       "The \"address\" argument must be of type string. Received %s",
                       type_name(L, addr_idx));
  if (!lua_isnil(L, addr_idx)) address_check_arg(L, addr_idx, "address");
  s->implicit_bind = 0;
  int status = bind_start(L, s, 1, addr_idx, port);
  if (status == BIND_PREEMPTED) check_unbound(L, s);
  if (status != LUA_OK) return lua_error(L);
  lua_settop(L, 1);
  return 1;
}

void bind_register(lua_State *L) {
  static const luaL_Reg methods[] = {{"bind", socket_bind}, {NULL, NULL}};
  socket_add_methods(L, methods);
}

/* socket:stats(): what the socket has delivered and sent, and what the kernel dropped. */
#include "dgram.h"

#ifdef DGRAM_HAVE_MEMINFO
#include <linux/sock_diag.h> /* SK_MEMINFO_DROPS */
#include <sys/socket.h>
#ifndef SO_MEMINFO
#define SO_MEMINFO 55
#endif
#endif

static void set_count(lua_State *L, const char *name, uint64_t n) {
  lua_pushinteger(L, (lua_Integer)n);
  lua_setfield(L, -2, name);
}

/* Pushes the datagrams the kernel dropped for a full receive buffer (the same counter
 * as the drops column of /proc/net/udp), or nil where the OS does not say. */
static void push_kernel_drops(lua_State *L, const dgram_socket *s) {
#ifdef DGRAM_HAVE_MEMINFO
  uv_os_fd_t fd;
  uint32_t mem[SK_MEMINFO_VARS] = {0};
  socklen_t len = sizeof mem;
  if (uv_fileno((const uv_handle_t *)s->handle, &fd) != 0) { /* no descriptor yet */
    lua_pushinteger(L, 0);
    return;
  }
  if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &len) == 0 &&
      len > SK_MEMINFO_DROPS * sizeof mem[0]) {
    lua_pushinteger(L, mem[SK_MEMINFO_DROPS]);
    return;
  }
#else
  (void)s;
#endif
  lua_pushnil(L);
}

static int socket_stats(lua_State *L) {
  dgram_socket *s = socket_check_settled(L, 1);
  lua_createtable(L, 0, 5);
  set_count(L, "received", s->stats.received);
  set_count(L, "sent", s->stats.sent);
  set_count(L, "sendErrors", s->stats.send_errors);
  push_kernel_drops(L, s);
  lua_setfield(L, -2, "kernelDrops");
  return 1;
}

void stats_register(lua_State *L) {
  static const luaL_Reg methods[] = {{"stats", socket_stats}, {NULL, NULL}};
  socket_add_methods(L, methods);
}

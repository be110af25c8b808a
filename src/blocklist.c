/* receiveBlockList / sendBlockList: addresses and CIDR prefixes, matched in C. */
#include "dgram.h"

#include <stdlib.h>
#include <string.h>

typedef struct block_rule {
  int family; /* AF_INET or AF_INET6 */
  int prefix; /* leading bits that must match */
  unsigned char addr[16];
} block_rule;

struct blocklist {
  size_t n;
  block_rule rules[];
};

static int parse_rule(const char *text, block_rule *r) {
  char ip[INET6_ADDRSTRLEN + 8];
  const char *slash = strchr(text, '/');
  size_t len = slash ? (size_t)(slash - text) : strlen(text);
  if (len == 0 || len >= sizeof ip) return 0;
  memcpy(ip, text, len);
  ip[len] = '\0';
  if (uv_inet_pton(AF_INET, ip, r->addr) == 0)
    r->family = AF_INET;
  else if (uv_inet_pton(AF_INET6, ip, r->addr) == 0)
    r->family = AF_INET6;
  else
    return 0;
  int max = r->family == AF_INET ? 32 : 128;
  r->prefix = max;
  if (slash != NULL) {
    char *end;
    long p = strtol(slash + 1, &end, 10);
    if (slash[1] == '\0' || *end != '\0' || p < 0 || p > max) return 0;
    r->prefix = (int)p;
  }
  return 1;
}

/* Reads opts[name], an array of strings; NULL when absent or empty. */
struct blocklist *blocklist_check(lua_State *L, int opts, const char *name) {
  if (lua_getfield(L, opts, name) == LUA_TNIL) {
    lua_pop(L, 1);
    return NULL;
  }
  if (!lua_istable(L, -1))
    raise_error(L, "ERR_INVALID_ARG_TYPE",
                "The \"options.%s\" property must be an array of addresses. Received %s",
                name, type_name(L, -1));
  size_t n = (size_t)lua_rawlen(L, -1);
  if (n == 0) {
    lua_pop(L, 1);
    return NULL;
  }
  /* A userdata owns the memory while parsing, so a raised error cannot leak it. */
  struct blocklist *b = lua_newuserdatauv(L, sizeof *b + n * sizeof b->rules[0], 0);
  b->n = n;
  for (size_t i = 0; i < n; i++) {
    lua_rawgeti(L, -2, (lua_Integer)i + 1);
    if (lua_type(L, -1) != LUA_TSTRING || !parse_rule(lua_tostring(L, -1), &b->rules[i]))
      raise_error(L, "ERR_INVALID_ARG_VALUE",
                  "The property 'options.%s' is invalid. Received %s at index %d", name,
                  type_name(L, -1), (int)i + 1);
    lua_pop(L, 1);
  }
  struct blocklist *copy = malloc(sizeof *b + n * sizeof b->rules[0]);
  if (copy == NULL) luaL_error(L, "dgram: out of memory");
  memcpy(copy, b, sizeof *b + n * sizeof b->rules[0]);
  lua_pop(L, 2);
  return copy;
}

static int prefix_match(const unsigned char *a, const unsigned char *b, int bits) {
  int bytes = bits / 8, rest = bits % 8;
  if (memcmp(a, b, (size_t)bytes) != 0) return 0;
  if (rest == 0) return 1;
  unsigned char mask = (unsigned char)(0xff << (8 - rest));
  return (a[bytes] & mask) == (b[bytes] & mask);
}

int blocklist_match(const struct blocklist *b, const struct sockaddr *sa) {
  const unsigned char *addr;
  int family = sa->sa_family;
  if (family == AF_INET) {
    addr = (const unsigned char *)&((const struct sockaddr_in *)sa)->sin_addr;
  } else {
    addr = (const unsigned char *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(addr, mapped, sizeof mapped) == 0) { /* ::ffff:a.b.c.d is a.b.c.d */
      addr += 12;
      family = AF_INET;
    }
  }
  for (size_t i = 0; i < b->n; i++)
    if (b->rules[i].family == family &&
        prefix_match(addr, b->rules[i].addr, b->rules[i].prefix))
      return 1;
  return 0;
}

void blocklist_free(struct blocklist *b) {
  free(b);
}

void push_blocked_error(lua_State *L, const struct sockaddr *sa) {
  char ip[INET6_ADDRSTRLEN + 64] = "";
  int port = -1;
  sockaddr_string(sa, ip, sizeof ip, &port);
  lua_pushfstring(L, "IP(%s) is blocked by net.BlockList", ip);
  push_error(L, "ERR_IP_BLOCKED", lua_tostring(L, -1), NULL, 0, ip, port);
  lua_remove(L, -2);
}

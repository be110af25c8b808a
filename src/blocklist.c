/* receiveBlockList / sendBlockList: addresses and CIDR prefixes, matched in C.
 *
 * Every rule and every address is placed in one 128-bit space, as Node's net.BlockList
 * compares them: an IPv4 address a.b.c.d is ::ffff:a.b.c.d and an IPv4 prefix /p is
 * ::ffff:a.b.c.d/(96+p). So an IPv4-mapped rule matches the plain IPv4 address, an IPv4
 * rule matches IPv4-mapped senders, and an IPv6 rule covering ::ffff:0:0/96 matches
 * IPv4 too. The rules become ranges, sorted and merged once at createSocket: a datagram
 * costs one binary search however long the list is. */
#include "dgram.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct u128 {
  uint64_t hi, lo;
} u128;

typedef struct block_range {
  u128 first, last;
} block_range;

struct blocklist {
  size_t n;
  block_range ranges[];
};

static u128 u128_of_bytes(const unsigned char b[16]) {
  u128 v = {0, 0};
  for (int i = 0; i < 8; i++) {
    v.hi = v.hi << 8 | b[i];
    v.lo = v.lo << 8 | b[i + 8];
  }
  return v;
}

static int u128_cmp(u128 a, u128 b) {
  if (a.hi != b.hi) return a.hi < b.hi ? -1 : 1;
  if (a.lo != b.lo) return a.lo < b.lo ? -1 : 1;
  return 0;
}

/* The address as a point of the 128-bit space (IPv4 as ::ffff:a.b.c.d). */
static u128 u128_of_sockaddr(const struct sockaddr *sa) {
  if (sa->sa_family == AF_INET6)
    return u128_of_bytes(((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr);
  const unsigned char *v4 =
      (const unsigned char *)&((const struct sockaddr_in *)sa)->sin_addr;
  u128 v = {0, 0xffff00000000ULL};
  v.lo |= (uint64_t)v4[0] << 24 | (uint64_t)v4[1] << 16 | (uint64_t)v4[2] << 8 | v4[3];
  return v;
}

/* The prefix after '/': 1 to 3 digits, no sign, space or leading zero, at most `max`. */
static int parse_prefix(const char *p, size_t len, int max) {
  if (len == 0 || len > 3 || (p[0] == '0' && len > 1)) return -1;
  int v = 0;
  for (size_t i = 0; i < len; i++) {
    if (p[i] < '0' || p[i] > '9') return -1;
    v = v * 10 + (p[i] - '0');
  }
  return v <= max ? v : -1;
}

/* "address" or "address/prefix" (the whole string) into the range it covers. */
static int parse_rule(const char *text, size_t len, block_range *r) {
  const char *slash = memchr(text, '/', len);
  size_t addr_len = slash ? (size_t)(slash - text) : len;
  dgram_addr a;
  if (address_parse(text, addr_len, AF_UNSPEC, 0, &a) != 0) return 0;
  int v4 = a.sa.sa_family == AF_INET, prefix = 128;
  if (slash != NULL) {
    prefix = parse_prefix(slash + 1, len - addr_len - 1, v4 ? 32 : 128);
    if (prefix < 0) return 0;
    if (v4) prefix += 96;
  }
  u128 host = {0, 0}; /* the bits the prefix leaves free */
  if (prefix < 64) {
    host.hi = prefix == 0 ? UINT64_MAX : UINT64_MAX >> prefix;
    host.lo = UINT64_MAX;
  } else if (prefix < 128) {
    host.lo = UINT64_MAX >> (prefix - 64);
  }
  u128 base = u128_of_sockaddr(&a.sa);
  r->first = (u128){base.hi & ~host.hi, base.lo & ~host.lo};
  r->last = (u128){base.hi | host.hi, base.lo | host.lo};
  return 1;
}

static int range_order(const void *x, const void *y) {
  return u128_cmp(((const block_range *)x)->first, ((const block_range *)y)->first);
}

/* Sorts the ranges and merges those that overlap or touch; returns how many are left. */
static size_t merge_ranges(block_range *r, size_t n) {
  qsort(r, n, sizeof *r, range_order);
  size_t out = 0;
  for (size_t i = 0; i < n; i++) {
    if (out > 0) {
      block_range *prev = &r[out - 1];
      u128 next = prev->last; /* the first address after prev, if there is one */
      int at_end = next.hi == UINT64_MAX && next.lo == UINT64_MAX;
      if (++next.lo == 0) next.hi++;
      if (at_end || u128_cmp(r[i].first, next) <= 0) {
        if (u128_cmp(r[i].last, prev->last) > 0) prev->last = r[i].last;
        continue;
      }
    }
    r[out++] = r[i];
  }
  return out;
}

/* Reads opts[name], an array of strings, and pushes its list, or nil when absent or
 * empty; returns the list or NULL. The list is a userdata the socket keeps as a user
 * value: the collector frees it, also when the socket's own __gc never runs (a finalizer
 * that fails, at a full stack, is skipped). */
struct blocklist *blocklist_check(lua_State *L, int opts, const char *name) {
  if (lua_getfield(L, opts, name) == LUA_TNIL) return NULL;
  if (!lua_istable(L, -1))
    raise_error(L, "ERR_INVALID_ARG_TYPE",
                "The \"options.%s\" property must be an array of addresses. Received %s",
                name, type_name(L, -1));
  size_t n = (size_t)lua_rawlen(L, -1);
  if (n == 0) {
    lua_pop(L, 1);
    lua_pushnil(L);
    return NULL;
  }
  struct blocklist *b = lua_newuserdatauv(L, sizeof *b + n * sizeof b->ranges[0], 0);
  for (size_t i = 0; i < n; i++) {
    size_t len;
    lua_rawgeti(L, -2, (lua_Integer)i + 1);
    const char *text = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &len) : NULL;
    if (text == NULL || !parse_rule(text, len, &b->ranges[i]))
      raise_error(L, "ERR_INVALID_ARG_VALUE",
                  "The property 'options.%s' is invalid. Received %s at index %d", name,
                  text ? address_push_quoted(L, text, len) : type_name(L, -1),
                  (int)i + 1);
    lua_pop(L, 1);
  }
  b->n = merge_ranges(b->ranges, n);
  lua_remove(L, -2);
  return b;
}

int blocklist_match(const struct blocklist *b, const struct sockaddr *sa) {
  u128 v = u128_of_sockaddr(sa);
  size_t lo = 0, hi = b->n; /* the ranges before lo start at or below v; from hi, above */
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (u128_cmp(b->ranges[mid].first, v) <= 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo > 0 && u128_cmp(v, b->ranges[lo - 1].last) <= 0;
}

void push_blocked_error(lua_State *L, const struct sockaddr *sa) {
  char ip[DGRAM_ADDRSTRLEN] = "";
  int port = -1;
  sockaddr_string(sa, ip, sizeof ip, &port);
  lua_pushfstring(L, "IP(%s) is blocked by net.BlockList", ip);
  push_error(L, "ERR_IP_BLOCKED", lua_tostring(L, -1), NULL, 0, ip, port);
  lua_remove(L, -2);
}

/* Address text, read strictly: an IP literal is the whole string or nothing. libuv's own
 * parsers stop at a NUL, cut a long text before '%' and drop an unknown scope; here each
 * of those is a refusal, so no string reaches the network as some other address. */
#include "dgram.h"

#ifdef _WIN32
#include <iphlpapi.h> /* if_nametoindex, if_indextoname (netioapi.h) */
#else
#include <net/if.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The interface index a scope names ("eth0", or a decimal index of an interface that
 * exists); 0 when it names none. */
static unsigned scope_index(const char *scope) {
  if (*scope == '\0') return 0;
  unsigned idx = if_nametoindex(scope);
  if (idx != 0) return idx;
  size_t n = strspn(scope, "0123456789");
  if (n == 0 || n > 10 || scope[n] != '\0' || scope[0] == '0') return 0;
  unsigned long v = strtoul(scope, NULL, 10);
  char name[IF_NAMESIZE];
  if (v > 0xffffffffUL || if_indextoname((unsigned)v, name) == NULL) return 0;
  return (unsigned)v;
}

int address_parse(const char *text, size_t len, int family, int port, dgram_addr *out) {
  char buf[ADDRESS_TEXT_MAX];
  memset(out, 0, sizeof *out);
  if (len == 0 || len >= sizeof buf || memchr(text, '\0', len) != NULL) return UV_EINVAL;
  memcpy(buf, text, len);
  buf[len] = '\0';
  char *pct = strchr(buf, '%');
  if (family != AF_INET6 && pct == NULL &&
      uv_inet_pton(AF_INET, buf, &out->in.sin_addr) == 0) {
    out->in.sin_family = AF_INET;
    out->in.sin_port = htons((unsigned short)port);
    return 0;
  }
  if (family == AF_INET) return UV_EINVAL;
  if (pct != NULL) *pct = '\0';
  if (uv_inet_pton(AF_INET6, buf, &out->in6.sin6_addr) != 0) return UV_EINVAL;
  if (pct != NULL && (out->in6.sin6_scope_id = scope_index(pct + 1)) == 0)
    return UV_EINVAL;
  out->in6.sin6_family = AF_INET6;
  out->in6.sin6_port = htons((unsigned short)port);
  return 0;
}

const char *address_push_quoted(lua_State *L, const char *s, size_t len) {
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  luaL_addchar(&b, '\'');
  for (size_t i = 0; i < len && i < 80; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x20 || c == 0x7f) {
      char esc[8];
      snprintf(esc, sizeof esc, "\\x%02x", c);
      luaL_addstring(&b, esc);
    } else {
      luaL_addchar(&b, (char)c);
    }
  }
  luaL_addstring(&b, len > 80 ? "...'" : "'");
  luaL_pushresult(&b);
  return lua_tostring(L, -1);
}

int address_push_invalid(lua_State *L, int idx, const char *name) {
  size_t len;
  const char *text = lua_tolstring(L, idx, &len);
  dgram_addr a;
  if (memchr(text, '\0', len) == NULL &&
      (memchr(text, '%', len) == NULL || address_parse(text, len, AF_INET6, 0, &a) == 0))
    return 0;
  lua_pushfstring(L, "The argument '%s' is invalid. Received %s", name,
                  address_push_quoted(L, text, len));
  push_error(L, "ERR_INVALID_ARG_VALUE", lua_tostring(L, -1), NULL, 0, NULL, -1);
  lua_replace(L, -3);
  lua_pop(L, 1);
  return 1;
}

void address_check_slow(lua_State *L, int idx, const char *name) {
  if (address_push_invalid(L, idx, name)) lua_error(L);
}

/* What a DNS name can be: labels of 1..63 letters, digits, '-' or '_' (or UTF-8 bytes),
 * 253 characters in all (254 with the root's trailing dot). */
int address_plausible_host(const char *host) {
  size_t len = strlen(host), label = 0;
  if (len == 0 || len > 254 || (len == 254 && host[253] != '.')) return 0;
  for (const unsigned char *p = (const unsigned char *)host; *p; p++) {
    if (*p == '.') {
      if (label == 0) return 0;
      label = 0;
    } else if (*p >= 0x80 || *p == '-' || *p == '_' || (*p >= '0' && *p <= '9') ||
               ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z')) {
      if (++label > 63) return 0;
    } else {
      return 0;
    }
  }
  return 1;
}

/* ---- literal addresses to and from sockaddrs --------------------------------------- */

int socket_address_of(const char *ip, int port, int family, dgram_addr *out) {
  return address_parse(ip, strlen(ip), family, port, out);
}

int resolve_is_literal(const char *host) {
  dgram_addr a;
  return address_parse(host, strlen(host), AF_UNSPEC, 0, &a) == 0;
}

const char *sockaddr_string(const struct sockaddr *sa, char *buf, size_t len, int *port) {
  buf[0] = '\0';
  if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)sa;
    uv_ip6_name(a6, buf, len);
    *port = ntohs(a6->sin6_port);
    if (a6->sin6_scope_id != 0) { /* a link-local address names its interface */
      size_t used = strlen(buf), ifl = len - used - 1;
      buf[used] = '%';
      if (uv_if_indextoname(a6->sin6_scope_id, buf + used + 1, &ifl) != 0)
        snprintf(buf + used + 1, len - used - 1, "%u", (unsigned)a6->sin6_scope_id);
    }
  } else if (sa->sa_family == AF_INET) {
    uv_ip4_name((const struct sockaddr_in *)sa, buf, len);
    *port = ntohs(((const struct sockaddr_in *)sa)->sin_port);
  }
  return buf;
}

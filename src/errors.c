/* Error objects: every error this module raises or emits is built here. */
#include "dgram.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void set_string(lua_State *L, const char *key, const char *value) {
  if (value == NULL) return;
  lua_pushstring(L, value);
  lua_setfield(L, -2, key);
}

void push_error(lua_State *L, const char *code, const char *message, const char *syscall,
                int errnum, const char *address, int port) {
  lua_createtable(L, 0, 6);
  set_string(L, "code", code);
  set_string(L, "message", message);
  set_string(L, "syscall", syscall);
  set_string(L, "address", address);
  if (errnum != 0) {
    lua_pushinteger(L, errnum);
    lua_setfield(L, -2, "errno");
  }
  if (port >= 0) {
    lua_pushinteger(L, port);
    lua_setfield(L, -2, "port");
  }
  luaL_setmetatable(L, DGRAM_ERROR_MT);
}

/* Node calls getaddrinfo's "no such name" errors ENOTFOUND. */
static const char *uv_code(int errnum) {
  if (errnum == UV_EAI_NONAME || errnum == UV_EAI_NODATA) return "ENOTFOUND";
  return uv_err_name(errnum);
}

void push_uv_error(lua_State *L, int errnum, const char *syscall, const char *address,
                   int port) {
  const char *code = uv_code(errnum);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  luaL_addstring(&b, syscall);
  luaL_addchar(&b, ' ');
  luaL_addstring(&b, code);
  if (address != NULL) {
    luaL_addchar(&b, ' ');
    luaL_addstring(&b, address);
    if (port >= 0) lua_pushfstring(L, ":%d", port), luaL_addvalue(&b);
  }
  luaL_pushresult(&b);
  push_error(L, code, lua_tostring(L, -1), syscall, errnum, address, port);
  lua_remove(L, -2);
}

int raise_error(lua_State *L, const char *code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  lua_pushvfstring(L, fmt, ap);
  va_end(ap);
  push_error(L, code, lua_tostring(L, -1), NULL, 0, NULL, -1);
  return lua_error(L);
}

int raise_uv_error(lua_State *L, int errnum, const char *syscall, const char *address,
                   int port) {
  push_uv_error(L, errnum, syscall, address, port);
  return lua_error(L);
}

/* How Node describes a received value in its messages ("Received type string ('x')"). */
const char *type_name(lua_State *L, int idx) {
  idx = lua_absindex(L, idx); /* what it pushes must not move a relative index */
  switch (lua_type(L, idx)) {
  case LUA_TNONE:
  case LUA_TNIL:
    return "nil";
  case LUA_TSTRING:
    return lua_pushfstring(L, "type string ('%s')", lua_tostring(L, idx));
  case LUA_TNUMBER:
  case LUA_TBOOLEAN:
    return lua_pushfstring(L, "type %s (%s)", luaL_typename(L, idx),
                           luaL_tolstring(L, idx, NULL));
  default:
    return lua_pushfstring(L, "an instance of %s", luaL_typename(L, idx));
  }
}

static int port_value(lua_State *L, int idx, lua_Integer *out) {
  int t = lua_type(L, idx);
  if (t == LUA_TSTRING) {
    const char *s = lua_tostring(L, idx);
    while (*s == ' ' || *s == '\t')
      s++;
    if (*s == '\0') return 0;
  } else if (t != LUA_TNUMBER) {
    return 0;
  }
  int isnum = 0;
  lua_Number n = lua_tonumberx(L, idx, &isnum);
  if (!isnum || n != (lua_Number)(lua_Integer)n) return 0;
  *out = (lua_Integer)n;
  return 1;
}

int check_port(lua_State *L, int idx, int allow_zero) {
  lua_Integer port = -1;
  if (!port_value(L, idx, &port) || port < 0 || port > 65535 ||
      (port == 0 && !allow_zero))
    raise_error(L, "ERR_SOCKET_BAD_PORT", "Port should be %s 0 and < 65536. Received %s.",
                allow_zero ? ">=" : ">", type_name(L, idx));
  return (int)port;
}

static int error_tostring(lua_State *L) {
  lua_getfield(L, 1, "message");
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    lua_getfield(L, 1, "code");
  }
  luaL_tolstring(L, -1, NULL);
  return 1;
}

/* dgram.core.error(code, message[, fields]): lets the wrapper raise the same objects. */
static int error_new(lua_State *L) {
  static const char *const names[] = {"code", "message"};
  for (int i = 0; i < 2; i++)
    if (lua_type(L, i + 1) != LUA_TSTRING)
      return raise_error(L, "ERR_INVALID_ARG_TYPE",
                         "The \"%s\" argument must be of type string. Received %s",
                         names[i], type_name(L, i + 1));
  push_error(L, lua_tostring(L, 1), lua_tostring(L, 2), NULL, 0, NULL, -1);
  if (lua_istable(L, 3)) {
    lua_pushnil(L);
    while (lua_next(L, 3)) {
      lua_pushvalue(L, -2);
      lua_insert(L, -2);
      lua_settable(L, -4);
    }
  }
  return 1;
}

void errors_register(lua_State *L) {
  luaL_newmetatable(L, DGRAM_ERROR_MT);
  lua_pushcfunction(L, error_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pushliteral(L, "dgram.error");
  lua_setfield(L, -2, "__name");
  lua_pop(L, 1);
  lua_pushcfunction(L, error_new);
  lua_setfield(L, -2, "error");
}

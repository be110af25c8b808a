#!/bin/sh
# make check-windows: the library built for Windows (x86_64) by MinGW-w64, as far as this
# machine can without libuv or Lua built for Windows.
#   1. every C file compiled against libuv's and Lua's headers alone, from a private
#      include directory (/usr/include also holds glibc's headers, which must not stand
#      in for Windows's);
#   2. core.dll linked against import libraries made from the functions uv.h and Lua's
#      headers declare, and Windows's own libraries: every symbol the module uses exists
#      there, and the DLL exports luaopen_dgram_core alone.
# Usage: tools/windows.sh OUTDIR FILE.c...   (CFLAGS from the environment; the files of
# the core first, up to src/lib/luaopen_dgram.c, which is compiled but not linked)
set -eu
cc=x86_64-w64-mingw32-gcc
out=$1
shift
rm -rf "$out"
mkdir -p "$out/include/uv" "$out/obj" "$out/lib"
uv=$(pkg-config --variable=includedir libuv)
ln -s "$uv/uv.h" "$out/include/"
ln -s "$uv"/uv/*.h "$out/include/uv/"
for d in $(pkg-config --cflags-only-I lua5.4 | sed 's/-I//g'); do
  ln -s "$d/lua.h" "$d/luaconf.h" "$d/lauxlib.h" "$d/lualib.h" "$out/include/"
done

objs=""
for f in "$@"; do
  o="$out/obj/$(basename "$f" .c).o"
  # shellcheck disable=SC2086
  $cc ${CFLAGS:-} -DDGRAM_BUILD_DLL -I"$out/include" -c "$f" -o "$o"
  case $f in */lib/*) ;; *) objs="$objs $o" ;; esac
done

# implib NAME DLL PATTERN HEADER...: an import library for the functions the headers
# declare with PATTERN (UV_EXTERN, LUA_API, LUALIB_API), the name the first identifier
# of the declaration that is followed by '(' (Lua's headers write "(lua_gettop) (").
implib() {
  name=$1 dll=$2 pattern=$3
  shift 3
  { echo "LIBRARY $dll"; echo "EXPORTS"
    cat "$@" | tr '\n' ' ' | grep -o "${pattern}[^;]*;" |
      sed -n 's/^[^(]*[^A-Za-z0-9_(](\{0,1\}\(\(uv\|lua\|luaL\)_[A-Za-z0-9_]*\))\{0,1\} *(.*/\1/p' |
      sort -u
  } > "$out/lib/$name.def"
  x86_64-w64-mingw32-dlltool -d "$out/lib/$name.def" -l "$out/lib/lib$name.a"
}
implib uv uv.dll UV_EXTERN "$out/include/uv.h" "$out"/include/uv/win.h
lua_h="$out/include/lua.h $out/include/lauxlib.h $out/include/lualib.h"
# shellcheck disable=SC2086
implib lua54 lua54.dll 'LUA\(LIB\)\{0,1\}_API' $lua_h

# shellcheck disable=SC2086
$cc -shared -static-libgcc -o "$out/core.dll" $objs -L"$out/lib" -luv -llua54 \
  -lws2_32 -liphlpapi -luserenv -lpsapi -luser32 -ladvapi32 -ldbghelp -lole32 -lshell32
exports=$(x86_64-w64-mingw32-objdump -p "$out/core.dll" |
  sed -n '/\[Ordinal\/Name Pointer\] Table/,/^$/p' | grep -o '[A-Za-z_][A-Za-z0-9_]*$' |
  grep -v '^Table$' || true)
if [ "$exports" != "luaopen_dgram_core" ]; then
  echo "windows: core.dll exports [$exports], not luaopen_dgram_core alone" >&2
  exit 1
fi
echo "check-windows: $# C files compile for Windows (MinGW-w64, x86_64); core.dll links" \
  "against libuv's and Lua's declared functions and exports luaopen_dgram_core alone"

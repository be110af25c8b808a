#!/bin/sh
# Runs a command inside a private network namespace (`unshare -n`) with lo up, multicast
# on and 224.0.0.0/4 routed to lo: random address strings parse as real multicast and
# broadcast addresses, and nothing may leave the machine. Needs root.
#   tools/netns.sh [--asan] command [args...]
#   --asan   preload ASan+UBSan and use the module built with them (build/asan)
set -u
cd "$(dirname "$0")/.." || exit 2
export LUA_PATH="./lua/?.lua;./lua/?/init.lua;./spec/?.lua;./tools/?.lua;;"
export LUA_CPATH="./${DGRAM_BUILD:-build}/?.so;;" # the Makefile's build of $LUA
# The tools use the specs' 5.2/5.3 idioms: on Lua 5.1 and LuaJIT they come from
# spec/compat.lua (as in spec/run.sh).
case ${LUA:-} in lua5.1 | luajit) export LUA_INIT="@$PWD/spec/compat.lua" ;; esac
if [ "${1:-}" = "--asan" ]; then
  shift
  export LUA_CPATH="./${DGRAM_BUILD:-build}/asan/?.so;;"
  LD_PRELOAD="$(cc -print-file-name=libasan.so):$(cc -print-file-name=libubsan.so)"
  export LD_PRELOAD
  export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=99}"
  export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=99}"
fi
if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null || ! command -v ip >/dev/null; then
  echo "tools/netns.sh: needs root, unshare and ip (a private network namespace)" >&2
  exit 2
fi
setup='ip link set lo up && ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo'
# The preload is for the command only, not for unshare, sh and ip.
preload=${LD_PRELOAD:-}
unset LD_PRELOAD
exec unshare -n sh -c "$setup && LD_PRELOAD='$preload' exec \"\$@\"" netns "$@"

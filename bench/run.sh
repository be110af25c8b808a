#!/bin/sh
# The benchmark suite: dgram against Node.js's dgram, luv, LuaSocket, a C program on
# libuv and a C program on recvmmsg/sendmmsg, in one run, one table.
# Usage: sh bench/run.sh quick|full|report      (make bench-quick / make bench)
#   quick: one run of each, shorter floods (about 1.5 minutes)
#   full:  the median of three runs (about 5.5 minutes); writes bench/RESULTS.md
#   report: rewrites bench/RESULTS.md from the last full run (after editing bench/NOTES.md)
# BENCH_UPDATE_BASELINE=1 rewrites bench/BASELINE (instructions per datagram).
# Exits 1 only when dgram's instructions per datagram grew past bench/BASELINE.
set -u
cd "$(dirname "$0")/.." || exit 2
mode=${1:-quick}

# The peers: installed as tools/deps.sh installs (as root), else the command is printed
# and the peers that are missing are reported as not run.
need=""
command -v node >/dev/null 2>&1 || need="$need nodejs"
lua5.4 -e 'require("luv")' >/dev/null 2>&1 || need="$need lua-luv"
lua5.4 -e 'require("socket")' >/dev/null 2>&1 || need="$need lua-socket"
command -v valgrind >/dev/null 2>&1 || need="$need valgrind"
if [ -n "$need" ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "bench: installing$need" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null 2>&1 || true
    # shellcheck disable=SC2086
    apt-get install -y -q --no-install-recommends $need >/dev/null ||
      echo "bench: apt-get install failed:$need (those peers are reported as not run)" >&2
  else
    echo "bench: missing peers:$need (reported as not run)" >&2
    echo "bench: to install them, run as root:  apt-get update && apt-get install -y$need" >&2
  fi
fi
for t in taskset timeout; do
  command -v $t >/dev/null 2>&1 || { echo "bench: $t is required (util-linux, coreutils)" >&2; exit 2; }
done
[ -f build/dgram/core.so ] || { echo "bench: run 'make all' first" >&2; exit 2; }

# The C helpers and peers, into build/bench/.
out=build/bench
mkdir -p "$out"
CC=${CC:-cc}
CWARN="-O2 -g -Wall -Wextra -Werror -std=c11 -D_GNU_SOURCE"
build() { # name, extra flags...
  name=$1
  shift
  if [ ! -f "$out/$name" ] || [ "bench/c/$name.c" -nt "$out/$name" ] ||
    [ bench/c/common.h -nt "$out/$name" ]; then
    # shellcheck disable=SC2086
    $CC $CWARN "bench/c/$name.c" -o "$out/$name" "$@" || {
      echo "bench: building $name failed" >&2
      return 1
    }
  fi
}
build flood || exit 2
build sink || exit 2
build mmsg_peer
# shellcheck disable=SC2046
build uv_peer $(pkg-config --cflags --libs libuv)
if [ ! -f "$out/benchclock.so" ] || [ bench/c/benchclock.c -nt "$out/benchclock.so" ] ||
  [ bench/c/common.h -nt "$out/benchclock.so" ]; then
  # shellcheck disable=SC2046
  $CC $CWARN -fPIC -shared $(pkg-config --cflags lua5.4) bench/c/benchclock.c \
    -o "$out/benchclock.so" || exit 2
fi

ulimit -n 4096 2>/dev/null || true # 1,000 sockets and then some
export LUA_PATH='./lua/?.lua;./lua/?/init.lua;./bench/peers/?.lua;./?.lua;;'
export LUA_CPATH='./build/?.so;./build/bench/?.so;;'
lua5.4 bench/driver.lua "$mode" || exit $?
# The pictures of a full run's table (README shows them beside it).
case $mode in full | report) lua5.4 bench/svg.lua bench/RESULTS.md bench/results.svg ;; esac

#!/bin/sh
# Runs the busted specs, then the private-network-namespace specs when the machine
# allows them, and prints "N passed, N failed[, N skipped]" as the last line.
#   DGRAM_ASAN=1      run under AddressSanitizer + UBSan (module built with them)
#   DGRAM_VALGRIND=1  run under valgrind memcheck
#   LUA               the Lua to run them on (default lua5.4; busted runs on it as is:
#                     --ignore-lua over .busted's lua)
#   DGRAM_CPATH       where dgram/core.so is (default ./$DGRAM_BUILD/?.so)
#   DGRAM_BUILD       the build directory (default build; the Makefile sets it per Lua and
#                     for PORTABLE=1)
set -u
cd "$(dirname "$0")/.." || exit 2
LUA=${LUA:-lua5.4}
BUILD_DIR=${DGRAM_BUILD:-build} # the Makefile's per-Lua build directory
BUSTED=$(command -v busted)
export LUA_PATH="./lua/?.lua;./lua/?/init.lua;./spec/?.lua;;"
cpath=${DGRAM_CPATH:-./$BUILD_DIR/?.so}
export LUA_CPATH="$cpath;;"
# Lua 5.1 and LuaJIT: the specs' own 5.2/5.3 idioms, in every child lua too (not the module's)
case $LUA in lua5.1 | luajit) export LUA_INIT="@$PWD/spec/compat.lua" ;; esac
runner="$LUA"
if [ -n "${DGRAM_ASAN:-}" ]; then
  asan=$(cc -print-file-name=libasan.so)
  ubsan=$(cc -print-file-name=libubsan.so)
  runner="env LD_PRELOAD=$asan:$ubsan $LUA"
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:exitcode=99"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=99"
elif [ -n "${DGRAM_VALGRIND:-}" ]; then
  runner="valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect --track-fds=no $LUA"
  export DGRAM_SLOW=1
fi
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

# summary FILE: prints "successes failures errors pending" from busted's last line.
summary() {
  sed -n 's/^\([0-9]*\) success[es]* \/ \([0-9]*\) failures* \/ \([0-9]*\) errors* \/ \([0-9]*\) pending.*/\1 \2 \3 \4/p' "$1" | tail -n 1
}

status=0
# busted puts its --cpath first: without it .busted's (./build/?.so, for a plain `busted`)
# would be, and this process would load that module instead of the one under test.
# shellcheck disable=SC2086
$runner "$BUSTED" --ignore-lua --cpath="$cpath" --output=utfTerminal --pattern=_spec spec 2>&1 | tee "$log/main"
[ "$(tail -c 1 "$log/main")" = "" ] || echo

# Multicast and broadcast run only inside a private network namespace with lo set up.
ns_setup='ip link set lo up && ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo'
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null && command -v ip >/dev/null &&
  unshare -n sh -c "$ns_setup" >/dev/null 2>&1; then
  # shellcheck disable=SC2086
  unshare -n sh -c "$ns_setup && exec $runner $BUSTED --ignore-lua --cpath='$cpath' --output=utfTerminal --pattern=_nsspec spec" 2>&1 | tee "$log/ns"
else
  reason="no private network namespace here (needs root, unshare and ip)"
  echo "multicast/broadcast specs skipped: $reason"
  DGRAM_NO_NETNS="$reason" $runner "$BUSTED" --ignore-lua --cpath="$cpath" --output=utfTerminal --pattern=_nsspec spec 2>&1 | tee "$log/ns"
fi

passed=0 failed=0 skipped=0
for f in "$log/main" "$log/ns"; do
  set -- $(summary "$f")
  if [ $# -ne 4 ]; then
    echo "spec run $(basename "$f") did not finish (crash or sanitizer report above)"
    failed=$((failed + 1))
    continue
  fi
  passed=$((passed + $1)) failed=$((failed + $2 + $3)) skipped=$((skipped + $4))
done
grep -q "ERROR: AddressSanitizer\|runtime error:\|ERROR: LeakSanitizer\|== Invalid\|definitely lost" "$log/main" "$log/ns" &&
  { echo "memory checker reported errors (see above)"; failed=$((failed + 1)); }
[ "$failed" -eq 0 ] || status=1
if [ "$skipped" -gt 0 ]; then
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "$passed passed, $failed failed"
fi
exit $status

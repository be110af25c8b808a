#!/bin/sh
# `make demo-game`: the game server (in the C host, nowait mode, when build/embed-host is
# built; else standalone) and 50 bots in another process for 3 s; prints what both saw.
#   sh examples/game_demo.sh [bots] [seconds]
set -u
cd "$(dirname "$0")/.." || exit 1
export LUA_PATH="./lua/?.lua;;" LUA_CPATH="./build/?.so;;"
bots=${1:-50} secs=${2:-3}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
if [ -x build/embed-host ]; then
  echo "demo-game: server in the C host (build/embed-host --mode=nowait), 60 Hz tick"
  build/embed-host --mode=nowait examples/game_server.lua 0 60 $((secs + 2)) "$bots" >"$out" 2>&1 &
else
  echo "demo-game: server standalone (no build/embed-host), 60 Hz tick"
  lua5.4 examples/game_server.lua 0 60 $((secs + 2)) "$bots" >"$out" 2>&1 &
fi
server=$!
n=0
until grep -q '^LISTENING' "$out" || [ $n -ge 100 ]; do
  sleep 0.05
  n=$((n + 1))
done
port=$(sed -n 's/^LISTENING \([0-9]*\).*/\1/p' "$out")
[ -n "$port" ] || { cat "$out"; echo "demo-game: the server did not start"; exit 1; }
echo "demo-game: $bots bots at 30 Hz for $secs s against port $port"
lua5.4 examples/game_bots.lua "$port" "$bots" 30 "$secs"
status=$?
kill -TERM "$server" 2>/dev/null
wait "$server"
cat "$out"
grep -q '^SERVER' "$out" || status=1
[ $status -eq 0 ] && echo "demo-game: ok" || echo "demo-game: failed"
exit $status

#!/bin/sh
# Runs one measurement: a server (it prints "port=N" first) pinned to one core, then a
# client pinned to the other with {PORT} replaced by that port; both bounded in time.
# Prints the server's lines prefixed "server." and the client's prefixed "client.".
# Usage: pair.sh SECONDS SERVER_CORE "SERVER CMD" CLIENT_CORE "CLIENT CMD"
set -u
limit=$1 score=$2 server=$3 ccore=$4 client=$5
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dgram-bench.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# shellcheck disable=SC2086
timeout -k 2 "$limit" taskset -c "$score" sh -c "exec $server" >"$tmp/s" 2>"$tmp/se" &
spid=$!
port="" i=0
while [ $i -lt 300 ]; do # 15 s at most for the server to come up
  port=$(sed -n 's/^port=//p' "$tmp/s" | head -n 1)
  [ -n "$port" ] && break
  kill -0 "$spid" 2>/dev/null || break
  sleep 0.05
  i=$((i + 1))
done
if [ -z "$port" ]; then
  kill "$spid" 2>/dev/null
  wait "$spid" 2>/dev/null
  echo "error=server did not start: $(head -c 300 "$tmp/se" | tr '\n' ' ')"
  exit 0
fi
cmd=$(printf '%s' "$client" | sed "s/{PORT}/$port/g")
timeout -k 2 "$limit" taskset -c "$ccore" sh -c "exec $cmd" >"$tmp/c" 2>"$tmp/ce"
crc=$?
wait "$spid"
src=$?
sed 's/^/server./' "$tmp/s"
sed 's/^/client./' "$tmp/c"
[ "$src" -ne 0 ] && echo "error=server exit $src: $(head -c 300 "$tmp/se" | tr '\n' ' ')"
[ "$crc" -ne 0 ] && echo "error=client exit $crc: $(head -c 300 "$tmp/ce" | tr '\n' ' ')"
exit 0

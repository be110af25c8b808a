#!/bin/sh
# `make demo`: an echo server and a client, each its own Lua process; exits by itself.
# The client starts once the server's port is bound and sends each datagram after the
# echo of the one before, so the two processes' lines come out in one order.
set -u
cd "$(dirname "$0")/.." || exit 1
export LUA_PATH="./lua/?.lua;;" LUA_CPATH="${DGRAM_CPATH:-./build/?.so};;"
port=${DEMO_PORT:-41234}
lua5.4 examples/echo_server.lua "$port" 3 &
server=$!
# Wait (up to 5 s) for the port in /proc/net/udp; elsewhere, a moment.
if [ -r /proc/net/udp ]; then
  hex=$(printf '%04X' "$port")
  tries=0
  while [ $tries -lt 50 ] && kill -0 "$server" 2>/dev/null &&
    ! grep -q ": [0-9A-F]*:$hex " /proc/net/udp; do
    sleep 0.1
    tries=$((tries + 1))
  done
else
  sleep 0.3
fi
lua5.4 examples/echo_client.lua "$port" 3
status=$?
wait "$server"
[ $status -eq 0 ] && echo "demo: ok" || echo "demo: the client did not get its echoes"
exit $status

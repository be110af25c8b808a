#!/bin/sh
# `make demo`: an echo server and a client, each its own Lua process; exits by itself.
set -u
cd "$(dirname "$0")/.." || exit 1
export LUA_PATH="./lua/?.lua;;" LUA_CPATH="./build/?.so;;"
port=${DEMO_PORT:-41234}
lua5.4 examples/echo_server.lua "$port" 3 &
server=$!
sleep 0.3
lua5.4 examples/echo_client.lua "$port" 3
status=$?
wait "$server"
[ $status -eq 0 ] && echo "demo: ok" || echo "demo: the client did not get its echoes"
exit $status

#!/bin/sh
# The game-server load test: examples/game_server.lua in the C host (build/embed-host
# --mode=nowait) and in plain dgram.run(), and the same server on Node's dgram
# (bench/game/node_server.js), one after another, each against examples/game_bots.lua in a
# separate process; then two Lua servers sharing the port with reusePort.
# Usage: sh bench/game/run.sh full|quick      (make bench-game / make bench-game-quick)
#   full:  500, 1000 and 2000 bots at 30 Hz, server tick 60 Hz, 8 s per row (about 3
#          minutes); writes bench/game/RESULTS.md
#   quick: 100 bots, 2 s per row (about 20 s); writes build/bench/game-quick.md
# Server CPU is utime+stime from /proc/<pid>/stat over the bots' run (all its threads).
set -u
cd "$(dirname "$0")/../.." || exit 2
mode=${1:-quick}
TICK=${GAME_TICK:-60}
HZ=${GAME_INPUT_HZ:-30}
# A client silent this long is dropped: longer than the 1 s default, so that a bots process
# starved of CPU for a moment (a busy machine) does not make the clients leave and rejoin.
TIMEOUT_MS=${GAME_TIMEOUT_MS:-3000}
case $mode in
full) SIZES=${GAME_BOTS:-"500 1000 2000"} SECS=${GAME_SECONDS:-8} out=bench/game/RESULTS.md ;;
quick) SIZES=${GAME_BOTS:-100} SECS=${GAME_SECONDS:-2} out=build/bench/game-quick.md ;;
*) echo "usage: sh bench/game/run.sh full|quick" >&2 && exit 2 ;;
esac
# The 2-process rows: the two largest loads.
REUSE_BOTS=${GAME_REUSE_BOTS:-$(echo "$SIZES" | awk '{ print (NF > 1 ? $(NF - 1) " " : "") $NF }')}

export LUA_PATH='./lua/?.lua;./lua/?/init.lua;;'
export LUA_CPATH='./build/?.so;;'
ulimit -n 8192 2>/dev/null || true # one socket per bot
[ -f build/dgram/core.so ] || { echo "bench-game: run 'make all' first" >&2; exit 2; }
have_host=1
[ -x build/embed-host ] || { have_host=0; echo "bench-game: no build/embed-host (make embed-host): hosted rows not run" >&2; }
have_node=1
command -v node >/dev/null 2>&1 || { have_node=0; echo "bench-game: no node: Node rows not run" >&2; }
hz=$(getconf CLK_TCK)
load=$(cut -d ' ' -f 1-3 /proc/loadavg)
tmp=$(mktemp -d)
mkdir -p build/bench
trap 'rm -rf "$tmp"' EXIT

cpu_ticks() { # pids...: utime+stime of each, summed
  t=0
  for p in "$@"; do
    t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$t"
}
field() { # file name: the value of name= on the file's SERVER/RESULT line
  grep -E '^(SERVER|RESULT) ' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1
}
sum_field() { # name files...: the field summed over the files
  name=$1
  shift
  s=0
  for f in "$@"; do s=$((s + $(field "$f" "$name"))); done
  echo "$s"
}

# row label kind bots procs: one server run (procs processes) against the bots.
row() {
  label=$1 kind=$2 bots=$3 procs=$4
  case $kind in
  hosted) cmd="build/embed-host --mode=nowait examples/game_server.lua" ;;
  lua) cmd="lua5.4 examples/game_server.lua" ;;
  node) cmd="node bench/game/node_server.js" ;;
  esac
  reuse=0
  [ "$procs" -gt 1 ] && reuse=1
  port=0 pids="" files="" i=1
  while [ "$i" -le "$procs" ]; do
    f=$tmp/server$i
    # The server outlives the bots; it is stopped with SIGTERM once they are done.
    # shellcheck disable=SC2086
    $cmd "$port" "$TICK" $((SECS + 10)) $((bots / procs)) "$reuse" "$TIMEOUT_MS" >"$f" 2>&1 &
    pids="$pids $!" files="$files $f"
    n=0
    until grep -q '^LISTENING' "$f" 2>/dev/null || [ $n -ge 100 ]; do
      sleep 0.05
      n=$((n + 1))
    done
    port=$(sed -n 's/^LISTENING \([0-9]*\).*/\1/p' "$f")
    [ -n "$port" ] || { echo "bench-game: $label did not start:" >&2; cat "$f" >&2; return 1; }
    i=$((i + 1))
  done
  # shellcheck disable=SC2086
  c0=$(cpu_ticks $pids)
  lua5.4 examples/game_bots.lua "$port" "$bots" "$HZ" "$SECS" >"$tmp/bots" 2>&1
  # shellcheck disable=SC2086
  c1=$(cpu_ticks $pids)
  sleep 1 # what is still in the server's receive buffer is read, not counted as lost
  # shellcheck disable=SC2086
  c2=$(cpu_ticks $pids)
  # shellcheck disable=SC2086
  kill -TERM $pids
  for p in $pids; do wait "$p"; done
  # shellcheck disable=SC2086
  if ! grep -q '^RESULT' "$tmp/bots" || [ "$(cat $files | grep -c '^SERVER')" -ne "$procs" ]; then
    echo "bench-game: $label at $bots bots failed:" >&2
    # shellcheck disable=SC2086
    cat "$tmp/bots" $files >&2
    return 1
  fi
  sent=$(field "$tmp/bots" inputs_sent)
  # shellcheck disable=SC2086
  got=$(sum_field inputs $files)
  # shellcheck disable=SC2086
  drops=$(sum_field kernelDrops $files)
  # shellcheck disable=SC2086
  snaps=$(sum_field snapshots $files)
  cpu=$(awk -v t=$((c1 - c0)) -v hz="$hz" 'BEGIN { printf "%.2f", t / hz }')
  # the server CPU per datagram it handled (inputs received + snapshots sent, which all
  # happen between c0 and c2)
  per=$(awk -v t=$((c2 - c0)) -v hz="$hz" -v n=$((got + snaps)) \
    'BEGIN { if (n > 0) printf "%.1f", t / hz * 1e6 / n; else printf "-" }')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$bots" "$label" "$sent" \
    $((sent - got)) "$drops" "$(field "$tmp/bots" min_rate)" "$(field "$tmp/bots" avg_rate)" \
    "$cpu" "$(field "$tmp/bots" p50_ms)" "$(field "$tmp/bots" p99_ms)" \
    "$(field "$tmp/bots" cpu)" "$procs" \
    "$(awk -v s="$sent" -v n=$((bots * HZ * SECS)) 'BEGIN { printf "%.0f%%", 100 * s / n }')" \
    "$per" >>"$tmp/rows"
  tail -n 1 "$tmp/rows" >&2
  return 0
}

echo "bench-game ($mode): bots at $HZ Hz, server tick $TICK Hz, $SECS s per row" >&2
# (row uses the shell's global variables: the loop's is named apart from them)
for size in $SIZES; do
  [ $have_host = 1 ] && row "lua, C host nowait" hosted "$size" 1
  row "lua, dgram.run()" lua "$size" 1
  [ $have_node = 1 ] && row "node" node "$size" 1
done
for size in $REUSE_BOTS; do
  row "lua, 2 processes, reusePort" lua "$size" 2
done

# The table: CPU relative to Node's at the same number of bots.
{
  echo "| bots | server | inputs sent | offered | lost | kernelDrops | snapshots/s min | avg | server CPU s | vs Node | µs/datagram | p50 ms | p99 ms | bots CPU s |"
  echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  awk -F '\t' '
    { row[NR] = $0; if ($2 == "node") node[$1] = $8 }
    END {
      for (i = 1; i <= NR; i++) {
        split(row[i], f, "\t")
        ratio = (f[1] in node && node[f[1]] > 0) ? sprintf("%.2fx", f[8] / node[f[1]]) : "-"
        printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
          f[1], f[2], f[3], f[13], f[4], f[5], f[6], f[7], f[8], ratio, f[14], f[9], f[10], f[11]
      }
    }' "$tmp/rows"
} >"$tmp/table"
frames=200
[ "$mode" = quick ] && frames=50
lua5.4 bench/frame_broadcast.lua "$frames" 1000 >"$tmp/frame" 2>&1
{
  echo "# Game server bench ($mode)"
  echo
  echo "\`sh bench/game/run.sh $mode\` on $(date -u +%Y-%m-%d), $(nproc) cores," \
    "load average before: $load."
  echo "Bots at $HZ Hz input in one process (examples/game_bots.lua), server tick $TICK Hz," \
    "$SECS s per row. offered = inputs sent / (bots x rate x seconds): below 100% the bots" \
    "process did not get the CPU to send its load (the machine was busy), and the row" \
    "measures less than it says. lost = inputs the bots sent that the server did not receive;" \
    "µs/datagram = the server's CPU per datagram it handled (inputs received + snapshots" \
    "sent), a measure of cost that does not depend on how much of the load it kept up with;" \
    "server CPU over the bots' run; latency from an input to the first snapshot echoing it."
  echo
  cat "$tmp/table"
  echo
  echo "Frame broadcast (bench/frame_broadcast.lua): one snapshot to 1,000 destinations," \
    "CPU per destination, sent from host code one by one, inside dgram.batch, and from a" \
    "callback inside dgram.run (batch/callback near 1.0: a host's frame costs what a" \
    "callback's does)."
  echo
  echo '```'
  cat "$tmp/frame"
  echo '```'
} >"$out"
cat "$tmp/table"
cat "$tmp/frame"
echo "bench-game: wrote $out" >&2

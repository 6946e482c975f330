# shellcheck shell=bash
# Helpers shared by proxy-bench/run.sh and proxy-bench/cluster.sh (sourced, not run).
# Every process a script starts goes into PIDS; the EXIT trap set here stops them by PID.
# quiesce and counters_reset talk to the synthetic upstream at $SYNTH.

PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do
    [ -n "$p" ] && kill "$p" 2>/dev/null || true
  done
  for p in "${PIDS[@]:-}"; do
    [ -n "$p" ] && wait "$p" 2>/dev/null || true
  done
}
trap cleanup EXIT INT TERM

log() { printf '\n== %s\n' "$*"; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()' 2>/dev/null \
    || shuf -i 20000-60000 -n 1
}

wait_http() { # url, seconds: until it answers at all (401 too: TOKEN=1 behind nginx)
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    [ "$(curl -sS -o /dev/null -w '%{http_code}' --max-time 2 "$1" 2>/dev/null)" != 000 ] && return 0
    sleep 0.1
  done
  echo "timed out waiting for $1" >&2
  return 1
}

stop_pid() {
  local p=$1 i
  kill "$p" 2>/dev/null || return 0
  for ((i = 0; i < 100; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
}

# A target that missed a deadline keeps fetching for the requests the simulator abandoned; wait
# until the upstream has seen no request and no body byte for 4 s (at most 120 s) so that the
# next scenario does not share the uplink with the last one's leftovers.
quiesce() {
  local prev="" cur i
  for ((i = 0; i < 60; i++)); do
    cur=$(curl -fsS "$SYNTH/_bench/counters" | sed -n 's/^{"requests":\([0-9]*\),"bodyBytes":\([0-9]*\).*/\1 \2/p')
    if [ -n "$prev" ] && [ "$cur" = "$prev" ]; then return 0; fi
    prev=$cur
    sleep 4
  done
  echo "   (upstream still busy after 240 s; going on)"
}

counters_reset() { curl -fsS -X POST -o /dev/null "$SYNTH/_bench/reset"; }

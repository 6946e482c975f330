#!/usr/bin/env bash
# Cluster scenario: several Wharfs in front of one synthetic upstream, without and with peers and
# as a two-level hierarchy, pulled by N nodes spread round-robin over the entry instances. Writes
# (or replaces) the "Cluster scenario" section of BENCHMARKS.md; the rest of the file is kept.
#
#   proxy-bench/cluster.sh                    # 300 nodes, all four scenarios
#   NODES=20 BUILD=0 proxy-bench/cluster.sh   # quick check with the jars already built
#   CLUSTER_SCENARIOS="single peers-3" proxy-bench/cluster.sh
#
# Scenarios (each with fresh processes, empty stores and its own cold image):
#   single          1 Wharf (baseline)
#   independent-3   3 Wharfs, not peered (what a site gets without peers:)
#   peers-3         3 Wharfs with peers: (static members, shared token)
#   hierarchy-3x1   3 cluster Wharfs (upstream kind: wharf) -> 1 site Wharf -> synthetic upstream;
#                   nodes pull through the 3 cluster Wharfs
# Before each measured pull an unreported 20-node warm-up pull of a separate image (JIT,
# connection pools, peer health checks), after which the upstream's counters are reset.
#
# Everything listens on 127.0.0.1 only, every pull has a deadline, every process started here is
# stopped here by its PID.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
SET_VARS=""
for v in NODES CLUSTER_SCENARIOS DEADLINE_S WAN_BANDWIDTH WAN_LATENCY_MS IMAGE_LAYERS WHARF_OPTS JAVA_OPTS BUILD; do
  [ -n "${!v+x}" ] && SET_VARS+="$v=${!v} "
done
NODES=${NODES:-300}
CLUSTER_SCENARIOS=${CLUSTER_SCENARIOS:-"single independent-3 peers-3 hierarchy-3x1"}
DEADLINE_S=${DEADLINE_S:-90}                   # per measured pull (the simulator stops itself)
WAN_BANDWIDTH=${WAN_BANDWIDTH:-1gbit}
WAN_LATENCY_MS=${WAN_LATENCY_MS:-20}
IMAGE_LAYERS=${IMAGE_LAYERS:-2m,1m,512k,256k,128k}   # run.sh's "mid" image (default profile)
WHARF_OPTS=${WHARF_OPTS:-"-Xmx512m"}
JAVA_OPTS=${JAVA_OPTS:-"-XX:+UseParallelGC"}
WORK=${WORK:-$(mktemp -d /tmp/wharf-cluster-bench.XXXXXX)}
mkdir -p "$WORK"
OUT=${OUT:-$ROOT/BENCHMARKS.md}
COMMAND="${BENCH_COMMAND:-${SET_VARS}proxy-bench/cluster.sh}"
PEER_TOKEN_ENV=WHARF_BENCH_PEER_TOKEN
export WHARF_BENCH_PEER_TOKEN=bench-peer-token-not-a-secret

# PIDS and the EXIT trap that stops them, log, free_port, wait_http, stop_pid, counters_reset
# shellcheck source=lib.sh
source "$ROOT/proxy-bench/lib.sh"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
T_START=$SECONDS

if [ "${BUILD:-1}" = 1 ]; then
  log "building (./mvnw -q -B -DskipTests package)"
  ./mvnw -q -B -DskipTests package
fi
WHARF_JAR=$ROOT/proxy-server/target/wharf.jar
BENCH_JAR=$ROOT/proxy-bench/target/wharf-bench.jar

# ---- synthetic upstream: a warm-up image and one cold image per scenario ----
SYNTH_PORT=$(free_port)
IMAGES=(--image "bench/cluster-warmup:v1=1m,512k,256k")
for s in $CLUSTER_SCENARIOS; do IMAGES+=(--image "bench/cluster-$s:v1=$IMAGE_LAYERS"); done
log "synthetic upstream on 127.0.0.1:$SYNTH_PORT ($WAN_BANDWIDTH, ${WAN_LATENCY_MS} ms)"
java $JAVA_OPTS -Xmx1g -cp "$BENCH_JAR" io.wharf.bench.SyntheticRegistry --listen "127.0.0.1:$SYNTH_PORT" \
  "${IMAGES[@]}" --bandwidth "$WAN_BANDWIDTH" --latency-ms "$WAN_LATENCY_MS" >"$WORK/synth.log" 2>&1 &
PIDS+=("$!")
SYNTH=http://127.0.0.1:$SYNTH_PORT
wait_http "$SYNTH/v2/" 60

# ---- Wharf processes ----
SCEN_PIDS=()
# wharf_yaml PORT DIR UPSTREAM_URL [KIND] [PEER_MEMBERS as "a:1", "b:2"]
wharf_yaml() {
  cat <<EOF
listen: 127.0.0.1:$1
upstreams:
  - name: synth
    url: $3
EOF
  [ -n "${4:-}" ] && echo "    kind: $4"
  cat <<EOF
storage:
  tiers:
    - path: $2/store
server:
  shutdownGrace: 2s
EOF
  if [ -n "${5:-}" ]; then
    cat <<EOF
peers:
  members: [$5]
  tokenEnv: $PEER_TOKEN_ENV
  healthInterval: 1s
EOF
  fi
}

start_wharf() { # DIR (holding wharf.yaml)
  # shellcheck disable=SC2086 # word splitting of the option lists is meant
  java $JAVA_OPTS $WHARF_OPTS -jar "$WHARF_JAR" serve --config "$1/wharf.yaml" >"$1/wharf.log" 2>&1 &
  PIDS+=("$!")
  SCEN_PIDS+=("$!")
}

# peers_up URL... : every instance's wharf_peers_up gauge counts all of them
peers_up() {
  local u n
  for u in "$@"; do
    n=$(curl -s --max-time 2 "$u/metrics" | awk '/^wharf_peers_up /{print int($2)}')
    [ "${n:-0}" = "$#" ] || return 1
  done
}

stop_scenario() {
  local p
  for p in "${SCEN_PIDS[@]:-}"; do [ -n "$p" ] && stop_pid "$p"; done
  SCEN_PIDS=()
}

RESULTS=$WORK/cluster.tsv
META=$WORK/meta.properties
: >"$META"

scenario() { # NAME
  local s=$1 d=$WORK/$1 i port members="" site="" entry=() ports=() k=3
  mkdir -p "$d"
  case $s in single) k=1 ;; esac
  for ((i = 0; i < k; i++)); do ports+=("$(free_port)"); done
  case $s in
    single | independent-3)
      for ((i = 0; i < k; i++)); do
        mkdir -p "$d/w$i" && wharf_yaml "${ports[i]}" "$d/w$i" "$SYNTH" >"$d/w$i/wharf.yaml"
      done
      echo "instances.$s=$k" >>"$META"
      ;;
    peers-3)
      for port in "${ports[@]}"; do members+="${members:+, }\"127.0.0.1:$port\""; done
      for ((i = 0; i < k; i++)); do
        mkdir -p "$d/w$i" && wharf_yaml "${ports[i]}" "$d/w$i" "$SYNTH" "" "$members" >"$d/w$i/wharf.yaml"
      done
      echo "instances.$s=$k peered" >>"$META"
      ;;
    hierarchy-3x1)
      site=$(free_port)
      mkdir -p "$d/site" && wharf_yaml "$site" "$d/site" "$SYNTH" >"$d/site/wharf.yaml"
      for ((i = 0; i < k; i++)); do
        mkdir -p "$d/w$i" && wharf_yaml "${ports[i]}" "$d/w$i" "http://127.0.0.1:$site" wharf >"$d/w$i/wharf.yaml"
      done
      echo "instances.$s=$k cluster + 1 site" >>"$META"
      ;;
    *) echo "unknown scenario $s" >&2; return 1 ;;
  esac
  log "$s: Wharf on 127.0.0.1:${ports[*]}${site:+ (site 127.0.0.1:$site)}"
  [ -n "$site" ] && start_wharf "$d/site"
  for ((i = 0; i < k; i++)); do start_wharf "$d/w$i"; entry+=("http://127.0.0.1:${ports[i]}"); done
  [ -n "$site" ] && wait_http "http://127.0.0.1:$site/v2/" 60
  for u in "${entry[@]}"; do wait_http "$u/v2/" 60; done
  if [ "$s" = peers-3 ]; then
    local deadline=$((SECONDS + 30))
    until peers_up "${entry[@]}"; do
      if ((SECONDS > deadline)); then echo "   (peers not all up after 30 s; going on)"; break; fi
      sleep 0.5
    done
  fi
  local registries
  registries=$(IFS=,; echo "${entry[*]}")
  timeout 120 java $JAVA_OPTS -cp "$BENCH_JAR" io.wharf.bench.PullSimulator --registry "$registries" \
    --image bench/cluster-warmup:v1 --nodes 20 --deadline-s 60 >"$d/warmup.log" 2>&1 || true
  # Warm-up blobs now sit in every store; only the cold image counts from here.
  counters_reset
  echo "-- $s ($NODES nodes over ${#entry[@]} instance(s), bench/cluster-$s:v1)"
  timeout $((DEADLINE_S + 60)) java $JAVA_OPTS -Xmx2g -cp "$BENCH_JAR" io.wharf.bench.PullSimulator \
    --registry "$registries" --image "bench/cluster-$s:v1" --nodes "$NODES" --deadline-s "$DEADLINE_S" \
    --counters "$SYNTH/_bench/counters" --target "$s" --scenario "cold-$NODES" --results "$RESULTS" \
    || echo "   ($s: not every node verified; recorded as failures)"
  if [ "$s" = peers-3 ]; then
    for u in "${entry[@]}"; do
      echo "   $u: $(curl -s --max-time 2 "$u/metrics" | grep '^wharf_peer_requests_total{' | tr '\n' ' ')"
    done
  fi
  stop_scenario
}

for s in $CLUSTER_SCENARIOS; do scenario "$s"; done

log "report"
{
  echo "command=$COMMAND"
  echo "date=$(date -u +%Y-%m-%dT%H:%MZ)"
  echo "commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with local changes)')"
  echo "nproc=$(nproc)"
  echo "memory=$(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  echo "cpu=$(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)"
  echo "jdk=$(java -version 2>&1 | head -1)"
  echo "wan=$WAN_BANDWIDTH, ${WAN_LATENCY_MS} ms per response"
  echo "image=$IMAGE_LAYERS (config + 5 layers), a distinct one per scenario"
  echo "nodes=$NODES, round-robin over the entry instances"
  echo "deadline_s=$DEADLINE_S"
  echo "wharf_opts=$JAVA_OPTS $WHARF_OPTS"
  echo "load_before=$LOAD_BEFORE"
  echo "load_after=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "duration_s=$((SECONDS - T_START))"
} >>"$META"
java -cp "$BENCH_JAR" io.wharf.bench.Report --cluster "$RESULTS" --meta "$META" --out "$OUT"
echo "raw results and logs: $WORK"

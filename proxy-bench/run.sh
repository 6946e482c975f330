#!/usr/bin/env bash
# Side-by-side benchmark: Wharf vs Debian's docker-registry (proxy mode) vs nginx proxy_cache,
# all in front of the same synthetic upstream on 127.0.0.1, in one run. Writes BENCHMARKS.md.
#
#   proxy-bench/run.sh                 # default profile
#   PROFILE=reduced proxy-bench/run.sh # smaller images and N, no 5000-node scenario
#   PROFILE=smoke proxy-bench/run.sh   # a few minutes: checks the plumbing, numbers mean little
#
# Writes BENCHMARKS.md at the top of the repository for the default profile, $WORK/BENCHMARKS.md
# for the others; OUT=FILE writes elsewhere. WORK=DIR keeps the raw results and logs there
# (default: a new /tmp/wharf-bench.XXXXXX). NOTES=FILE adds its text as "Notes on this run".
#   TARGETS="wharf nginx" proxy-bench/run.sh
#   SLOW_CLIENTS=0 proxy-bench/run.sh  # without the slow-clients scenario
#   SCENARIOS=none JMH=0 proxy-bench/run.sh  # only wrk and the slow clients
#   TOKEN=1 proxy-bench/run.sh         # upstream demands anonymous Bearer tokens, like Docker Hub
#
# Scenarios (SCENARIOS, kind:nodes:size): cold, warm (the same image again), throttled (cold on
# the slow uplink), zipf (20 images, each node pulls one drawn with Zipf popularity), failing
# (cold; the upstream resets the first GET of each layer at FAIL_AT of its body). After each
# target's pulls and wrk: SlowClients (a fresh instance; Wharf with WHARF_SLOW_OPTS) holding
# SLOW_CLIENTS connections that read one cached blob at SLOW_READ_BPS for SLOW_SECONDS.
#
# Everything listens on 127.0.0.1 only, every scenario has a deadline, every process started
# here is stopped here by its PID. Installs nginx, docker-registry and wrk with apt when missing.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
# The exact command for BENCHMARKS.md: every setting given in the environment, then the script.
SET_VARS=""
for v in PROFILE TARGETS SCENARIOS DEADLINE_S WRK_SECONDS WAN_BANDWIDTH WAN_LATENCY_MS SLOW_BPS SLOW_LATENCY_MS \
  TOKEN ZIPF_S ZIPF_SEED FAIL_AT SLOW_CLIENTS SLOW_SECONDS SLOW_READ_BPS SLOW_BLOB SLOW_TARGETS WHARF_SLOW_OPTS JMH JAVA_OPTS; do
  [ -n "${!v+x}" ] && SET_VARS+="$v=${!v} "
done
PROFILE=${PROFILE:-default}
TARGETS=${TARGETS:-"wharf docker-registry nginx"}
WORK=${WORK:-$(mktemp -d /tmp/wharf-bench.XXXXXX)}
mkdir -p "$WORK"
# The repository's BENCHMARKS.md is the default profile's; a smoke or reduced run must not replace
# it unless asked (OUT=BENCHMARKS.md).
if [ "$PROFILE" = default ]; then OUT=${OUT:-$ROOT/BENCHMARKS.md}; else OUT=${OUT:-$WORK/BENCHMARKS.md}; fi
DEADLINE_S=${DEADLINE_S:-180}      # per pull scenario (the simulator stops itself)
WRK_SECONDS=${WRK_SECONDS:-10}
WAN_BANDWIDTH=${WAN_BANDWIDTH:-1gbit}
WAN_LATENCY_MS=${WAN_LATENCY_MS:-20}
SLOW_BPS=${SLOW_BPS:-12500000}     # throttled scenario: 100 Mbit/s
SLOW_LATENCY_MS=${SLOW_LATENCY_MS:-50}
TOKEN=${TOKEN:-0}                  # 1: the synthetic upstream answers 401 + Bearer challenge without a token
ZIPF_S=${ZIPF_S:-1.0}              # zipf scenario: popularity exponent over 20 images
ZIPF_SEED=${ZIPF_SEED:-42}         #   and the seed of the node-to-image draw (same for every target)
FAIL_AT=${FAIL_AT:-0.5}            # failing scenario: fraction of a layer sent before the reset
SLOW_READ_BPS=${SLOW_READ_BPS:-4096}
WHARF_SLOW_OPTS=${WHARF_SLOW_OPTS:-"-Xmx256m"}
SLOW_TARGETS=${SLOW_TARGETS:-"wharf nginx"}   # docker-registry too if wanted
COMMAND="${BENCH_COMMAND:-${SET_VARS}proxy-bench/run.sh}"

# Open files: thousands of client sockets (10,000 slow clients), the same again on the proxy, and
# cache files. Every process started here inherits it.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

case "$PROFILE" in
  default)
    BIG=16m,8m,4m,2m,1m; MID=2m,1m,512k,256k,128k; SMALL=128k,64k,32k
    DEFAULT_SCENARIOS="cold:10:big cold:100:big warm:100:big cold:1000:mid cold:5000:small throttled:20:slow zipf:1000:mid failing:100:big"
    SLOW_DEFAULTS=(10000 150 4m)
    ;;
  reduced)
    BIG=8m,4m,2m,1m,512k; MID=1m,512k,256k,128k; SMALL=64k,32k,16k
    DEFAULT_SCENARIOS="cold:10:big cold:100:big warm:100:big cold:1000:mid throttled:20:slow zipf:200:mid failing:100:big"
    SLOW_DEFAULTS=(10000 150 4m)
    ;;
  smoke)
    BIG=2m,1m,512k; MID=256k,128k; SMALL=32k,16k
    DEFAULT_SCENARIOS="cold:10:big warm:10:big cold:100:mid throttled:5:slow zipf:30:small failing:10:mid"
    SLOW_DEFAULTS=(500 10 1m)
    WRK_SECONDS=3
    ;;
  *) echo "unknown PROFILE $PROFILE" >&2; exit 2 ;;
esac
SCENARIOS=${SCENARIOS:-$DEFAULT_SCENARIOS}
SLOW_CLIENTS=${SLOW_CLIENTS:-${SLOW_DEFAULTS[0]}}
SLOW_SECONDS=${SLOW_SECONDS:-${SLOW_DEFAULTS[1]}}
SLOW_BLOB=${SLOW_BLOB:-${SLOW_DEFAULTS[2]}}

# PIDS and the EXIT trap that stops them, log, free_port, wait_http, stop_pid, quiesce, counters_reset
# shellcheck source=lib.sh
source "$ROOT/proxy-bench/lib.sh"

# ---- tools ----
need=()
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
command -v docker-registry >/dev/null || need+=(docker-registry)
command -v wrk >/dev/null || need+=(wrk)
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]} (apt; services are not started)"
  # policy-rc.d 101: packages must not start their system services.
  created_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && created_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >"$WORK/apt.log" 2>&1 \
    || { apt-get update -q >>"$WORK/apt.log" 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >>"$WORK/apt.log" 2>&1; }
  [ "$created_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

log "building (./mvnw -q -B -DskipTests package)"
./mvnw -q -B -DskipTests package
WHARF_JAR=$ROOT/proxy-server/target/wharf.jar
BENCH_JAR=$ROOT/proxy-bench/target/wharf-bench.jar
JAVA_OPTS=${JAVA_OPTS:-"-XX:+UseParallelGC"}

# ---- synthetic upstream ----
SYNTH_PORT=$(free_port)
IMAGES=(--image "bench/warmup:v1=1m,512k,256k" --image "bench/slowclients:v1=$SLOW_BLOB")
for s in $SCENARIOS; do
  IFS=: read -r kind n size <<<"$s"
  [ "$kind" = none ] && continue
  case $size in big) sz=$BIG ;; mid) sz=$MID ;; small) sz=$SMALL ;; slow) sz=$BIG ;; esac
  case $kind in
    warm) continue ;;
    zipf) for ((k = 0; k < 20; k++)); do IMAGES+=(--image "bench/zipf$n-$k:v1=$sz"); done ;;
    *) IMAGES+=(--image "bench/$kind$n:v1=$sz") ;;
  esac
done
log "synthetic upstream on 127.0.0.1:$SYNTH_PORT ($WAN_BANDWIDTH, ${WAN_LATENCY_MS} ms)"
java $JAVA_OPTS -Xmx2g -cp "$BENCH_JAR" io.wharf.bench.SyntheticRegistry --listen "127.0.0.1:$SYNTH_PORT" \
  "${IMAGES[@]}" --bandwidth "$WAN_BANDWIDTH" --latency-ms "$WAN_LATENCY_MS" --token "$([ "$TOKEN" = 1 ] && echo true || echo false)" \
  >"$WORK/synth.log" 2>&1 &
SYNTH_PID=$!
PIDS+=("$SYNTH_PID")
wait_http "http://127.0.0.1:$SYNTH_PORT/v2/" 60
SYNTH=http://127.0.0.1:$SYNTH_PORT
WAN_BPS=$(awk -F'bytesPerSecond=' '/bytesPerSecond/{split($2,a,","); print a[1]}' "$WORK/synth.log")

# ---- targets ----
start_wharf() { # port dir [extra JVM options] [extra server: lines]
  mkdir -p "$2/store"
  cat >"$2/wharf.yaml" <<EOF
listen: 127.0.0.1:$1
upstreams:
  - name: synth
    url: $SYNTH
storage:
  tiers:
    - path: $2/store
server:
  shutdownGrace: 2s
${4:-}
EOF
  # shellcheck disable=SC2086 # word splitting of the option lists is meant
  java $JAVA_OPTS -Xmx1g ${3:-} -jar "$WHARF_JAR" serve --config "$2/wharf.yaml" >"$2/wharf.log" 2>&1 &
  TARGET_PID=$!
}
# The slow-clients Wharf: every client is 127.0.0.1, so no per-address cap or request rate limit
# (both are off by default; spelled out here); room for all of them. The write-stall timeout is
# the default one (120 s), spelled out: the clients are held longer than that (SLOW_SECONDS), so a
# reader Wharf thought stalled is dropped and counted instead of surviving because the run ended.
WHARF_SLOW_SERVER="  maxConnections: 20000
  maxConnectionsPerClient: 0
  requestsPerSecond: 0
  writeStallTimeout: 120s"

start_docker_registry() {
  mkdir -p "$2/data"
  cat >"$2/config.yml" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $2/data
  cache:
    blobdescriptor: inmemory
http:
  addr: 127.0.0.1:$1
proxy:
  remoteurl: $SYNTH
EOF
  docker-registry serve "$2/config.yml" >"$2/registry.log" 2>&1 &
  TARGET_PID=$!
}

start_nginx() {
  mkdir -p "$2/cache" "$2/tmp"
  cat >"$2/nginx.conf" <<EOF
daemon off;
master_process on;
user root;
worker_processes 2;
worker_rlimit_nofile 65536;
pid $2/nginx.pid;
error_log $2/error.log warn;
events { worker_connections 20000; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  client_body_temp_path $2/tmp/body;
  proxy_temp_path $2/tmp/proxy;
  fastcgi_temp_path $2/tmp/fastcgi;
  uwsgi_temp_path $2/tmp/uwsgi;
  scgi_temp_path $2/tmp/scgi;
  proxy_cache_path $2/cache levels=1:2 keys_zone=registry:64m max_size=50g inactive=24h use_temp_path=off;
  upstream synth { server 127.0.0.1:$SYNTH_PORT; keepalive 64; }
  server {
    listen 127.0.0.1:$1 backlog=4096;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_read_timeout 600s;
    proxy_cache registry;
    proxy_cache_key "\$request_uri|\$http_accept";
    proxy_cache_methods GET HEAD;
    # One upstream fill per key; the others wait for it (defaults are 5 s, far too short for
    # a large layer on a WAN uplink, after which every waiter goes upstream itself).
    proxy_cache_lock on;
    proxy_cache_lock_timeout 600s;
    proxy_cache_lock_age 600s;
    add_header X-Cache \$upstream_cache_status;
    location ~ ^/v2/.+/manifests/ {
      proxy_cache_valid 200 5m;   # tags: same freshness as Wharf's default tagTtl
      proxy_pass http://synth;
    }
    location /v2/ {
      proxy_cache_valid 200 206 24h;
      proxy_pass http://synth;
    }
  }
}
EOF
  "$NGINX" -p "$2" -c "$2/nginx.conf" -e "$2/error.log" &
  TARGET_PID=$!
}

fault() { curl -fsS -X POST -o /dev/null "$SYNTH/_bench/fault?resetAt=$1"; }
throttle() { curl -fsS -X POST -o /dev/null "$SYNTH/_bench/throttle?bps=$1&latencyMs=$2"; }

RESULTS=$WORK/results.tsv
WRK_RESULTS=$WORK/wrk.tsv
printf 'target\tendpoint\tconnections\tseconds\trequests_per_s\ttransfer_per_s\tlatency_p50\tlatency_p99\tnon_2xx\tsocket_errors\tupstream_requests\n' >"$WRK_RESULTS"

pull() { # target port scenario image nodes [more PullSimulator options]
  counters_reset
  echo "-- $1 $3 ($5 nodes, $4)"
  timeout $((DEADLINE_S + 60)) java $JAVA_OPTS -Xmx2g -cp "$BENCH_JAR" io.wharf.bench.PullSimulator \
    --registry "http://127.0.0.1:$2" --image "$4" --nodes "$5" --deadline-s "$DEADLINE_S" \
    --counters "$SYNTH/_bench/counters" --target "$1" --scenario "$3" --results "$RESULTS" "${@:6}" \
    || echo "   ($1 $3: not every node verified; recorded as failures)"
  quiesce
}

SLOW_RESULTS=$WORK/slow.tsv
slow_clients() { # target
  local port dir pid
  port=$(free_port)
  dir=$WORK/$1-slow
  mkdir -p "$dir"
  log "$1: $SLOW_CLIENTS slow clients on 127.0.0.1:$port (fresh instance)"
  case $1 in
    wharf) start_wharf "$port" "$dir" "$WHARF_SLOW_OPTS" "$WHARF_SLOW_SERVER" ;;
    docker-registry) start_docker_registry "$port" "$dir" ;;
    nginx) start_nginx "$port" "$dir" ;;
  esac
  pid=$TARGET_PID
  PIDS+=("$pid")
  wait_http "http://127.0.0.1:$port/v2/" 60
  local metrics=()
  [ "$1" = wharf ] && metrics=(--metrics "http://127.0.0.1:$port/metrics" --java-opts "$WHARF_SLOW_OPTS")
  timeout $((SLOW_SECONDS + 240)) java $JAVA_OPTS -Xmx1g -cp "$BENCH_JAR" io.wharf.bench.SlowClients \
    --registry "http://127.0.0.1:$port" --image bench/slowclients:v1 --connections "$SLOW_CLIENTS" \
    --bytes-per-s "$SLOW_READ_BPS" --seconds "$SLOW_SECONDS" --pid "$pid" "${metrics[@]}" \
    --target "$1" --results "$SLOW_RESULTS" \
    || echo "   ($1 slow clients: not every connection held; recorded as errors)"
  stop_pid "$pid"
}

run_wrk() { # target port name path [accept]
  counters_reset
  local hdr=()
  [ -n "${5:-}" ] && hdr=(-H "Accept: $5")
  timeout $((WRK_SECONDS + 30)) wrk -t2 -c64 -d"${WRK_SECONDS}s" --latency "${hdr[@]}" "http://127.0.0.1:$2$4" \
    >"$WORK/wrk-$1-$3.txt" 2>&1 || true
  local up
  up=$(curl -fsS "$SYNTH/_bench/counters" | sed -n 's/^{"requests":\([0-9]*\).*/\1/p')
  awk -v t="$1" -v e="$3" -v c=64 -v s="$WRK_SECONDS" -v up="$up" '
    /Requests\/sec:/ {rps=$2} /Transfer\/sec:/ {tr=$2}
    $1=="50%" {p50=$2} $1=="99%" {p99=$2}
    /Non-2xx or 3xx responses:/ {n2=$NF}
    /Socket errors:/ {se=$0; sub(/.*Socket errors: /, "", se)}
    END {printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t, e, c, s, rps, tr, p50, p99, (n2==""?0:n2), (se==""?"none":se), up}
  ' "$WORK/wrk-$1-$3.txt" >>"$WRK_RESULTS"
  tail -n 1 "$WRK_RESULTS"
}

ACCEPT='application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json'
# The wrk blob: the 4 MiB-ish third layer of the image the warm scenario pulled.
WARM_IMAGE=$(for s in $SCENARIOS; do IFS=: read -r k n z <<<"$s"; if [ "$k" = warm ]; then echo "bench/cold$n"; fi; done | head -1)
WRK_BLOB=$(curl -fsS "$SYNTH/_bench/images" | python3 -c "
import json,sys
for i in json.load(sys.stdin):
    if i['repo']=='$WARM_IMAGE':
        l=sorted(i['layers'], key=lambda l:-l['size']); print(l[min(2,len(l)-1)]['digest']+' '+str(l[min(2,len(l)-1)]['size']))" 2>/dev/null || true)
WRK_MANIFEST=$(curl -fsS "$SYNTH/_bench/images" | python3 -c "
import json,sys
for i in json.load(sys.stdin):
    if i['repo']=='$WARM_IMAGE': print(i['manifest'])" 2>/dev/null || true)

for target in $TARGETS; do
  port=$(free_port)
  dir=$WORK/$target
  mkdir -p "$dir"
  log "$target on 127.0.0.1:$port"
  case $target in
    wharf) start_wharf "$port" "$dir" ;;
    docker-registry) start_docker_registry "$port" "$dir" ;;
    nginx) start_nginx "$port" "$dir" ;;
    *) echo "unknown target $target" >&2; continue ;;
  esac
  PIDS+=("$TARGET_PID")
  wait_http "http://127.0.0.1:$port/v2/" 60
  # Same warm-up for everyone (JIT for Wharf, connection pools for all); not reported.
  counters_reset
  timeout 120 java $JAVA_OPTS -cp "$BENCH_JAR" io.wharf.bench.PullSimulator --registry "http://127.0.0.1:$port" \
    --image bench/warmup:v1 --nodes 20 --deadline-s 60 >/dev/null 2>&1 || true
  for s in $SCENARIOS; do
    IFS=: read -r kind n size <<<"$s"
    case $kind in
      cold) pull "$target" "$port" "cold-$n" "bench/cold$n:v1" "$n" ;;
      warm) pull "$target" "$port" "warm-$n" "bench/cold$n:v1" "$n" ;;
      throttled)
        throttle "$SLOW_BPS" "$SLOW_LATENCY_MS"
        pull "$target" "$port" "throttled-$n" "bench/throttled$n:v1" "$n"
        throttle "$WAN_BPS" "$WAN_LATENCY_MS"
        ;;
      zipf)
        more=()
        for ((k = 1; k < 20; k++)); do more+=(--image "bench/zipf$n-$k:v1"); done
        pull "$target" "$port" "zipf-$n" "bench/zipf$n-0:v1" "$n" "${more[@]}" --zipf-s "$ZIPF_S" --seed "$ZIPF_SEED"
        ;;
      failing)
        fault "$FAIL_AT"
        pull "$target" "$port" "failing-$n" "bench/failing$n:v1" "$n"
        fault 0
        ;;
    esac
  done
  if [ -n "$WRK_BLOB" ]; then
    # Unreported warm-up, the same for every target: a JVM still compiling its serving path
    # (seconds of C2 work after the pulls) would otherwise be measured instead of serving.
    for path in "/v2/$WARM_IMAGE/blobs/${WRK_BLOB% *}" "/v2/$WARM_IMAGE/manifests/v1"; do
      timeout $((WRK_SECONDS + 30)) wrk -t2 -c64 -d"${WRK_SECONDS}s" -H "Accept: $ACCEPT" \
        "http://127.0.0.1:$port$path" >/dev/null 2>&1 || true
    done
    run_wrk "$target" "$port" "blob-$(awk '{ if ($2 >= 1048576) printf "%.0fMiB", $2/1048576; else printf "%.0fKiB", $2/1024 }' <<<"$WRK_BLOB")" \
      "/v2/$WARM_IMAGE/blobs/${WRK_BLOB% *}"
    run_wrk "$target" "$port" "manifest-tag" "/v2/$WARM_IMAGE/manifests/v1" "$ACCEPT"
    [ -n "$WRK_MANIFEST" ] && run_wrk "$target" "$port" "manifest-digest" "/v2/$WARM_IMAGE/manifests/$WRK_MANIFEST" "$ACCEPT"
  fi
  stop_pid "$TARGET_PID"
  if [ "$SLOW_CLIENTS" -gt 0 ] && [[ " $SLOW_TARGETS " == *" $target "* ]]; then
    slow_clients "$target"
  fi
done

JMH_ARGS=()
if [ "${JMH:-1}" = 1 ]; then
  log "JMH (quick settings)"
  timeout 600 java -jar "$BENCH_JAR" 'io.wharf.bench.jmh.*' -wi 2 -i 3 -w 1 -r 1 -f 1 \
    -rf text -rff "$WORK/jmh.txt" >"$WORK/jmh.log" 2>&1 && JMH_ARGS=(--jmh "$WORK/jmh.txt") \
    || echo "JMH failed, see $WORK/jmh.log"
fi

log "report"
{
  echo "command=$COMMAND"
  echo "profile=$PROFILE"
  echo "date=$(date -u +%Y-%m-%dT%H:%MZ)"
  echo "commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with local changes)')"
  echo "nproc=$(nproc)"
  echo "memory=$(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  echo "cpu=$(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)"
  echo "kernel=$(uname -r)"
  echo "jdk=$(java -version 2>&1 | head -1)"
  echo "nginx=$("$NGINX" -v 2>&1 | sed 's/.*version: //')"
  echo "docker_registry=$(docker-registry --version 2>&1 | head -1)"
  echo "wrk=$(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)"
  echo "wan=$WAN_BANDWIDTH, ${WAN_LATENCY_MS} ms per response"
  echo "slow=$SLOW_BPS B/s, ${SLOW_LATENCY_MS} ms per response"
  echo "images=big $BIG; mid $MID; small $SMALL"
  echo "scenarios=$SCENARIOS"
  echo "upstream_auth=$([ "$TOKEN" = 1 ] && echo "anonymous Bearer tokens (401 + WWW-Authenticate, GET /token)" || echo none)"
  echo "zipf=20 images, s=$ZIPF_S, seed $ZIPF_SEED"
  echo "fault=first GET of each layer reset after $FAIL_AT of its body"
  echo "slow_clients=$SLOW_CLIENTS connections × $SLOW_READ_BPS B/s for $SLOW_SECONDS s on a $SLOW_BLOB blob; targets $SLOW_TARGETS"
  echo "deadline_s=$DEADLINE_S"
  echo "wrk_seconds=$WRK_SECONDS"
  echo "load=$(cut -d' ' -f1-3 /proc/loadavg)"
} >"$WORK/meta.properties"
java -cp "$BENCH_JAR" io.wharf.bench.Report --results "$RESULTS" --wrk "$WRK_RESULTS" --slow "$SLOW_RESULTS" \
  --meta "$WORK/meta.properties" "${JMH_ARGS[@]}" ${NOTES:+--notes "$NOTES"} --out "$OUT"
echo
echo "report: $OUT; raw results and logs: $WORK"

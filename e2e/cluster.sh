#!/usr/bin/env bash
# One logical cache for a site, with real processes: two upstream registries
# (Debian's docker-registry; A anonymous, B behind htpasswd Basic auth), a
# site Wharf holding B's credentials, and two cluster Wharfs that are peers of
# each other and whose upstreams are the site Wharf (`kind: wharf`). skopeo
# pulls both registries' images through the cluster Wharfs at once; digests,
# and the registries' and the site's access logs, show each blob crossed each
# level once. Then one cluster Wharf is stopped and a new image is pulled
# through the other: the pull works, each blob still crosses the uplink once.
#
# Usage: e2e/cluster.sh [--keep]
#   --keep           keep the work directory even when everything passed.
# Environment:
#   WHARF_JAR        jar to run (default proxy-server/target/wharf.jar, built
#                    with ./mvnw -q -B -DskipTests package when missing)
#   WHARF_JAVA_OPTS  extra JVM flags
#   E2E_TIMEOUT      overall deadline in seconds for the test phase (default 240)
#   E2E_BIG_MB       size of the large layer of each image (default 4)
#   E2E_PULLS        concurrent skopeo pulls per cluster Wharf and image (default 2)
#
# Prints PASS/FAIL lines, a table of upstream requests per step and, last,
# the line "N passed, M failed". Exits non-zero if anything failed.
# Only 127.0.0.1 is ever contacted; port 5000 is never used.
# shellcheck disable=SC2317 # functions here are called indirectly (check, traps)
set -uo pipefail

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$E2E_DIR/.." && pwd)
# shellcheck source=lib.sh
source "$E2E_DIR/lib.sh"

KEEP=${E2E_KEEP:-0}
for arg in "$@"; do
    case $arg in
        --keep) KEEP=1 ;;
        -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
        *) echo "unknown argument: $arg" >&2; exit 2 ;;
    esac
done
BIG_MB=${E2E_BIG_MB:-4}
TIMEOUT=${E2E_TIMEOUT:-240}
PULLS=${E2E_PULLS:-2}
B_USER=alice
B_PASS='p@ss:w/rd%&?'
PEER_TOKEN=e2e-peer-token-not-a-secret

PASSED=0
FAILED=0
SUMMARY=()
DONE=0
WORK=""
WATCHDOG_PID=""
PAR_PIDS=()

pass() { PASSED=$((PASSED + 1)); echo "PASS: $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL: $*"; }
check() { local name=$1; shift; if "$@"; then pass "$name"; else fail "$name"; return 1; fi; }
bail() { echo "  (stopping here: the remaining tests depend on this)"; DONE=1; exit 1; }

exec 8>&1 9>&2

finish() {
    local rc=$? f pid
    trap - EXIT INT TERM
    exec 1>&8 2>&9
    if ((!DONE)); then
        fail "run aborted before completion (exit status $rc)"
    fi
    if [[ -n $WATCHDOG_PID ]]; then
        e2e_stop_pid "$WATCHDOG_PID"
    fi
    for pid in "${PAR_PIDS[@]}"; do e2e_stop_pid "$pid"; done
    e2e_stop_all
    e2e_remove_policy_rc
    if [[ -n $WORK && -d $WORK ]]; then
        if ((FAILED)); then
            for f in "$WORK"/logs/*; do
                [[ -s $f ]] || continue
                case ${f##*/} in
                    skopeo-*) grep -qiE 'error|fatal|fail|timed? ?out|denied|unauthorized' "$f" || continue ;;
                esac
                e2e_tail_log "$f" 30
            done
            find "$WORK" -mindepth 1 -maxdepth 1 ! -name logs -exec rm -rf {} +
            echo "logs kept in $WORK/logs"
        elif ((KEEP)); then
            echo "work directory kept: $WORK"
        else
            rm -rf "$WORK"
        fi
    fi
    echo
    echo "== requests per step (access logs of registries A, B and the site Wharf) =="
    if ((${#SUMMARY[@]})); then printf '  %s\n' "${SUMMARY[@]}"; else echo "  (none)"; fi
    echo
    echo "$PASSED passed, $FAILED failed"
    if ((FAILED)); then exit 1; fi
    exit 0
}
trap finish EXIT
trap 'exec 1>&8 2>&9; e2e_warn "interrupted"; exit 130' INT
trap 'exec 1>&8 2>&9; e2e_warn "terminated (deadline ${TIMEOUT}s or signal)"; exit 143' TERM

# --------------------------------------------------------------------------
# 0. prerequisites (outside the deadline: installs and builds can be slow)
# --------------------------------------------------------------------------
if ! e2e_install_deps /usr/bin/docker-registry:docker-registry skopeo:skopeo curl:curl \
        htpasswd:apache2-utils gzip:gzip tar:tar sha256sum:coreutils; then
    fail "install prerequisites (docker-registry, skopeo, apache2-utils, curl)"
    bail
fi
e2e_install_deps java:default-jre-headless || true
if ! e2e_ensure_wharf_jar "$ROOT"; then
    fail "Wharf jar available (${WHARF_JAR:-proxy-server/target/wharf.jar})"
    bail
fi
e2e_log "using $WHARF_JAR"

bash -c 'sleep "$1" & s=$!; trap "kill $s 2>/dev/null; exit 0" TERM; wait $s; kill -TERM "$2"' \
    _ "$TIMEOUT" "$$" </dev/null >/dev/null 2>&1 8>&- 9>&- &
WATCHDOG_PID=$!

WORK=$(mktemp -d "${TMPDIR:-/tmp}/wharf-cluster.XXXXXX")
LOGS=$WORK/logs
mkdir -p "$LOGS"
e2e_log "work directory: $WORK"

# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------

# site_blob_gets_ok REPO NS FROM BLOBS... — the site Wharf answered exactly one
# GET (200) per blob, each with ?ns=NS: one request from the cluster level.
site_blob_gets_ok() {
    local repo=$1 ns=$2 from=$3 d n ok=0; shift 3
    for d in "$@"; do
        n=$(tail -n +"$from" "$SITE_LOG" | grep 'io.wharf.access' |
            grep -cF "GET /v2/$repo/blobs/$d?ns=$ns 200 " || true)
        echo "    site Wharf: GET /v2/$repo/blobs/${d:0:19}...?ns=$ns : $n"
        ((n == 1)) || ok=1
    done
    return "$ok"
}

# peer_metric URL RESULT — wharf_peer_requests_total{result=RESULT} of one Wharf
peer_metric() {
    curl -s --max-time 5 "$1/metrics" | grep "^wharf_peer_requests_total{" | grep -F "result=\"$2\"" |
        awk '{s += $NF} END {printf "%d\n", s}'
}

marks() {
    MA=$(e2e_log_mark "$REG_A_LOG")
    MB=$(e2e_log_mark "$REG_B_LOG")
    MS=$(e2e_log_mark "$SITE_LOG")
    STEP_START=$SECONDS
}
reg_line() {
    local log=$1 from=$2 bg mg all
    bg=$(e2e_upstream_count "$log" GET '/v2/[^ ]+/blobs/sha256:[0-9a-f]{64}' "$from")
    mg=$(e2e_upstream_count "$log" GET '/v2/[^ ]+/manifests/[^ ?]+' "$from")
    all=$(tail -n +"$from" "$log" | grep -cE '^[0-9.]+ - [^ ]+ \[[^]]*\] "[A-Z]+ ' || true)
    printf '%4s %4s %4s' "$bg" "$mg" "$all"
}
site_line() {
    local bg mg
    bg=$(tail -n +"$MS" "$SITE_LOG" | grep 'io.wharf.access' | grep -cE 'GET /v2/[^ ]+/blobs/' || true)
    mg=$(tail -n +"$MS" "$SITE_LOG" | grep 'io.wharf.access' | grep -cE 'GET /v2/[^ ]+/manifests/' || true)
    printf '%4s %4s' "$bg" "$mg"
}
usum() {
    SUMMARY+=("$(printf '%-56s | %-14s | %-14s | %s' "$1 ($((SECONDS - STEP_START))s)" \
        "$(reg_line "$REG_A_LOG" "$MA")" "$(reg_line "$REG_B_LOG" "$MB")" "$(site_line)")")
}

# --------------------------------------------------------------------------
# 1. two registries: A anonymous, B with htpasswd Basic auth; images
# --------------------------------------------------------------------------
if ! { e2e_free_port A_PORT && e2e_free_port B_PORT && e2e_free_port S_PORT &&
        e2e_free_port C1_PORT && e2e_free_port C2_PORT; }; then fail "find free ports"; bail; fi
A=127.0.0.1:$A_PORT B=127.0.0.1:$B_PORT S=127.0.0.1:$S_PORT C1=127.0.0.1:$C1_PORT C2=127.0.0.1:$C2_PORT

e2e_start_registry "$WORK/reg-a" "$A_PORT" "$LOGS/registry-a.log" || { fail "registry A starts on $A"; bail; }
REG_A_LOG=$REGISTRY_LOG
htpasswd -Bbn "$B_USER" "$B_PASS" >"$WORK/htpasswd" 2>>"$LOGS/htpasswd.log" || { fail "htpasswd -Bbn"; bail; }
e2e_start_registry "$WORK/reg-b" "$B_PORT" "$LOGS/registry-b.log" "$WORK/htpasswd" ||
    { fail "registry B (Basic auth) starts on $B"; bail; }
REG_B_LOG=$REGISTRY_LOG
pass "registries A (anonymous, $A) and B (htpasswd, $B) answer GET /v2/"

e2e_log "building images ($BIG_MB MiB random layer each)"
e2e_build_image "$WORK/src-app" v1 cluster-app "$BIG_MB" || { fail "build e2e/app"; bail; }
APP_DIGEST=$E2E_IMAGE_MANIFEST_DIGEST; read -ra APP_BLOBS <<<"$E2E_IMAGE_BLOBS"
e2e_build_image "$WORK/src-tool" v1 cluster-tool "$BIG_MB" || { fail "build team/tool"; bail; }
TOOL_DIGEST=$E2E_IMAGE_MANIFEST_DIGEST; read -ra TOOL_BLOBS <<<"$E2E_IMAGE_BLOBS"
e2e_build_image "$WORK/src-late" v1 cluster-late "$BIG_MB" || { fail "build e2e/late"; bail; }
LATE_DIGEST=$E2E_IMAGE_MANIFEST_DIGEST; read -ra LATE_BLOBS <<<"$E2E_IMAGE_BLOBS"

push() {
    local layout=$1 ref=$2; shift 2
    e2e_skopeo copy --preserve-digests --dest-tls-verify=false "$@" "oci:$layout:v1" "docker://$ref" \
        >>"$LOGS/skopeo-push.log" 2>&1
}
push_all() {
    push "$WORK/src-app" "$A/e2e/app:v1" && push "$WORK/src-late" "$A/e2e/late:v1" &&
        push "$WORK/src-tool" "$B/team/tool:v1" --dest-creds "$B_USER:$B_PASS"
}
check "push e2e/app:v1 and e2e/late:v1 to A, team/tool:v1 to B" push_all || bail

# --------------------------------------------------------------------------
# 2. site Wharf (holds B's credentials), two peered cluster Wharfs above it
# --------------------------------------------------------------------------
SITE_LOG=$LOGS/wharf-site.log
cat >"$WORK/site.yaml" <<EOF
listen: $S
upstreams:
  - name: reg-a
    url: http://$A
  - name: reg-b
    url: http://$B
    credentials: {username: $B_USER, password: "$B_PASS"}
storage:
  tiers:
    - path: $WORK/site-store
EOF
cluster_config() {
    cat <<EOF
listen: $1
defaultUpstream: reg-a
upstreams:
  - name: reg-a
    url: http://$S
    kind: wharf
  - name: reg-b
    url: http://$S
    kind: wharf
storage:
  tiers:
    - path: $2
peers:
  members: ["$C1", "$C2"]
  tokenEnv: E2E_PEER_TOKEN
  healthInterval: 1s
server:
  shutdownGrace: 2s
EOF
}
cluster_config "$C1" "$WORK/c1-store" >"$WORK/c1.yaml"
cluster_config "$C2" "$WORK/c2-store" >"$WORK/c2.yaml"
export E2E_PEER_TOKEN=$PEER_TOKEN
WHARF_SERVE_OPTS="--access-log" e2e_start_wharf_config "$WORK/site.yaml" "$S_PORT" "$SITE_LOG" ||
    { fail "site Wharf starts on $S"; bail; }
WHARF_SERVE_OPTS="--access-log" e2e_start_wharf_config "$WORK/c1.yaml" "$C1_PORT" "$LOGS/wharf-c1.log" ||
    { fail "cluster Wharf 1 starts on $C1"; bail; }
C1_URL=$WHARF_URL
WHARF_SERVE_OPTS="--access-log" e2e_start_wharf_config "$WORK/c2.yaml" "$C2_PORT" "$LOGS/wharf-c2.log" ||
    { fail "cluster Wharf 2 starts on $C2"; bail; }
C2_URL=$WHARF_URL C2_PID=$WHARF_PID
pass "site Wharf ($S) and cluster Wharfs ($C1, $C2; peers, upstream = site) answer GET /v2/"
peers_up() {
    local u n
    for u in "$C1_URL" "$C2_URL"; do
        n=$(curl -s --max-time 5 "$u/metrics" | awk '/^wharf_peers_up /{print int($2)}')
        echo "    -> $u wharf_peers_up ${n:-none}"
        [[ $n == 2 ]] || return 1
    done
}
# each checks the other every second; give the first round time to pass
deadline=$((SECONDS + 15)); until peers_up >/dev/null || ((SECONDS > deadline)); do sleep 0.3; done
check "both cluster Wharfs see 2 peers up" peers_up || bail

# --------------------------------------------------------------------------
# 3. cold pulls of both registries through both cluster Wharfs at once
# --------------------------------------------------------------------------
SUMMARY+=("$(printf '%-56s | %-14s | %-14s | %s' '' 'registry A' 'registry B' 'site Wharf')")
SUMMARY+=("$(printf '%-56s | %-14s | %-14s | %s' step 'blob mGET all' 'blob mGET all' 'blob mGET')")

# pull_bg NAME REF DEST — skopeo copy into an OCI layout, in the background
pull_bg() {
    rm -rf "$3"
    timeout 120 skopeo --insecure-policy copy --src-tls-verify=false "docker://$2" "oci:$3:v1" \
        >>"$LOGS/skopeo-$1.log" 2>&1 </dev/null 8>&- 9>&- &
    PAR_PIDS+=($!)
}
wait_all() {
    local pid ok=0
    for pid in "${PAR_PIDS[@]}"; do
        while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
        wait "$pid" || ok=1
    done
    PAR_PIDS=()
    return "$ok"
}

marks
T0=$SECONDS
for ((i = 1; i <= PULLS; i++)); do
    # registries.conf-style path prefix: /v2/<upstream name>/<repository>
    pull_bg "app-c1-$i" "$C1/reg-a/e2e/app:v1" "$WORK/got-app-c1-$i"
    pull_bg "app-c2-$i" "$C2/reg-a/e2e/app:v1" "$WORK/got-app-c2-$i"
    pull_bg "tool-c1-$i" "$C1/reg-b/team/tool:v1" "$WORK/got-tool-c1-$i"
    pull_bg "tool-c2-$i" "$C2/reg-b/team/tool:v1" "$WORK/got-tool-c2-$i"
done
check "$((PULLS * 4)) concurrent skopeo pulls (e2e/app from A, team/tool from B; through both cluster Wharfs) succeed" wait_all
COLD_SECONDS=$((SECONDS - T0))
layouts_ok() {
    local ok=0 i c
    for ((i = 1; i <= PULLS; i++)); do
        for c in c1 c2; do
            e2e_compare_layout "$WORK/src-app" "$APP_DIGEST" "$WORK/got-app-$c-$i" || ok=1
            e2e_compare_layout "$WORK/src-tool" "$TOOL_DIGEST" "$WORK/got-tool-$c-$i" || ok=1
        done
    done
    return "$ok"
}
check "every copy holds the pushed manifests ($APP_DIGEST, $TOOL_DIGEST) and blobs, re-hashed" layouts_ok
check "registry A: exactly one GET per blob of e2e/app" \
    e2e_blob_counts_ok "$REG_A_LOG" e2e/app "$MA" -eq 1 "${APP_BLOBS[@]}"
check "registry B: exactly one GET per blob of team/tool (credentials only at the site)" \
    e2e_blob_counts_ok "$REG_B_LOG" team/tool "$MB" -eq 1 "${TOOL_BLOBS[@]}"
check "site Wharf: one GET per blob of e2e/app, ?ns=reg-a (the owning peer's)" \
    site_blob_gets_ok e2e/app reg-a "$MS" "${APP_BLOBS[@]}"
check "site Wharf: one GET per blob of team/tool, ?ns=reg-b (the owning peer's)" \
    site_blob_gets_ok team/tool reg-b "$MS" "${TOOL_BLOBS[@]}"
peers_asked() {
    local a b
    a=$(peer_metric "$C1_URL" ok) b=$(peer_metric "$C2_URL" ok)
    echo "    -> wharf_peer_requests_total{result=\"ok\"}: c1=$a c2=$b"
    ((a > 0 && b > 0))
}
check "each cluster Wharf fetched the blobs the other owns from it" peers_asked
usum "cold: $((PULLS * 4)) skopeo pulls, 2 registries, 2 peers"

ns_routing() {
    local got
    got=$(curl -s --max-time 10 -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
        "$C1_URL/v2/team/tool/manifests/v1?ns=reg-b" | sha256sum | awk '{print "sha256:" $1}')
    echo "    -> GET $C1_URL/v2/team/tool/manifests/v1?ns=reg-b: $got"
    [[ $got == "$TOOL_DIGEST" ]]
}
check "containerd-style ?ns=reg-b through cluster Wharf 1 gives B's manifest" ns_routing

# --------------------------------------------------------------------------
# 4. one cluster Wharf stops; a new image through the other
# --------------------------------------------------------------------------
e2e_stop_pid "$C2_PID"
marks
T0=$SECONDS
for ((i = 1; i <= PULLS; i++)); do
    pull_bg "late-c1-$i" "$C1/reg-a/e2e/late:v1" "$WORK/got-late-c1-$i"
done
check "cluster Wharf 2 stopped: $PULLS skopeo pulls of e2e/late through cluster Wharf 1 succeed" wait_all
DOWN_SECONDS=$((SECONDS - T0))
late_ok() {
    local ok=0 i
    for ((i = 1; i <= PULLS; i++)); do
        e2e_compare_layout "$WORK/src-late" "$LATE_DIGEST" "$WORK/got-late-c1-$i" || ok=1
    done
    return "$ok"
}
check "the copies hold e2e/late ($LATE_DIGEST), re-hashed" late_ok
check "registry A: exactly one GET per blob of e2e/late (the dead peer's share came from the site)" \
    e2e_blob_counts_ok "$REG_A_LOG" e2e/late "$MA" -eq 1 "${LATE_BLOBS[@]}"
usum "peer 2 stopped: $PULLS pulls of a new image via peer 1"
SUMMARY+=("cold pulls took ${COLD_SECONDS}s; pulls with one peer down took ${DOWN_SECONDS}s")

DONE=1

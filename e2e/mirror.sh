#!/usr/bin/env bash
# Wharf as the registry mirror of every worker node, with real node clients:
# two upstream registries (Debian's docker-registry; A anonymous, B behind
# htpasswd Basic auth), Wharf in front of both (it holds B's credentials),
# containerd (ctr with a hosts.toml mirror per registry, ?ns= routing) and
# podman (registries.conf prefix mirror /reg-b), both configured with the output of
# `wharf client-config`, pulling through Wharf, a
# multi-arch OCI index, tag freshness after a re-push, and pulls while
# registry A is down (stale tag + cached blobs).
#
# Usage: e2e/mirror.sh [--keep]
#   --keep           keep the work directory even when everything passed.
# Environment:
#   WHARF_JAR        jar to run (default proxy-server/target/wharf.jar, built
#                    with ./mvnw -q -B -DskipTests package when missing)
#   WHARF_JAVA_OPTS  extra JVM flags
#   WHARF_SERVE_OPTS extra `wharf serve` flags (--access-log is always added)
#   E2E_TIMEOUT      overall deadline in seconds for the test phase (default 360)
#   E2E_BIG_MB       size of the large layer of each image (default 2)
#   E2E_TAG_TTL      tagTtl of both upstreams, in seconds (default 3)
#   E2E_BURST_NODES  containerd namespaces pulling one new image at once (default 4)
#   E2E_SNAPSHOTTER  containerd snapshotter (default: overlayfs when an overlay
#                    mount works here, else native)
#   E2E_PODMAN       auto (default: podman if `podman info` works, else skopeo
#                    with --registries-conf), podman, or skopeo
#
# Prints PASS/FAIL lines, a table of upstream requests per step and, last,
# the line "N passed, M failed". Exits non-zero if anything failed.
# Only 127.0.0.1 is ever contacted; port 5000 is never used. Every daemon
# (registries, Wharf, containerd) runs from its binary with its config, state
# and sockets under the work directory; no system service is touched.
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
        -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
        *) echo "unknown argument: $arg" >&2; exit 2 ;;
    esac
done
BIG_MB=${E2E_BIG_MB:-2}
TTL=${E2E_TAG_TTL:-3}
TIMEOUT=${E2E_TIMEOUT:-360}
B_USER=alice
B_PASS='p@ss:w/rd%&?'

PASSED=0
FAILED=0
SUMMARY=()
DONE=0
WORK=""
WATCHDOG_PID=""
PAR_PIDS=()
MADE_RUN_CONTAINERS=0

pass() { PASSED=$((PASSED + 1)); echo "PASS: $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL: $*"; }
# check NAME CMD... — PASS/FAIL on the command's exit status
check() { local name=$1; shift; if "$@"; then pass "$name"; else fail "$name"; return 1; fi; }
# bail — stop after a failure that the remaining tests depend on
bail() { echo "  (stopping here: the remaining tests depend on this)"; DONE=1; exit 1; }

exec 8>&1 9>&2

finish() {
    local rc=$? f m pid
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
        # snapshot mounts containerd may have left behind (ours only: under WORK)
        while read -r m; do
            umount -n "$m" 2>/dev/null || umount -n -l "$m" 2>/dev/null
        done < <(awk -v w="$WORK/" 'index($2, w) == 1 {print $2}' /proc/mounts | sort -r)
    fi
    # podman (as root) creates /run/containers/networks even for a pull
    if ((MADE_RUN_CONTAINERS)); then
        rmdir /run/containers/networks /run/containers 2>/dev/null
    fi
    if [[ -n $WORK && -d $WORK ]]; then
        if ((FAILED)); then
            for f in "$WORK"/logs/*; do
                [[ -s $f ]] || continue
                # client logs only when they show a problem; servers always
                # (ctr's "active check failed ... context canceled" is its
                # progress display losing a race with a parallel pull: harmless)
                case ${f##*/} in
                    ctr-*|skopeo-*|podman-*)
                        grep -vF 'active check failed' "$f" |
                            grep -qiE 'error|fatal|fail|timed? ?out|denied|unauthorized' || continue ;;
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
    echo "== upstream requests per step (registry access logs; Wharf /metrics wharf_upstream_requests_total) =="
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
        containerd:containerd ctr:containerd htpasswd:apache2-utils \
        gzip:gzip tar:tar sha256sum:coreutils; then
    fail "install prerequisites (docker-registry, skopeo, containerd, apache2-utils, curl)"
    bail
fi
if [[ ${E2E_PODMAN:-auto} != skopeo ]]; then
    e2e_install_deps podman:podman || e2e_warn "podman not installable; the podman step will use skopeo"
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

WORK=$(mktemp -d "${TMPDIR:-/tmp}/wharf-mirror.XXXXXX")
LOGS=$WORK/logs
mkdir -p "$LOGS"
e2e_log "work directory: $WORK"

# --------------------------------------------------------------------------
# helpers: access logs, metrics, summary
# --------------------------------------------------------------------------

# reg_requests LOG FROM — access-log lines ("combined" format) since FROM
reg_requests() { tail -n +"$2" "$1" | grep -E '^[0-9.]+ - [^ ]+ \[[^]]*\] "[A-Z]+ ' || true; }

# reg_user_agents LOG FROM — "COUNT USER-AGENT" of the requests since FROM
reg_user_agents() { reg_requests "$1" "$2" | sed -E 's/.*"([^"]*)"$/\1/' | sort | uniq -c | sed 's/^ *//'; }

# only_wharf_asked NAME LOG FROM — every request the registry got since FROM
# came from Wharf (user agent wharf/...), and there was at least one.
only_wharf_asked() {
    local name=$1 uas
    uas=$(reg_user_agents "$2" "$3")
    echo "    registry $name user agents since the step began: $(echo "${uas:-none}" | paste -sd';' -)"
    [[ -n $uas ]] && ! grep -vqE '^[0-9]+ wharf/' <<<"$uas"
}

# no_client_reached NAME LOG FROM — no request except Wharf's (zero is fine)
no_client_reached() {
    local uas
    uas=$(reg_user_agents "$2" "$3")
    echo "    registry $1 user agents since the step began: $(echo "${uas:-none}" | paste -sd';' -)"
    ! grep -vqE '^[0-9]+ wharf/' <<<"$uas"
}

# metric_sum LABEL_FILTER... — sum of wharf_upstream_requests_total series
# whose labels contain every filter (e.g. 'upstream="reg-a"' 'kind="blob"').
metric_sum() {
    local lines f
    lines=$(curl -s --max-time 5 "$WHARF_URL/metrics" | grep '^wharf_upstream_requests_total{') || lines=""
    for f in "$@"; do lines=$(grep -F "$f" <<<"$lines"); done
    awk '{s += $NF} END {printf "%d\n", s}' <<<"$lines"
}
metric_raw() { curl -s --max-time 5 "$WHARF_URL/metrics" | grep -E "$1" | awk '{s += $NF} END {printf "%d\n", s}'; }

# marks — remembers where "this step" starts in every log and counter
marks() {
    MA=$(e2e_log_mark "$REG_A_LOG")
    MB=$(e2e_log_mark "$REG_B_LOG")
    MW=$(e2e_log_mark "$WHARF_LOG")
    M_A=$(metric_sum 'upstream="reg-a"')
    M_B=$(metric_sum 'upstream="reg-b"')
    M_A_BLOB=$(metric_sum 'upstream="reg-a"' 'kind="blob"')
    M_B_BLOB=$(metric_sum 'upstream="reg-b"' 'kind="blob"')
    STEP_START=$SECONDS
}

# reg_line LOG FROM — "blobGET=n(distinct d) manGET=n HEAD=n all=n"
reg_line() {
    local log=$1 from=$2 bg bd mg mh all
    bg=$(e2e_upstream_count "$log" GET '/v2/[^ ]+/blobs/sha256:[0-9a-f]{64}' "$from")
    bd=$(tail -n +"$from" "$log" | grep -oE '"GET /v2/[^ ]+/blobs/sha256:[0-9a-f]{64}[ ?]' | sort -u | grep -c . || true)
    mg=$(e2e_upstream_count "$log" GET '/v2/[^ ]+/manifests/[^ ?]+' "$from")
    mh=$(e2e_upstream_count "$log" HEAD '/v2/[^ ]+/manifests/[^ ?]+' "$from")
    all=$(reg_requests "$log" "$from" | grep -c . || true)
    printf '%4s (%3s) %4s %5s %4s' "$bg" "$bd" "$mg" "$mh" "$all"
}
summary_header() {
    SUMMARY+=("$(printf '%-50s | %-26s | %-26s | %s' '' 'registry A (access log)' 'registry B (access log)' 'Wharf metric')")
    SUMMARY+=("$(printf '%-50s | %-26s | %-26s | %s' step 'blob(dist) mGET mHEAD  all' 'blob(dist) mGET mHEAD  all' 'A / B')")
}
# usum LABEL — a summary row for everything since the last `marks`
usum() {
    local a b
    if [[ $REG_A_ALIVE == 1 ]]; then a=$(reg_line "$REG_A_LOG" "$MA"); else a="(stopped)"; fi
    b=$(reg_line "$REG_B_LOG" "$MB")
    SUMMARY+=("$(printf '%-50s | %-26s | %-26s | %3s / %-3s' "$1 ($((SECONDS - STEP_START))s)" "$a" "$b" \
        "$(($(metric_sum 'upstream="reg-a"') - M_A))" "$(($(metric_sum 'upstream="reg-b"') - M_B))")")
}

# manifest_digest_raw REF [skopeo flags...] — sha256 of the raw manifest
manifest_digest_raw() {
    local ref=$1 out; shift
    out=$(e2e_skopeo inspect --raw --tls-verify=false "$@" "docker://$ref" 2>>"$LOGS/skopeo-inspect.log") || return 1
    printf '%s' "$out" | sha256sum | awk '{print "sha256:" $1}'
}

# --------------------------------------------------------------------------
# 1. two upstream registries: A anonymous, B with htpasswd Basic auth
# --------------------------------------------------------------------------
if ! { e2e_free_port A_PORT && e2e_free_port B_PORT && e2e_free_port W_PORT; }; then fail "find free ports"; bail; fi
A=127.0.0.1:$A_PORT
B=127.0.0.1:$B_PORT
W=127.0.0.1:$W_PORT
REG_VERSION=$(/usr/bin/docker-registry --version 2>/dev/null | awk '{print $3}')

if ! e2e_start_registry "$WORK/reg-a" "$A_PORT" "$LOGS/registry-a.log"; then
    fail "registry A (anonymous) starts on $A"
    bail
fi
REG_A_PID=$REGISTRY_PID REG_A_LOG=$REGISTRY_LOG REG_A_ALIVE=1
pass "registry A (docker-registry $REG_VERSION, anonymous) answers GET /v2/ on $A"

htpasswd -Bbn "$B_USER" "$B_PASS" >"$WORK/htpasswd" 2>>"$LOGS/htpasswd.log" || { fail "htpasswd -Bbn"; bail; }
if ! e2e_start_registry "$WORK/reg-b" "$B_PORT" "$LOGS/registry-b.log" "$WORK/htpasswd"; then
    fail "registry B (htpasswd Basic auth) starts on $B and answers 401 to anonymous GET /v2/"
    bail
fi
REG_B_LOG=$REGISTRY_LOG
pass "registry B (htpasswd Basic auth) answers 401 to an anonymous GET /v2/ on $B"
b_auth_ok() {
    local code
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -u "$B_USER:$B_PASS" "http://$B/v2/")
    echo "    -> GET /v2/ with alice's bcrypt-checked password: $code"
    [[ $code == 200 ]]
}
check "registry B accepts alice's password (with @ : / % & ?) over Basic auth" b_auth_ok || bail

# --------------------------------------------------------------------------
# 2. images: e2e/app:v1 -> A, team/tool:v1 -> B, multi-arch e2e/multi:v1 -> A
# --------------------------------------------------------------------------
e2e_log "building images ($BIG_MB MiB random layer each)"
e2e_build_image "$WORK/src-app" v1 app "$BIG_MB" || { fail "build e2e/app"; bail; }
APP_DIGEST=$E2E_IMAGE_MANIFEST_DIGEST; read -ra APP_BLOBS <<<"$E2E_IMAGE_BLOBS"
e2e_build_image "$WORK/src-app2" v1 app-v2 "$BIG_MB" || { fail "build e2e/app (second content)"; bail; }
APP2_DIGEST=$E2E_IMAGE_MANIFEST_DIGEST; read -ra APP2_BLOBS <<<"$E2E_IMAGE_BLOBS"
e2e_build_image "$WORK/src-tool" v1 tool "$BIG_MB" || { fail "build team/tool"; bail; }
TOOL_DIGEST=$E2E_IMAGE_MANIFEST_DIGEST; read -ra TOOL_BLOBS <<<"$E2E_IMAGE_BLOBS"
e2e_build_image "$WORK/src-multi" amd64 multi-amd64 "$BIG_MB" amd64 || { fail "build e2e/multi amd64"; bail; }
MULTI_AMD64=$E2E_IMAGE_MANIFEST_DIGEST; read -ra MULTI_AMD64_BLOBS <<<"$E2E_IMAGE_BLOBS"
e2e_build_image "$WORK/src-multi" arm64 multi-arm64 "$BIG_MB" arm64 || { fail "build e2e/multi arm64"; bail; }
MULTI_ARM64=$E2E_IMAGE_MANIFEST_DIGEST; read -ra MULTI_ARM64_BLOBS <<<"$E2E_IMAGE_BLOBS"
e2e_build_index "$WORK/src-multi" v1 "$MULTI_AMD64=linux/amd64" "$MULTI_ARM64=linux/arm64" || { fail "build e2e/multi index"; bail; }
MULTI_INDEX=$E2E_INDEX_DIGEST
MULTI_BLOBS=("${MULTI_AMD64_BLOBS[@]}" "${MULTI_ARM64_BLOBS[@]}")
e2e_build_image "$WORK/src-burst" v1 burst $((BIG_MB * 4)) || { fail "build e2e/burst"; bail; }
BURST_DIGEST=$E2E_IMAGE_MANIFEST_DIGEST; read -ra BURST_BLOBS <<<"$E2E_IMAGE_BLOBS"

# push LAYOUT REF WANT_DIGEST [skopeo copy flags...]
push() {
    local layout=$1 ref=$2 want=$3 got; shift 3
    e2e_skopeo copy --preserve-digests --dest-tls-verify=false "$@" "oci:$layout:v1" "docker://$ref" >>"$LOGS/skopeo-push.log" 2>&1 || return 1
    got=$(manifest_digest_raw "$ref" "${CREDS[@]}") || return 1
    echo "    -> $ref is $got"
    [[ $got == "$want" ]]
}
CREDS=()
check "push e2e/app:v1 to A: manifest $APP_DIGEST" push "$WORK/src-app" "$A/e2e/app:v1" "$APP_DIGEST" || bail
check "push e2e/burst:v1 ($((BIG_MB * 4)) MiB layer) to A: manifest $BURST_DIGEST" \
    push "$WORK/src-burst" "$A/e2e/burst:v1" "$BURST_DIGEST" || bail
check "push multi-arch OCI index e2e/multi:v1 (linux/amd64 + linux/arm64) to A with --all: index $MULTI_INDEX" \
    push "$WORK/src-multi" "$A/e2e/multi:v1" "$MULTI_INDEX" --all || bail
CREDS=(--creds "$B_USER:$B_PASS")
check "push team/tool:v1 to B with --dest-creds: manifest $TOOL_DIGEST" \
    push "$WORK/src-tool" "$B/team/tool:v1" "$TOOL_DIGEST" --dest-creds "$B_USER:$B_PASS" || bail
CREDS=()
b_refuses_anonymous() {
    local out
    out=$(e2e_skopeo inspect --raw --tls-verify=false "docker://$B/team/tool:v1" 2>&1) && return 1
    echo "    -> anonymous skopeo inspect: $(tail -n1 <<<"$out" | cut -c1-160)"
    grep -qiE 'unauthorized|authentication required|401' <<<"$out"
}
check "registry B refuses an anonymous pull of team/tool:v1 (clients need Wharf's credentials)" b_refuses_anonymous

# --------------------------------------------------------------------------
# 3. Wharf with both upstreams
# --------------------------------------------------------------------------
WHARF_LOG=$LOGS/wharf.log
cat >"$WORK/wharf.yaml" <<EOF
listen: $W
externalUrl: http://$W
defaultUpstream: reg-a
upstreams:
  - name: reg-a
    url: http://$A
    hosts: ["$A"]
    tagTtl: ${TTL}s
  - name: reg-b
    url: http://$B
    hosts: ["$B"]
    tagTtl: ${TTL}s
    credentials: {username: $B_USER, password: "$B_PASS"}
storage:
  tiers:
    - path: $WORK/wharf-store
EOF
if ! WHARF_SERVE_OPTS="${WHARF_SERVE_OPTS:-} --access-log" e2e_start_wharf_config "$WORK/wharf.yaml" "$W_PORT" "$WHARF_LOG"; then
    fail "Wharf (two upstreams, --config) starts: GET http://$W/v2/ == 200"
    bail
fi
pass "Wharf (two upstreams, --config) starts: GET http://$W/v2/ == 200"
summary_header

# --------------------------------------------------------------------------
# 4. containerd + ctr with hosts.toml mirrors
# --------------------------------------------------------------------------
C=$WORK/containerd
SOCK=$C/containerd.sock
HOSTS=$C/certs.d
mkdir -p "$C/root" "$C/state" "$C/opt" "$HOSTS/$A" "$HOSTS/$B"
SNAP=${E2E_SNAPSHOTTER:-}
if [[ -z $SNAP ]]; then
    # overlayfs works only where an overlay mount does (not in every sandbox)
    SNAP=native
    mkdir -p "$C/ovl/l" "$C/ovl/u" "$C/ovl/w" "$C/ovl/m"
    # -n: libmount would otherwise create /run/mount/utab
    if mount -n -t overlay overlay -o "lowerdir=$C/ovl/l,upperdir=$C/ovl/u,workdir=$C/ovl/w" "$C/ovl/m" 2>/dev/null; then
        umount -n "$C/ovl/m" && SNAP=overlayfs
    fi
    rm -rf "$C/ovl"
fi
cat >"$C/config.toml" <<EOF
version = 2
root = "$C/root"
state = "$C/state"
# no Kubernetes CRI, no snapshotters that need special filesystems
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper"]

[grpc]
  address = "$SOCK"

[ttrpc]
  address = "$C/containerd-ttrpc.sock"

[metrics]
  address = ""

[plugins]
  # default /opt/containerd
  [plugins."io.containerd.internal.v1.opt"]
    path = "$C/opt"
  # every namespace fetches its own copy (a fresh namespace = a fresh node)
  [plugins."io.containerd.metadata.v1.bolt"]
    content_sharing_policy = "isolated"
EOF
# The nodes' configuration comes from `wharf client-config`, as an admin would make it.
client_config() {
    echo "# wharf client-config $*" >>"$LOGS/client-config.log"
    java ${WHARF_JAVA_OPTS:-} -jar "$WHARF_JAR" client-config --config "$WORK/wharf.yaml" "$@" \
        2>>"$LOGS/client-config.log"
}
hosts_generated() {
    client_config --format containerd --all --output-dir "$HOSTS" || return 1
    local h
    for h in "$A" "$B"; do
        grep -qF "server = \"http://$h\"" "$HOSTS/$h/hosts.toml" || return 1
        grep -qF "[host.\"http://$W\"]" "$HOSTS/$h/hosts.toml" || return 1
    done
}
check "wharf client-config --format containerd --all wrote $HOSTS/{$A,$B}/hosts.toml (server = registry, host = Wharf)" \
    hosts_generated || bail
CTR=(ctr --address "$SOCK")
CTRD_LOG=$LOGS/containerd.log
e2e_spawn "$CTRD_LOG" containerd --config "$C/config.toml"
CTRD_PID=$E2E_LAST_PID
ctrd_up() {
    local deadline=$((SECONDS + 30))
    while ((SECONDS < deadline)); do
        kill -0 "$CTRD_PID" 2>/dev/null || return 1
        [[ -S $SOCK ]] && timeout 5 "${CTR[@]}" version >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    return 1
}
check "containerd $(containerd --version | awk '{print $3}') starts from its binary (own config, root, state, socket; snapshotter $SNAP)" ctrd_up || bail

# ctr_pull NS LOGNAME REF [ctr pull flags...] — the node-side pull
ctr_pull() {
    local ns=$1 log=$LOGS/ctr-$2.log ref=$3; shift 3
    # no --plain-http needed: the http:// scheme in hosts.toml says it
    echo "# ctr -n $ns image pull --hosts-dir $HOSTS --snapshotter $SNAP $* $ref" >>"$log"
    timeout 120 "${CTR[@]}" -n "$ns" image pull --hosts-dir "$HOSTS" --snapshotter "$SNAP" "$@" "$ref" >>"$log" 2>&1
}
# ctr_digest_is NS REF WANT — the image record's target digest
ctr_digest_is() {
    local got
    got=$(timeout 30 "${CTR[@]}" -n "$1" image ls 2>/dev/null | awk -v r="$2" '$1 == r {print $3}')
    echo "    -> ctr -n $1 image ls: $2 -> ${got:-none}"
    [[ $got == "$3" ]]
}
# pull_and_verify NS LOGNAME REF WANT [flags...]
pull_and_verify() {
    local ns=$1 log=$2 ref=$3 want=$4; shift 4
    ctr_pull "$ns" "$log" "$ref" "$@" && ctr_digest_is "$ns" "$ref" "$want"
}
# ctr_has_content NS DIGEST... — all those blobs are in NS's content store
ctr_has_content() {
    local ns=$1 have d ok=0; shift
    have=$(timeout 30 "${CTR[@]}" -n "$ns" content ls 2>/dev/null | awk 'NR > 1 {print $1}')
    for d in "$@"; do grep -qxF "$d" <<<"$have" || { echo "    missing in content store: $d"; ok=1; }; done
    return "$ok"
}
# wharf_saw FROM REGEX — Wharf's access log since FROM has a matching line
wharf_saw() {
    local n
    n=$(tail -n +"$1" "$WHARF_LOG" | grep 'io.wharf.access' | grep -cE "$2" || true)
    echo "    -> Wharf access-log lines matching '$2': $n"
    ((n > 0))
}

marks
check "c: ctr pull $A/e2e/app:v1 via the hosts.toml mirror -> $APP_DIGEST" \
    pull_and_verify node1 app "$A/e2e/app:v1" "$APP_DIGEST"
check "c: ctr pull $B/team/tool:v1 (no credentials given to ctr) -> $TOOL_DIGEST" \
    pull_and_verify node1 tool "$B/team/tool:v1" "$TOOL_DIGEST"
check "c: ctr pull --platform linux/amd64 $A/e2e/multi:v1 -> index $MULTI_INDEX" \
    pull_and_verify node1 multi-amd64 "$A/e2e/multi:v1" "$MULTI_INDEX" --platform linux/amd64
check "c: ctr pull --platform linux/arm64 $A/e2e/multi:v1 -> index $MULTI_INDEX" \
    pull_and_verify node1 multi-arm64 "$A/e2e/multi:v1" "$MULTI_INDEX" --platform linux/arm64
check "c: both platform manifests and all their blobs are in containerd's content store" \
    ctr_has_content node1 "$MULTI_INDEX" "$MULTI_AMD64" "$MULTI_ARM64" "${MULTI_BLOBS[@]}"
check "c: containerd sent ?ns=$A to Wharf (A's images)" \
    wharf_saw "$MW" "/v2/e2e/(app|multi)/(manifests|blobs)/[^ ]*\?ns=127\.0\.0\.1(:|%3A)$A_PORT "
check "c: containerd sent ?ns=$B to Wharf (B's image)" \
    wharf_saw "$MW" "/v2/team/tool/(manifests|blobs)/[^ ]*\?ns=127\.0\.0\.1(:|%3A)$B_PORT "
check "c: registry A saw only Wharf's requests (user agent wharf/...), not containerd's" \
    only_wharf_asked A "$REG_A_LOG" "$MA"
check "c: registry B saw only Wharf's requests (user agent wharf/...), not containerd's" \
    only_wharf_asked B "$REG_B_LOG" "$MB"
metric_rose() {
    local a b
    a=$(($(metric_sum 'upstream="reg-a"' 'kind="blob"') - M_A_BLOB))
    b=$(($(metric_sum 'upstream="reg-b"' 'kind="blob"') - M_B_BLOB))
    echo "    -> wharf_upstream_requests_total{kind=\"blob\"} rose by reg-a=$a reg-b=$b"
    ((a > 0 && b > 0))
}
check "c: e2e/app: each blob fetched from A at most once" \
    e2e_blob_counts_ok "$REG_A_LOG" e2e/app "$MA" -le 1 "${APP_BLOBS[@]}"
check "c: e2e/multi (both platforms): each blob fetched from A at most once" \
    e2e_blob_counts_ok "$REG_A_LOG" e2e/multi "$MA" -le 1 "${MULTI_BLOBS[@]}"
check "c: team/tool: each blob fetched from B at most once" \
    e2e_blob_counts_ok "$REG_B_LOG" team/tool "$MB" -le 1 "${TOOL_BLOBS[@]}"
check "c: Wharf's /metrics upstream blob counters rose for reg-a and reg-b" metric_rose
usum "c  node1 ctr (cold): app, tool, multi x2 arch"

# a second node (fresh containerd namespace, isolated content): all from cache
marks
check "c2: node2 ctr pull $A/e2e/app:v1 -> $APP_DIGEST" pull_and_verify node2 node2-app "$A/e2e/app:v1" "$APP_DIGEST"
check "c2: node2 ctr pull $B/team/tool:v1 -> $TOOL_DIGEST" pull_and_verify node2 node2-tool "$B/team/tool:v1" "$TOOL_DIGEST"
check "c2: node2 ctr pull --all-platforms $A/e2e/multi:v1 -> $MULTI_INDEX" \
    pull_and_verify node2 node2-multi "$A/e2e/multi:v1" "$MULTI_INDEX" --all-platforms
check "c2: node2 ctr pull by digest $A/e2e/app@${APP_DIGEST:0:19}... (pinned, as Kubernetes often does)" \
    pull_and_verify node2 node2-app-digest "$A/e2e/app@$APP_DIGEST" "$APP_DIGEST"
check "c2: node2's blobs came through Wharf (its access log has the blob GETs)" \
    wharf_saw "$MW" "GET /v2/(e2e/app|e2e/multi|team/tool)/blobs/sha256:[0-9a-f]{64}\?ns="
check "c2: zero upstream blob GETs for node2 (A)" \
    e2e_blob_counts_ok "$REG_A_LOG" 'e2e/(app|multi)' "$MA" -eq 0 "${APP_BLOBS[@]}" "${MULTI_BLOBS[@]}"
check "c2: zero upstream blob GETs for node2 (B)" \
    e2e_blob_counts_ok "$REG_B_LOG" team/tool "$MB" -eq 0 "${TOOL_BLOBS[@]}"
usum "c2 node2 ctr: same, all platforms (warm)"

# c3: several nodes start the same new image at once
BURST_NODES=${E2E_BURST_NODES:-4}
marks
PAR_PIDS=()
for ((i = 1; i <= BURST_NODES; i++)); do
    # `timeout` itself is the background child (not a subshell), so that the
    # EXIT trap's TERM reaches ctr through it
    echo "# ctr -n burst$i image pull --hosts-dir $HOSTS --snapshotter $SNAP $A/e2e/burst:v1" >>"$LOGS/ctr-burst-$i.log"
    timeout 120 "${CTR[@]}" -n "burst$i" image pull --hosts-dir "$HOSTS" --snapshotter "$SNAP" "$A/e2e/burst:v1" \
        >>"$LOGS/ctr-burst-$i.log" 2>&1 </dev/null 8>&- 9>&- &
    PAR_PIDS+=($!)
done
burst_ok=0
for ((i = 1; i <= BURST_NODES; i++)); do
    # poll rather than block in `wait`: a deadline TERM arriving inside the
    # wait builtin left bash unable to reap (SIGCHLD blocked) in the EXIT trap
    while kill -0 "${PAR_PIDS[i - 1]}" 2>/dev/null; do sleep 0.2; done
    wait "${PAR_PIDS[i - 1]}" || { echo "    node burst$i: ctr pull failed"; burst_ok=1; }
done
PAR_PIDS=()
check "c3: $BURST_NODES nodes pull $A/e2e/burst:v1 at the same time: all succeed" test "$burst_ok" -eq 0
burst_digests_ok() {
    local i ok=0
    for ((i = 1; i <= BURST_NODES; i++)); do ctr_digest_is "burst$i" "$A/e2e/burst:v1" "$BURST_DIGEST" || ok=1; done
    return "$ok"
}
check "c3: every node recorded $BURST_DIGEST" burst_digests_ok
check "c3: exactly one upstream GET per blob despite $BURST_NODES concurrent nodes" \
    e2e_blob_counts_ok "$REG_A_LOG" e2e/burst "$MA" -eq 1 "${BURST_BLOBS[@]}"
burst_served() {
    local n want=$((BURST_NODES * ${#BURST_BLOBS[@]}))
    n=$(tail -n +"$MW" "$WHARF_LOG" | grep 'io.wharf.access' | grep -cE "GET /v2/e2e/burst/blobs/sha256:[0-9a-f]{64}\?ns=[^ ]* 200 " || true)
    echo "    -> Wharf answered $n blob GETs with 200 (want $want = $BURST_NODES nodes x ${#BURST_BLOBS[@]} blobs)"
    ((n == want))
}
check "c3: Wharf served every node every blob" burst_served
usum "c3 $BURST_NODES nodes ctr pull burst:v1 at once (cold)"

# --------------------------------------------------------------------------
# 5. podman (or skopeo) with a registries.conf prefix mirror for B
# --------------------------------------------------------------------------
P=$WORK/podman
mkdir -p "$P/root" "$P/runroot" "$P/tmp"
# B: the prefix mirror from `wharf client-config --format podman`; A: a plain mirror by hand
# (requests without a prefix go to Wharf's defaultUpstream, reg-a)
if ! client_config --format podman --upstream reg-b >"$P/registries-reg-b.conf" \
        || ! grep -qF "location = \"$W/reg-b\"" "$P/registries-reg-b.conf"; then
    fail "wharf client-config --format podman --upstream reg-b gives the prefix mirror $W/reg-b"
    bail
fi
pass "wharf client-config --format podman --upstream reg-b gives the prefix mirror $W/reg-b"
{ echo 'unqualified-search-registries = []'; cat "$P/registries-reg-b.conf"; } >"$P/registries.conf"
cat >>"$P/registries.conf" <<EOF

[[registry]]
prefix = "$A"
location = "$A"

[[registry.mirror]]
location = "$W"
insecure = true
EOF
printf '{"default":[{"type":"insecureAcceptAnything"}]}\n' >"$P/policy.json"
printf '{"auths":{}}\n' >"$P/auth.json"
cat >"$P/storage.conf" <<EOF
[storage]
driver = "vfs"
runroot = "$P/runroot"
graphroot = "$P/root"
EOF
: >"$P/containers.conf"
PODMAN_ENV=(env CONTAINERS_REGISTRIES_CONF="$P/registries.conf" CONTAINERS_STORAGE_CONF="$P/storage.conf"
    CONTAINERS_CONF="$P/containers.conf" REGISTRY_AUTH_FILE="$P/auth.json")
PODMAN=("${PODMAN_ENV[@]}" podman --root "$P/root" --runroot "$P/runroot" --storage-driver vfs
    --tmpdir "$P/tmp" --cgroup-manager cgroupfs --events-backend file)
[[ -e /run/containers ]] || MADE_RUN_CONTAINERS=1
CLIENT=${E2E_PODMAN:-auto}
if [[ $CLIENT == auto ]]; then
    CLIENT=skopeo
    if command -v podman >/dev/null 2>&1 && timeout 60 "${PODMAN[@]}" info >>"$LOGS/podman-info.log" 2>&1; then
        CLIENT=podman
    else
        e2e_warn "podman cannot run here (see $LOGS/podman-info.log); using skopeo --registries-conf"
    fi
fi
marks
podman_pull() {
    if [[ $CLIENT == podman ]]; then
        timeout 120 "${PODMAN[@]}" pull --signature-policy "$P/policy.json" "$B/team/tool:v1" >>"$LOGS/podman-pull.log" 2>&1
    else
        e2e_skopeo --registries-conf "$P/registries.conf" copy --authfile "$P/auth.json" --preserve-digests \
            "docker://$B/team/tool:v1" "oci:$P/out:v1" >>"$LOGS/podman-pull.log" 2>&1
    fi
}
podman_digest_ok() {
    local got
    if [[ $CLIENT == podman ]]; then
        got=$(timeout 60 "${PODMAN[@]}" image inspect --format '{{.Digest}}' "$B/team/tool:v1" 2>>"$LOGS/podman-pull.log")
    else
        got=$(e2e_layout_manifest_digest "$P/out" v1)
    fi
    echo "    -> $CLIENT has $B/team/tool:v1 as ${got:-none}"
    [[ $got == "$TOOL_DIGEST" ]]
}
check "p: $CLIENT pull $B/team/tool:v1 via the prefix mirror $W/reg-b (no credentials on the client)" podman_pull
check "p: $CLIENT's image digest is $TOOL_DIGEST" podman_digest_ok
check "p: Wharf's access log shows $CLIENT's /v2/reg-b/team/tool/ requests" \
    wharf_saw "$MW" "(GET|HEAD) /v2/reg-b/team/tool/(manifests|blobs)/"
check "p: registry B got no request from $CLIENT itself" no_client_reached B "$REG_B_LOG" "$MB"
check "p: team/tool blobs were not fetched from B again (cached by Wharf)" \
    e2e_blob_counts_ok "$REG_B_LOG" team/tool "$MB" -eq 0 "${TOOL_BLOBS[@]}"
usum "p  $CLIENT: B's tool via prefix mirror /reg-b"

# the arm64 instance of the index through the plain mirror (default upstream)
marks
# containers/image (podman, skopeo, CRI-O, buildah) sends one Accept header
# line per media type, OCI image manifest first; RFC 9110 5.3: several lines
# of a list header mean the same as one comma-joined line.
accept_lines_joined() {
    local code
    code=$(curl -s -o "$WORK/accept-body" -w '%{http_code}' --max-time 10 \
        -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
        -H 'Accept: application/vnd.oci.image.index.v1+json' \
        "http://$W/v2/e2e/multi/manifests/$MULTI_INDEX")
    echo "    -> GET /v2/e2e/multi/manifests/${MULTI_INDEX:0:19}... with 2 Accept lines (OCI manifest; OCI index): HTTP $code $(head -c 300 "$WORK/accept-body")"
    [[ $code == 200 ]]
}
check "p: Wharf honours every Accept header line, not just the first (the index is in the second)" accept_lines_joined
podman_pull_arm64() {
    if [[ $CLIENT == podman ]]; then
        timeout 120 "${PODMAN[@]}" pull --arch arm64 --signature-policy "$P/policy.json" "$A/e2e/multi:v1" >>"$LOGS/podman-pull-multi.log" 2>&1
    else
        e2e_skopeo --registries-conf "$P/registries.conf" --override-arch arm64 copy --authfile "$P/auth.json" \
            --preserve-digests "docker://$A/e2e/multi:v1" "oci:$P/out-multi:v1" >>"$LOGS/podman-pull-multi.log" 2>&1
    fi
}
podman_arm64_ok() {
    local got
    if [[ $CLIENT == podman ]]; then
        got=$(timeout 60 "${PODMAN[@]}" image inspect --format '{{.Architecture}} {{.Digest}} {{.RepoDigests}}' \
            "$A/e2e/multi:v1" 2>>"$LOGS/podman-pull-multi.log")
    else
        got="arm64 $(e2e_layout_manifest_digest "$P/out-multi" v1)"
    fi
    echo "    -> $CLIENT: $A/e2e/multi:v1 is ${got:-none}"
    [[ $got == arm64\ * && $got == *"$MULTI_ARM64"* ]]
}
check "p: $CLIENT pull --arch arm64 $A/e2e/multi:v1 via the plain mirror $W (Wharf's default upstream)" podman_pull_arm64
check "p: $CLIENT got the linux/arm64 instance $MULTI_ARM64" podman_arm64_ok
check "p: Wharf's access log shows $CLIENT's /v2/e2e/multi/ requests (no ns, no prefix)" \
    wharf_saw "$MW" "(GET|HEAD) /v2/e2e/multi/(manifests|blobs)/[^ ?]+ "
check "p: registry A got no request from $CLIENT itself" no_client_reached A "$REG_A_LOG" "$MA"
check "p: no e2e/multi blob fetched from A again (cached by Wharf)" \
    e2e_blob_counts_ok "$REG_A_LOG" e2e/multi "$MA" -eq 0 "${MULTI_BLOBS[@]}"
usum "p  $CLIENT: multi --arch arm64, plain mirror"

# --------------------------------------------------------------------------
# 6. tag freshness: re-push e2e/app:v1 with other content
# --------------------------------------------------------------------------
marks
# warm the tag so that the answer right after the re-push comes from the cache
check "t: via Wharf, e2e/app:v1 is $APP_DIGEST before the re-push" \
    test "$(manifest_digest_raw "$W/e2e/app:v1")" == "$APP_DIGEST"
check "t: re-push e2e/app:v1 to A with new content $APP2_DIGEST" \
    push "$WORK/src-app2" "$A/e2e/app:v1" "$APP2_DIGEST"
PUSHED_AT=$SECONDS
usum "t0 skopeo inspect via Wharf + re-push to A"
marks
FIRST=$(manifest_digest_raw "$W/e2e/app:v1") || FIRST=error
echo "    (right after the re-push Wharf answers ${FIRST:0:19}...; within tagTtl=${TTL}s either is allowed)"
fresh_after_ttl() {
    local got deadline=$((PUSHED_AT + TTL + 20))
    while ((SECONDS < deadline)); do
        got=$(manifest_digest_raw "$W/e2e/app:v1") || got=error
        if [[ $got == "$APP2_DIGEST" ]]; then
            echo "    -> new digest served $((SECONDS - PUSHED_AT))s after the re-push"
            return 0
        fi
        sleep 1
    done
    echo "    -> still ${got:-none} $((SECONDS - PUSHED_AT))s after the re-push (tagTtl ${TTL}s)"
    return 1
}
check "t: after tagTtl (${TTL}s) skopeo inspect --raw via Wharf shows the NEW digest $APP2_DIGEST" fresh_after_ttl
check "t: node1 ctr pull $A/e2e/app:v1 again -> NEW digest $APP2_DIGEST" \
    pull_and_verify node1 app-new "$A/e2e/app:v1" "$APP2_DIGEST"
check "t: new e2e/app blobs fetched from A at most once" \
    e2e_blob_counts_ok "$REG_A_LOG" e2e/app "$MA" -le 1 "${APP2_BLOBS[@]}"
revalidated_with_head() {
    local n
    n=$(e2e_upstream_count "$REG_A_LOG" HEAD '/v2/e2e/app/manifests/v1' "$MA")
    echo "    -> HEAD /v2/e2e/app/manifests/v1 at A since the step began: $n"
    ((n > 0))
}
check "t: Wharf revalidated the expired tag with HEAD at A" revalidated_with_head
check "t: after the re-push registry A saw only Wharf's requests" only_wharf_asked A "$REG_A_LOG" "$MA"
usum "t  wait tagTtl, node1 ctr pulls new app:v1"

# --------------------------------------------------------------------------
# 7. registry A offline: stale tag + cached blobs
# --------------------------------------------------------------------------
marks
e2e_stop_pid "$REG_A_PID"
REG_A_ALIVE=0
a_down() { ! curl -s -o /dev/null --max-time 3 "http://$A/v2/"; }
check "o: registry A stopped (pid $REG_A_PID), $A refuses connections" a_down
sleep $((TTL + 1)) # every cached tag answer is now past its tagTtl
STALE0=$(metric_raw '^wharf_manifest_cache_total\{.*result="stale"')
check "o: node3 ctr pull $A/e2e/app:v1 with A down -> $APP2_DIGEST (stale tag, cached blobs)" \
    pull_and_verify node3 offline-app "$A/e2e/app:v1" "$APP2_DIGEST"
check "o: node3 ctr pull --all-platforms $A/e2e/multi:v1 with A down -> $MULTI_INDEX" \
    pull_and_verify node3 offline-multi "$A/e2e/multi:v1" "$MULTI_INDEX" --all-platforms
check "o: node3 has both platforms' manifests and blobs" \
    ctr_has_content node3 "$MULTI_INDEX" "$MULTI_AMD64" "$MULTI_ARM64" "${MULTI_BLOBS[@]}" "${APP2_BLOBS[@]}"
stale_marked() {
    local h s1
    h=$(curl -sS -I --max-time 10 -H 'Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json' \
        "http://$W/v2/e2e/multi/manifests/v1?ns=$A" | tr -d '\r')
    s1=$(metric_raw '^wharf_manifest_cache_total\{.*result="stale"')
    echo "    -> HEAD e2e/multi:v1: $(head -n1 <<<"$h"); $(grep -i '^warning:' <<<"$h" || echo 'no Warning header'); stale counter +$((s1 - STALE0))"
    head -n1 <<<"$h" | grep -q ' 200' && grep -qi "^docker-content-digest: $MULTI_INDEX\$" <<<"$h" &&
        grep -qi '^warning: 110' <<<"$h" && ((s1 > STALE0))
}
check "o: stale answers carry 'Warning: 110' and count in wharf_manifest_cache_total{result=\"stale\"}" stale_marked
check "o: skopeo inspect --raw via Wharf (no ns, default upstream) still gives $APP2_DIGEST" \
    test "$(manifest_digest_raw "$W/e2e/app:v1")" == "$APP2_DIGEST"
usum "o  A down: node3 ctr pulls app + multi"

# o2: Wharf restarted while A is still down: tag records persisted
marks
e2e_stop_pid "$WHARF_PID"
if WHARF_SERVE_OPTS="${WHARF_SERVE_OPTS:-} --access-log" e2e_start_wharf_config "$WORK/wharf.yaml" "$W_PORT" "$WHARF_LOG"; then
    pass "o2: Wharf restarts on the same store and port while A is down"
    check "o2: node4 ctr pull $A/e2e/app:v1 after the restart -> $APP2_DIGEST" \
        pull_and_verify node4 restart-app "$A/e2e/app:v1" "$APP2_DIGEST"
    check "o2: node4 ctr pull --all-platforms $A/e2e/multi:v1 after the restart -> $MULTI_INDEX" \
        pull_and_verify node4 restart-multi "$A/e2e/multi:v1" "$MULTI_INDEX" --all-platforms
    M_A=0 M_B=0 # the counters restarted with the process
    usum "o2 A down, Wharf restarted: node4 ctr pulls"
else
    fail "o2: Wharf restarts on the same store and port while A is down"
fi

# --------------------------------------------------------------------------
# 8. Wharf-issued Bearer tokens: a second Wharf in front of B with
#    access.bearer; ctr --user gets a token with containerd's OAuth2 POST
# --------------------------------------------------------------------------
NODE_PASS='n0de:pw%&?'
if e2e_free_port W2_PORT && htpasswd -Bbn node "$NODE_PASS" >"$WORK/wharf-htpasswd" 2>>"$LOGS/htpasswd.log"; then
    W2=127.0.0.1:$W2_PORT
    cat >"$WORK/wharf-bearer.yaml" <<EOF
listen: $W2
externalUrl: http://$W2
upstreams:
  - name: reg-b
    url: http://$B
    hosts: ["$B"]
    credentials: {username: $B_USER, password: "$B_PASS"}
    access: {htpasswd: $WORK/wharf-htpasswd, bearer: true}
storage:
  tiers:
    - path: $WORK/wharf-bearer-store
EOF
    # shellcheck disable=SC2086 # WHARF_JAVA_OPTS is a list of flags
    e2e_spawn "$LOGS/wharf-bearer.log" java ${WHARF_JAVA_OPTS:-} -jar "$WHARF_JAR" serve --config "$WORK/wharf-bearer.yaml"
    W2_PID=$E2E_LAST_PID
    check "b: Wharf with access.bearer starts on $W2 (GET /v2/ == 401)" \
        e2e_wait_http "http://$W2/v2/" 90 "$W2_PID" 401
    bearer_challenge() {
        local h
        h=$(curl -sS -o /dev/null -D - --max-time 5 "http://$W2/v2/" | tr -d '\r' | grep -i '^www-authenticate:')
        echo "    -> $h"
        grep -qF "Bearer realm=\"http://$W2/token/reg-b\",service=\"wharf\"" <<<"$h"
    }
    check "b: GET /v2/ challenges with Bearer realm=http://$W2/token/reg-b" bearer_challenge
    HOSTS2=$WORK/certs-bearer.d
    mkdir -p "$HOSTS2/$B"
    cat >"$HOSTS2/$B/hosts.toml" <<EOF
server = "http://$B"

[host."http://$W2"]
  capabilities = ["pull", "resolve"]
EOF
    # bearer_pull NS [ctr pull flags...] — team/tool:v1 from B, mirrored by the second Wharf
    bearer_pull() {
        local ns=$1
        shift
        echo "# ctr -n $ns image pull --hosts-dir $HOSTS2 $* $B/team/tool:v1" >>"$LOGS/ctr-bearer.log"
        timeout 120 "${CTR[@]}" -n "$ns" image pull --hosts-dir "$HOSTS2" --snapshotter "$SNAP" "$@" \
            "$B/team/tool:v1" >>"$LOGS/ctr-bearer.log" 2>&1
    }
    no_token_pull_fails() { ! bearer_pull node6; }
    check "b: ctr pull $B/team/tool:v1 without --user fails (Wharf 401, B refuses anonymous)" no_token_pull_fails
    check "b: ctr pull --user node:... $B/team/tool:v1 through the Bearer-protected Wharf" \
        bearer_pull node5 --user "node:$NODE_PASS"
    check "b: node5's image record is $TOOL_DIGEST" ctr_digest_is node5 "$B/team/tool:v1" "$TOOL_DIGEST"
    token_grants() {
        local n
        n=$(curl -s --max-time 5 "http://$W2/metrics" | grep -E '^wharf_http_requests_seconds_count\{' |
            grep -F 'route="token"' | grep -F 'method="POST"' | grep -F 'status="200"' | awk '{s += $NF} END {printf "%d\n", s}')
        echo "    -> token endpoint POSTs answered 200: $n"
        ((n > 0))
    }
    check "b: containerd got its token with the OAuth2 POST (wharf_http_requests route=token, POST, 200)" token_grants
    e2e_stop_pid "$W2_PID"
else
    fail "b: free port and htpasswd for the Bearer-protected Wharf"
fi

DONE=1
exit 0

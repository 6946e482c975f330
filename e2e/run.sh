#!/usr/bin/env bash
# Wharf real-client end-to-end test: a real upstream registry (Debian's
# docker-registry, i.e. CNCF distribution 2.8), a hand-built multi-layer OCI
# image pushed to it with skopeo, and skopeo pulling it through Wharf.
#
# Usage: e2e/run.sh [--registry-only] [--keep]
#   --registry-only  only the upstream half (registry, image, direct copy,
#                    access-log counting); no Wharf needed.
#   --keep           keep the work directory even when everything passed.
# Environment:
#   WHARF_JAR        jar to run (default proxy-server/target/wharf.jar, built
#                    with ./mvnw -q -B -DskipTests package when missing)
#   WHARF_JAVA_OPTS  extra JVM flags
#   WHARF_SERVE_OPTS extra `wharf serve` flags, e.g. "--access-log --log-level=DEBUG"
#   E2E_TIMEOUT      overall deadline in seconds for the test phase (default 420)
#   E2E_PARALLEL     parallel clients in test d (default 8)
#   E2E_BIG_MB       size of the large layer of the second image (default 30)
#
# Prints PASS/FAIL lines, an upstream request summary and, last, the line
# "N passed, M failed". Exits non-zero if anything failed.
# Only 127.0.0.1 is ever contacted; port 5000 is never used.
# shellcheck disable=SC2317 # functions here are called indirectly (check, traps)
set -uo pipefail

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$E2E_DIR/.." && pwd)
# shellcheck source=lib.sh
source "$E2E_DIR/lib.sh"

REGISTRY_ONLY=0
KEEP=${E2E_KEEP:-0}
for arg in "$@"; do
    case $arg in
        --registry-only) REGISTRY_ONLY=1 ;;
        --keep) KEEP=1 ;;
        -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
        *) echo "unknown argument: $arg" >&2; exit 2 ;;
    esac
done
PARALLEL=${E2E_PARALLEL:-8}
BIG_MB=${E2E_BIG_MB:-30}

PASSED=0
FAILED=0
SUMMARY=()
DONE=0
WORK=""
WATCHDOG_PID=""
PAR_PIDS=()

pass() { PASSED=$((PASSED + 1)); echo "PASS: $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL: $*"; }
# check NAME CMD... — PASS/FAIL on the command's exit status
check() { local name=$1; shift; if "$@"; then pass "$name"; else fail "$name"; return 1; fi; }
summary() { SUMMARY+=("$*"); }
# bail — stop after a failure that the remaining tests depend on
bail() { echo "  (stopping here: the remaining tests depend on this)"; DONE=1; exit 1; }

# The original stdout/stderr: a trap can fire while a command's output is
# redirected to a log file, and finish() must still report on the console.
exec 8>&1 9>&2

finish() {
    local rc=$? pid f
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
                # client logs only when they show a problem; servers always
                if [[ ${f##*/} == skopeo-* ]] && ! grep -qiE 'error|fatal|timed? ?out|denied' "$f"; then
                    continue
                fi
                e2e_tail_log "$f" 30
            done
            # keep the logs, drop the bulky data
            find "$WORK" -mindepth 1 -maxdepth 1 ! -name logs -exec rm -rf {} +
            echo "logs kept in $WORK/logs"
        elif ((KEEP)); then
            echo "work directory kept: $WORK"
        else
            rm -rf "$WORK"
        fi
    fi
    echo
    echo "== upstream request summary (from the registry access log) =="
    if ((${#SUMMARY[@]})); then printf '  %s\n' "${SUMMARY[@]}"; else echo "  (none)"; fi
    echo
    echo "$PASSED passed, $FAILED failed"
    if ((FAILED)); then exit 1; fi
    exit 0
}
trap finish EXIT
trap 'exec 1>&8 2>&9; e2e_warn "interrupted"; exit 130' INT
trap 'exec 1>&8 2>&9; e2e_warn "terminated (deadline ${E2E_TIMEOUT:-420}s or signal)"; exit 143' TERM

# --------------------------------------------------------------------------
# 0. prerequisites (outside the deadline: installs and builds can be slow)
# --------------------------------------------------------------------------
if ! e2e_install_deps /usr/bin/docker-registry:docker-registry skopeo:skopeo curl:curl \
        gzip:gzip tar:tar sha256sum:coreutils; then
    fail "install prerequisites (docker-registry, skopeo, curl)"
    bail
fi
if ((!REGISTRY_ONLY)); then
    e2e_install_deps java:default-jre-headless || true
    if ! e2e_ensure_wharf_jar "$ROOT"; then
        fail "Wharf jar available (${WHARF_JAR:-proxy-server/target/wharf.jar})"
        bail
    fi
    e2e_log "using $WHARF_JAR"
fi

# Overall deadline: a watchdog of our own sends TERM to this script.
bash -c 'sleep "$1" & s=$!; trap "kill $s 2>/dev/null; exit 0" TERM; wait $s; kill -TERM "$2"' \
    _ "${E2E_TIMEOUT:-420}" "$$" </dev/null >/dev/null 2>&1 8>&- 9>&- &
WATCHDOG_PID=$!

WORK=$(mktemp -d "${TMPDIR:-/tmp}/wharf-e2e.XXXXXX")
LOGS=$WORK/logs
mkdir -p "$LOGS"
e2e_log "work directory: $WORK"

# --------------------------------------------------------------------------
# 1. upstream registry + images
# --------------------------------------------------------------------------
e2e_free_port REG_PORT || { fail "find a free port"; bail; }
if ! e2e_start_registry "$WORK/registry" "$REG_PORT" "$LOGS/registry.log"; then
    fail "upstream registry starts on 127.0.0.1:$REG_PORT"
    bail
fi
REG=127.0.0.1:$REG_PORT
pass "upstream registry (docker-registry $(/usr/bin/docker-registry --version 2>/dev/null | awk '{print $3}')) answers GET /v2/ on $REG"

e2e_log "building image e2e/app:v1 (3 layers, 4 MiB random layer)"
e2e_build_image "$WORK/src-app" v1 app 4 || { fail "build OCI layout e2e/app"; bail; }
APP_DIGEST=$E2E_IMAGE_MANIFEST_DIGEST
read -ra APP_BLOBS <<<"$E2E_IMAGE_BLOBS"
e2e_log "building image e2e/app2:v1 (3 layers, $BIG_MB MiB random layer)"
e2e_build_image "$WORK/src-app2" v1 app2 "$BIG_MB" || { fail "build OCI layout e2e/app2"; bail; }
APP2_DIGEST=$E2E_IMAGE_MANIFEST_DIGEST
read -ra APP2_BLOBS <<<"$E2E_IMAGE_BLOBS"

# copy_image LOGFILE SRC_REF DEST_DIR — skopeo copy SRC_REF -> oci:DEST_DIR:v1
# Sets COPY_SECS to the time it took.
copy_image() {
    local start=$SECONDS rc
    e2e_skopeo copy --preserve-digests --src-tls-verify=false "$2" "oci:$3:v1" >>"$1" 2>&1
    rc=$?
    COPY_SECS=$((SECONDS - start))
    return "$rc"
}
COPY_SECS=0
push_image() { # LAYOUT REPO
    e2e_skopeo copy --preserve-digests --dest-tls-verify=false \
        "oci:$1:v1" "docker://$REG/$2:v1" >>"$LOGS/skopeo-push.log" 2>&1 &&
        e2e_skopeo inspect --tls-verify=false "docker://$REG/$2:v1" >"$WORK/inspect-${2//\//_}.json" 2>>"$LOGS/skopeo-push.log" &&
        grep -q "\"Digest\": \"$3\"" "$WORK/inspect-${2//\//_}.json"
}
check "push e2e/app:v1 to upstream and skopeo inspect shows $APP_DIGEST" push_image "$WORK/src-app" e2e/app "$APP_DIGEST" || bail
check "push e2e/app2:v1 to upstream and skopeo inspect shows $APP2_DIGEST" push_image "$WORK/src-app2" e2e/app2 "$APP2_DIGEST" || bail

# blob_counts_ok REPO FROM_LINE OP N BLOBS... — every listed blob was fetched
# (GET) from upstream OP N times since FROM_LINE (OP: -le or -eq), and no
# other blob of REPO was fetched. Prints the per-digest counts.
blob_counts_ok() { e2e_blob_counts_ok "$REGISTRY_LOG" "$@"; }
# usum REPO FROM_LINE LABEL — adds a summary line for requests since FROM_LINE
usum() {
    local repo=$1 from=$2 label=$3 bg bd mg mh all
    bg=$(e2e_upstream_count "$REGISTRY_LOG" GET "/v2/$repo/blobs/sha256:[0-9a-f]{64}" "$from")
    bd=$(e2e_upstream_blob_gets "$REGISTRY_LOG" "$repo" "$from" | grep -c . || true)
    mg=$(e2e_upstream_count "$REGISTRY_LOG" GET "/v2/$repo/manifests/[^ ?]+" "$from")
    mh=$(e2e_upstream_count "$REGISTRY_LOG" HEAD "/v2/$repo/manifests/[^ ?]+" "$from")
    all=$(e2e_upstream_count "$REGISTRY_LOG" '[A-Z]+' '/[^ ]*' "$from")
    summary "$(printf '%-52s blob GETs=%s (distinct %s), manifest GET=%s HEAD=%s, all requests=%s' \
        "$label:" "$bg" "$bd" "$mg" "$mh" "$all")"
}

# --------------------------------------------------------------------------
# 2. direct copy from upstream: validates the image and the log counting
# --------------------------------------------------------------------------
MARK=$(e2e_log_mark "$REGISTRY_LOG")
check "direct: skopeo copy docker://$REG/e2e/app:v1 -> oci (no Wharf)" \
    copy_image "$LOGS/skopeo-direct.log" "docker://$REG/e2e/app:v1" "$WORK/out-direct"
check "direct: copied layout has the original manifest digest and blobs, all re-hash" \
    e2e_compare_layout "$WORK/src-app" "$APP_DIGEST" "$WORK/out-direct" v1
check "direct: access log counts exactly 1 upstream GET per blob" \
    blob_counts_ok e2e/app "$MARK" -eq 1 "${APP_BLOBS[@]}"
usum e2e/app "$MARK" "direct skopeo copy (no Wharf, ${COPY_SECS}s), e2e/app"
rm -rf "$WORK/out-direct"

if ((REGISTRY_ONLY)); then
    e2e_log "--registry-only: skipping the Wharf tests"
    DONE=1
    exit 0
fi

# --------------------------------------------------------------------------
# 3. Wharf #1
# --------------------------------------------------------------------------
e2e_free_port WHARF_PORT || { fail "find a free port"; bail; }
MARK=$(e2e_log_mark "$REGISTRY_LOG")
if ! e2e_start_wharf "$REGISTRY_URL" "$WORK/wharf1-storage" "$WHARF_PORT" "$LOGS/wharf1.log"; then
    fail "Wharf starts: GET http://127.0.0.1:$WHARF_PORT/v2/ == 200"
    bail
fi
pass "Wharf starts: GET http://127.0.0.1:$WHARF_PORT/v2/ == 200"
W=127.0.0.1:$WHARF_PORT
usum e2e/app "$MARK" "Wharf startup"

# skopeo/podman (containers/image) with --tls-verify=false always try
# https://HOST/v2/ first and fall back to http only when that fails. A server
# that leaves the TLS ClientHello unanswered costs every client command a 10 s
# TLS handshake timeout; distribution answers it with a 400 and closes at once.
tls_probe_fails_fast() {
    local rc start=$SECONDS
    curl -sk --max-time 5 -o /dev/null "https://$W/v2/"
    rc=$?
    echo "    -> curl https:// on the plain-HTTP port: exit $rc after $((SECONDS - start)) s (28 = timed out)"
    ((rc != 0 && rc != 28))
}
check "f: a TLS ClientHello on the plain-HTTP port is refused at once (clients probe https first)" tls_probe_fails_fast

# a. first pull through Wharf
MARK=$(e2e_log_mark "$REGISTRY_LOG")
check "a: skopeo copy docker://$W/e2e/app:v1 -> oci OUT1 succeeds" \
    copy_image "$LOGS/skopeo-a.log" "docker://$W/e2e/app:v1" "$WORK/out1"
A_SECS=$COPY_SECS
check "a: OUT1 has the original manifest digest and blob set, every blob re-hashes to its name" \
    e2e_compare_layout "$WORK/src-app" "$APP_DIGEST" "$WORK/out1" v1

# b. upstream fetches of the first pull
check "b: first pull fetched each blob from upstream at most once" \
    blob_counts_ok e2e/app "$MARK" -le 1 "${APP_BLOBS[@]}"
usum e2e/app "$MARK" "a/b first pull via Wharf (cold, ${A_SECS}s), e2e/app"

# a (extra): the manifest digest header a client like containerd relies on
manifest_head_ok() {
    local h
    h=$(curl -sS -I --max-time 10 \
        -H 'Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json' \
        "http://$W/v2/e2e/app/manifests/v1" | tr -d '\r')
    echo "$h" | head -n1 | grep -q ' 200' &&
        echo "$h" | grep -qi "^docker-content-digest: $APP_DIGEST\$"
}
check "a: HEAD /v2/e2e/app/manifests/v1 via Wharf -> 200 with Docker-Content-Digest $APP_DIGEST" manifest_head_ok

# c. second pull: served from the cache
MARK=$(e2e_log_mark "$REGISTRY_LOG")
check "c: second skopeo copy -> oci OUT2 succeeds" \
    copy_image "$LOGS/skopeo-c.log" "docker://$W/e2e/app:v1" "$WORK/out2"
C_SECS=$COPY_SECS
check "c: OUT2 has identical digests" \
    e2e_compare_layout "$WORK/src-app" "$APP_DIGEST" "$WORK/out2" v1
check "c: second pull made zero upstream blob GETs" \
    blob_counts_ok e2e/app "$MARK" -eq 0 "${APP_BLOBS[@]}"
usum e2e/app "$MARK" "c second pull via Wharf (warm, ${C_SECS}s), e2e/app"
rm -rf "$WORK/out1" "$WORK/out2"

# e. bad input
MARK=$(e2e_log_mark "$REGISTRY_LOG")
# bad_request EXPECTED_CODES_ERE BODY_ERE CURL_ARGS... — status and body check
bad_request() {
    local codes=$1 body_re=$2 code; shift 2
    code=$(curl -sS --path-as-is --max-time 10 -o "$WORK/body" -w '%{http_code}' "$@") || return 1
    echo "    -> HTTP $code, body: $(head -c 200 "$WORK/body" | tr -d '\n')"
    [[ $code =~ ^($codes)$ ]] && grep -qE "$body_re" "$WORK/body"
}
check "e: GET /v2/e2e/../etc/manifests/latest -> 400/404 with JSON errors" \
    bad_request '400|404' '"errors"' "http://$W/v2/e2e/../etc/manifests/latest"
check "e: GET /v2/e2e/%2e%2e/etc/manifests/latest -> 400/404 with JSON errors" \
    bad_request '400|404' '"errors"' "http://$W/v2/e2e/%2e%2e/etc/manifests/latest"
check "e: GET /v2/../../etc/passwd -> 400/404 with JSON errors" \
    bad_request '400|404' '"errors"' "http://$W/v2/../../etc/passwd"
check "e: GET /v2/e2e/app/blobs/sha256:not-a-digest -> 400/404 with JSON errors" \
    bad_request '400|404' '"errors"' "http://$W/v2/e2e/app/blobs/sha256:not-a-digest"
check "e: PUT to a blob upload URL -> 405 UNSUPPORTED" \
    bad_request '405' 'UNSUPPORTED' -X PUT -H 'Content-Type: application/octet-stream' --data-binary 'x' \
    "http://$W/v2/e2e/app/blobs/uploads/0b4c2f5e-6a2e-4c59-9a43-1c3e3f5e0d1a?digest=sha256:2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"
check "e: POST /v2/e2e/app/blobs/uploads/ -> 405 UNSUPPORTED" \
    bad_request '405' 'UNSUPPORTED' -X POST "http://$W/v2/e2e/app/blobs/uploads/"
no_traversal_upstream() {
    ! tail -n +"$MARK" "$REGISTRY_LOG" | grep -E '^[0-9.]+ - ' |
        grep -iE '"[A-Z]+ [^ ]*(\.\.|%2e%2e|/etc/|/uploads)' >&2
}
check "e: none of the bad requests reached upstream as traversal or upload" no_traversal_upstream
usum e2e/app "$MARK" "e bad-input requests"

e2e_stop_pid "$WHARF_PID"

# d. concurrency on a fresh cache with the 30 MB image
e2e_free_port WHARF2_PORT || { fail "find a free port"; bail; }
if ! e2e_start_wharf "$REGISTRY_URL" "$WORK/wharf2-storage" "$WHARF2_PORT" "$LOGS/wharf2.log"; then
    fail "d: fresh Wharf starts on 127.0.0.1:$WHARF2_PORT"
    bail
fi
W2=127.0.0.1:$WHARF2_PORT
MARK=$(e2e_log_mark "$REGISTRY_LOG")
e2e_log "d: $PARALLEL parallel skopeo copies of e2e/app2:v1 through a fresh Wharf"
PAR_PIDS=()
D_START=$SECONDS
for ((i = 1; i <= PARALLEL; i++)); do
    timeout "${E2E_SKOPEO_TIMEOUT:-180}" skopeo --insecure-policy copy --preserve-digests --src-tls-verify=false \
        "docker://$W2/e2e/app2:v1" "oci:$WORK/outd-$i:v1" >"$LOGS/skopeo-d$i.log" 2>&1 </dev/null &
    PAR_PIDS+=($!)
done
par_ok=0
for ((i = 1; i <= PARALLEL; i++)); do
    wait "${PAR_PIDS[i - 1]}"
    rc=$?
    if ((rc != 0)); then
        echo "    client $i exited $rc"
        par_ok=1
    fi
done
PAR_PIDS=()
D_SECS=$((SECONDS - D_START))
check "d: $PARALLEL parallel skopeo copies of e2e/app2:v1 all succeed" test $par_ok -eq 0
par_digests_ok() {
    local i ok=0
    for ((i = 1; i <= PARALLEL; i++)); do
        e2e_compare_layout "$WORK/src-app2" "$APP2_DIGEST" "$WORK/outd-$i" v1 || { echo "    client $i: wrong content"; ok=1; }
    done
    return "$ok"
}
check "d: every parallel copy has the original digests and blobs re-hash" par_digests_ok
check "d: upstream GETs per blob digest == 1 despite $PARALLEL concurrent clients" \
    blob_counts_ok e2e/app2 "$MARK" -eq 1 "${APP2_BLOBS[@]}"
usum e2e/app2 "$MARK" "d $PARALLEL parallel pulls (fresh cache, ${D_SECS}s), e2e/app2"

# --------------------------------------------------------------------------
# g. TLS: a Wharf with a certificate from a throwaway CA; skopeo verifies it
# --------------------------------------------------------------------------
G_DIR=$WORK/tls
mkdir -p "$G_DIR/certs"
if timeout 60 openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=wharf-e2e" \
        -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
        -keyout "$G_DIR/tls.key" -out "$G_DIR/tls.crt" >"$LOGS/openssl.log" 2>&1; then
    cp "$G_DIR/tls.crt" "$G_DIR/certs/ca.crt"
    e2e_free_port TLS_PORT || { fail "find a free port"; bail; }
    cat >"$G_DIR/wharf.yaml" <<EOF
listen: 127.0.0.1:$TLS_PORT
upstreams:
  - name: reg          # not "e2e": a first path segment equal to an upstream name selects it
    url: $REGISTRY_URL
storage:
  tiers:
    - path: $WORK/wharf-tls-storage
server:
  tls:
    certificate: $G_DIR/tls.crt
    key: $G_DIR/tls.key
EOF
    # shellcheck disable=SC2086 # WHARF_JAVA_OPTS is a list of flags
    e2e_spawn "$LOGS/wharf-tls.log" java ${WHARF_JAVA_OPTS:-} -jar "$WHARF_JAR" serve --config "$G_DIR/wharf.yaml"
    TLS_PID=$E2E_LAST_PID
    tls_up() {
        local i
        for ((i = 0; i < 300; i++)); do
            kill -0 "$TLS_PID" 2>/dev/null || return 1
            [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 --cacert "$G_DIR/tls.crt" \
                "https://127.0.0.1:$TLS_PORT/v2/") == 200 ]] && return 0
            sleep 0.2
        done
        return 1
    }
    check "g: Wharf with server.tls answers GET https://127.0.0.1:$TLS_PORT/v2/ (CA-verified curl)" tls_up
    tls_pull() {
        timeout "${E2E_SKOPEO_TIMEOUT:-180}" skopeo --insecure-policy copy --preserve-digests \
            --src-cert-dir "$G_DIR/certs" "docker://127.0.0.1:$TLS_PORT/e2e/app:v1" "oci:$WORK/outg:v1" \
            >"$LOGS/skopeo-g.log" 2>&1 </dev/null &&
            e2e_compare_layout "$WORK/src-app" "$APP_DIGEST" "$WORK/outg" v1
    }
    check "g: skopeo pulls e2e/app:v1 over TLS, verifying the certificate with --src-cert-dir; digests match" tls_pull
    tls_untrusted_refused() {
        ! timeout 60 skopeo --insecure-policy inspect --raw "docker://127.0.0.1:$TLS_PORT/e2e/app:v1" \
            >"$LOGS/skopeo-g-untrusted.log" 2>&1 </dev/null
    }
    check "g: a client that does not trust the certificate is refused" tls_untrusted_refused
    e2e_stop_pid "$TLS_PID"
else
    fail "g: openssl makes a test certificate"
fi

# --------------------------------------------------------------------------
# p. prefetch through the admin API (`wharf prefetch`), then a pull that needs no upstream
# --------------------------------------------------------------------------
P_DIR=$WORK/prefetch
mkdir -p "$P_DIR"
e2e_free_port P_PORT || { fail "find a free port"; bail; }
e2e_free_port P_ADMIN || { fail "find a free port"; bail; }
printf 'e2e-admin-token\n' >"$P_DIR/token"
cat >"$P_DIR/wharf.yaml" <<EOF
listen: 127.0.0.1:$P_PORT
admin:
  listen: 127.0.0.1:$P_ADMIN
  tokenFile: $P_DIR/token
upstreams:
  - name: reg
    url: $REGISTRY_URL
storage:
  tiers:
    - path: $P_DIR/storage
EOF
if e2e_start_wharf_config "$P_DIR/wharf.yaml" "$P_PORT" "$LOGS/wharf-prefetch.log"; then
    P_PID=$WHARF_PID
    prefetch() { # REF... — wharf prefetch against this instance
        timeout 120 java -jar "$WHARF_JAR" prefetch --admin-url "http://127.0.0.1:$P_ADMIN" \
            --token-file "$P_DIR/token" "$@" </dev/null
    }
    check "p: wharf prefetch $REG/e2e/app:v1 exits 0 (registry host selects the upstream)" \
        prefetch "$REG/e2e/app:v1"
    MARK=$(e2e_log_mark "$REGISTRY_LOG")
    p_pull() {
        timeout "${E2E_SKOPEO_TIMEOUT:-180}" skopeo --insecure-policy copy --preserve-digests \
            --src-tls-verify=false "docker://127.0.0.1:$P_PORT/e2e/app:v1" "oci:$WORK/outp:v1" \
            >"$LOGS/skopeo-p.log" 2>&1 </dev/null &&
            e2e_compare_layout "$WORK/src-app" "$APP_DIGEST" "$WORK/outp" v1
    }
    check "p: skopeo pulls the prefetched e2e/app:v1 through Wharf; digests match" p_pull
    check "p: that pull fetched no blob from upstream" \
        blob_counts_ok e2e/app "$MARK" -eq 0 "${APP_BLOBS[@]}"
    p_unknown_fails() {
        prefetch "$REG/e2e/nosuch:v1" >"$LOGS/prefetch-unknown.log" 2>&1
        [[ $? -eq 1 ]] && grep -q 'error: .*e2e/nosuch:v1' "$LOGS/prefetch-unknown.log"
    }
    check "p: wharf prefetch of an unknown image exits 1 and prints the error" p_unknown_fails
    p_needs_token() {
        [[ $(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$P_ADMIN/admin/gc") == 401 ]]
    }
    check "p: the admin API refuses a request without the token (401)" p_needs_token
    e2e_stop_pid "$P_PID"
else
    fail "p: Wharf with an admin listener starts on 127.0.0.1:$P_PORT"
fi

DONE=1
exit 0

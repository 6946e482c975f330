# shellcheck shell=bash
# Reusable helpers for Wharf's real-client end-to-end suites.
#
#   source "$(dirname "$0")/lib.sh"
#
# Everything here talks to 127.0.0.1 only. Functions never kill anything they
# did not start: processes started through e2e_spawn are recorded in
# E2E_PIDS and stopped (by PID) by e2e_stop_all.
#
# Conventions: functions print diagnostics on stderr, return non-zero on
# failure and set documented globals for their results (bash has no tuples).

E2E_PIDS=()          # PIDs started by e2e_spawn, stopped by e2e_stop_all
E2E_USED_PORTS=" "   # ports already handed out by e2e_free_port in this shell
E2E_CREATED_POLICY_RC=0

e2e_log()  { printf '[e2e %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
e2e_warn() { printf '[e2e %(%H:%M:%S)T] WARN: %s\n' -1 "$*" >&2; }

# ---------------------------------------------------------------------------
# Dependencies
# ---------------------------------------------------------------------------

# e2e_install_deps CMD:PKG ...   e.g. e2e_install_deps docker-registry:docker-registry skopeo:skopeo curl:curl
# Installs the Debian packages whose command is missing. Non-interactive and
# idempotent. Package maintainer scripts are prevented from starting services
# (notably docker-registry's own instance on :5000) with a policy-rc.d that
# exits 101; the policy file is removed afterwards only if we created it.
e2e_install_deps() {
    local pkgs=() spec cmd pkg
    for spec in "$@"; do
        cmd=${spec%%:*}; pkg=${spec#*:}
        if [[ $cmd == /* ]]; then [[ -x $cmd ]] && continue
        else command -v "$cmd" >/dev/null 2>&1 && continue; fi
        pkgs+=("$pkg")
    done
    ((${#pkgs[@]})) || return 0
    if [[ $(id -u) != 0 ]]; then
        e2e_warn "missing packages ${pkgs[*]} and not root; install them first"
        return 1
    fi
    e2e_log "installing: ${pkgs[*]}"
    local policy=/usr/sbin/policy-rc.d rc=0
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\n# temporary: written by wharf e2e/lib.sh, removed after install\nexit 101\n' >"$policy"
        chmod 755 "$policy"
        E2E_CREATED_POLICY_RC=1
    fi
    export DEBIAN_FRONTEND=noninteractive
    timeout 300 apt-get update -qq >&2 || rc=$?
    if ((rc == 0)); then
        timeout 600 apt-get install -y -q --no-install-recommends \
            -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
            "${pkgs[@]}" >&2 || rc=$?
    fi
    e2e_remove_policy_rc
    return $rc
}

e2e_remove_policy_rc() {
    if ((E2E_CREATED_POLICY_RC)); then
        rm -f /usr/sbin/policy-rc.d
        E2E_CREATED_POLICY_RC=0
    fi
}

# ---------------------------------------------------------------------------
# Ports, processes, HTTP
# ---------------------------------------------------------------------------

# Prints the set of TCP ports in LISTEN state (decimal, one per line).
_e2e_listening_ports() {
    local f
    for f in /proc/net/tcp /proc/net/tcp6; do
        [[ -r $f ]] || continue
        # columns: sl local_address rem_address st ...; st 0A == LISTEN
        while read -r _ local _ st _; do
            [[ $st == 0A ]] && printf '%d\n' "0x${local##*:}"
        done < <(tail -n +2 "$f")
    done
}

# e2e_free_port [VAR]: a TCP port that nothing listens on, never 5000 and
# never one handed out before by this shell; stored in VAR, else printed.
# Prefer the VAR form: $(e2e_free_port) runs in a subshell, which cannot
# remember the ports it handed out. Pure bash (no python needed).
e2e_free_port() {
    local listening port i lo=20000 span=40000 eph_lo=""
    listening=" $(_e2e_listening_ports | tr '\n' ' ') "
    # Stay below the kernel's ephemeral range (usually 32768-60999): a port
    # from it can be taken by any outgoing connection between our pick and
    # the server's bind (seen: Wharf's slow start-up -> "Address already in use").
    read -r eph_lo _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || eph_lo=""
    if [[ $eph_lo =~ ^[0-9]+$ ]] && ((eph_lo > lo + 2000)); then span=$((eph_lo - lo)); fi
    for ((i = 0; i < 200; i++)); do
        port=$((lo + (RANDOM * 32768 + RANDOM) % span))
        [[ $port == 5000 ]] && continue
        [[ $listening == *" $port "* ]] && continue
        [[ $E2E_USED_PORTS == *" $port "* ]] && continue
        # belt and braces: nobody answers on it
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then continue; fi
        E2E_USED_PORTS+="$port "
        if [[ -n ${1:-} ]]; then printf -v "$1" '%s' "$port"; else echo "$port"; fi
        return 0
    done
    e2e_warn "no free port found"
    return 1
}

# e2e_spawn LOGFILE CMD ARGS...  — starts CMD in the background with stdout and
# stderr appended to LOGFILE; sets E2E_LAST_PID and records it in E2E_PIDS.
e2e_spawn() {
    local logfile=$1; shift
    "$@" >>"$logfile" 2>&1 </dev/null 8>&- 9>&- &
    E2E_LAST_PID=$!
    E2E_PIDS+=("$E2E_LAST_PID")
}

# _e2e_is_our_child PID — true if PID is alive and its parent is this shell
# (guards against signalling a recycled PID).
_e2e_is_our_child() {
    local stat rest ppid
    { stat=$(<"/proc/$1/stat"); } 2>/dev/null || return 1
    rest=${stat##*) }
    read -r _ ppid _ <<<"$rest"
    [[ $ppid == "$$" || $ppid == "${BASHPID:-$$}" ]]
}

# e2e_stop_pid PID — TERM, wait up to 10 s, then KILL. Only for PIDs we started.
e2e_stop_pid() {
    local pid=$1 i
    _e2e_is_our_child "$pid" || { wait "$pid" 2>/dev/null; return 0; }
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        e2e_warn "pid $pid ignored SIGTERM; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
    return 0
}

# Stops every process started with e2e_spawn, newest first.
e2e_stop_all() {
    local i
    for ((i = ${#E2E_PIDS[@]} - 1; i >= 0; i--)); do
        e2e_stop_pid "${E2E_PIDS[i]}"
    done
    E2E_PIDS=()
}

# e2e_wait_http URL [TIMEOUT_SECONDS=60] [PID] [EXPECTED_CODE=200]
# Polls URL until it answers EXPECTED_CODE; gives up early if PID died.
e2e_wait_http() {
    local url=$1 limit=${2:-60} pid=${3:-} want=${4:-200} code deadline
    deadline=$((SECONDS + limit))
    while ((SECONDS < deadline)); do
        if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then
            e2e_warn "process $pid exited while waiting for $url"
            return 1
        fi
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url" 2>/dev/null) || true
        [[ $code == "$want" ]] && return 0
        sleep 0.2
    done
    e2e_warn "timed out after ${limit}s waiting for $url to answer $want (last: ${code:-none})"
    return 1
}

# e2e_tail_log FILE [LINES=40] — prints the tail of a log, framed.
e2e_tail_log() {
    local f=$1 n=${2:-40}
    [[ -f $f ]] || return 0
    echo "----- last $n lines of $f -----"
    tail -n "$n" "$f"
    echo "----- end of $f -----"
}

# ---------------------------------------------------------------------------
# Upstream registry (Debian's docker-registry = CNCF distribution 2.8)
# ---------------------------------------------------------------------------

# e2e_start_registry DIR PORT [LOGFILE=DIR/registry.log] [HTPASSWD_FILE]
# Writes DIR/config.yml, stores blobs under DIR/storage, logs to LOGFILE
# (access log on: one Apache "combined" line per request, on stdout) and waits
# for GET /v2/ to answer 200 (401 when HTPASSWD_FILE is given: the registry
# then demands HTTP Basic auth checked against that bcrypt htpasswd file).
# Sets REGISTRY_PID, REGISTRY_URL, REGISTRY_LOG.
e2e_start_registry() {
    local dir=$1 port=$2 htpasswd=${4:-} auth="" want=200
    REGISTRY_LOG=${3:-$dir/registry.log}
    mkdir -p "$dir/storage"
    if [[ -n $htpasswd ]]; then
        auth=$'auth:\n  htpasswd:\n    realm: wharf-e2e\n    path: '"$htpasswd"
        want=401
    fi
    cat >"$dir/config.yml" <<EOF
version: 0.1
log:
  level: info
  formatter: text
  accesslog:
    disabled: false
  fields:
    service: e2e-upstream
storage:
  filesystem:
    rootdirectory: $dir/storage
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:$port
  secret: wharf-e2e-not-a-secret
  headers:
    X-Content-Type-Options: [nosniff]
$auth
EOF
    REGISTRY_URL=http://127.0.0.1:$port
    : >"$REGISTRY_LOG"
    # REGISTRY_* variables in the environment would override the config file.
    local unset=() v
    for v in $(compgen -e); do [[ $v == REGISTRY_* ]] && unset+=(-u "$v"); done
    e2e_spawn "$REGISTRY_LOG" env "${unset[@]}" /usr/bin/docker-registry serve "$dir/config.yml"
    REGISTRY_PID=$E2E_LAST_PID
    e2e_wait_http "$REGISTRY_URL/v2/" 30 "$REGISTRY_PID" "$want"
}

# e2e_upstream_blob_gets LOG REPO [FROM_LINE=1]
# Prints "COUNT DIGEST" for every GET of /v2/REPO/blobs/sha256:... in the
# registry's access log, from line FROM_LINE on (1-based). Access log lines
# look like:
# 127.0.0.1 - - [03/Dec/2025:14:00:00 +0000] "GET /v2/e2e/app/blobs/sha256:<hex> HTTP/1.1" 200 1234 "" "skopeo/1.9.3"
e2e_upstream_blob_gets() {
    local log=$1 repo=$2 from=${3:-1}
    tail -n +"$from" "$log" |
        grep -oE "\"GET /v2/${repo}/blobs/sha256:[0-9a-f]{64}[ ?]" |
        grep -oE 'sha256:[0-9a-f]{64}' | sort | uniq -c | sed 's/^ *//'
}

# e2e_upstream_count LOG METHOD PATH_REGEX [FROM_LINE=1] — counts access-log
# requests whose method is METHOD and whose request path matches the ERE.
e2e_upstream_count() {
    local log=$1 method=$2 re=$3 from=${4:-1}
    tail -n +"$from" "$log" | grep -cE "\"${method} ${re}[ ?]" || true
}

# e2e_blob_counts_ok LOG REPO FROM OP N BLOBS... — every listed blob was fetched
# (GET) from the registry OP N times since FROM, and no other blob of REPO.
e2e_blob_counts_ok() {
    local log=$1 repo=$2 from=$3 op=$4 n=$5; shift 5
    local counts d c ok=0
    counts=$(e2e_upstream_blob_gets "$log" "$repo" "$from")
    for d in "$@"; do
        c=$(awk -v d="$d" '$2 == d {print $1}' <<<"$counts")
        c=${c:-0}
        echo "    upstream GET /v2/$repo/blobs/${d:0:19}... : $c"
        test "$c" "$op" "$n" || ok=1
    done
    while read -r c d; do
        [[ -z $d || " $* " == *" $d "* ]] || { echo "    unexpected blob fetched ($c x): $d"; ok=1; }
    done <<<"$counts"
    return "$ok"
}

# Number of the next line that will be appended to FILE (for FROM_LINE).
e2e_log_mark() { echo $(($(wc -l <"$1") + 1)); }

# ---------------------------------------------------------------------------
# Wharf
# ---------------------------------------------------------------------------

# e2e_ensure_wharf_jar ROOT — builds ROOT/proxy-server/target/wharf.jar with
# the Maven wrapper when WHARF_JAR is missing. Sets WHARF_JAR.
e2e_ensure_wharf_jar() {
    local root=$1
    WHARF_JAR=${WHARF_JAR:-$root/proxy-server/target/wharf.jar}
    [[ -f $WHARF_JAR ]] && return 0
    if [[ ! -x $root/mvnw ]]; then
        e2e_warn "$WHARF_JAR is missing and there is no $root/mvnw to build it"
        return 1
    fi
    e2e_log "building Wharf (./mvnw -q -B -DskipTests package)"
    (cd "$root" && timeout "${E2E_BUILD_TIMEOUT:-600}" ./mvnw -q -B -DskipTests package) >&2 || {
        e2e_warn "Maven build failed"
        return 1
    }
    [[ -f $WHARF_JAR ]] || { e2e_warn "build finished but $WHARF_JAR does not exist"; return 1; }
}

# e2e_start_wharf UPSTREAM_URL STORAGE_DIR PORT LOGFILE
# Runs `java -jar $WHARF_JAR serve ...` and waits for GET /v2/ == 200.
# Extra JVM flags: WHARF_JAVA_OPTS; extra serve flags (e.g. --access-log):
# WHARF_SERVE_OPTS. Sets WHARF_PID and WHARF_URL.
e2e_start_wharf() {
    local upstream=$1 storage=$2 port=$3 log=$4
    mkdir -p "$storage"
    WHARF_URL=http://127.0.0.1:$port
    # shellcheck disable=SC2086 # WHARF_JAVA_OPTS, WHARF_SERVE_OPTS are lists of flags
    e2e_spawn "$log" java ${WHARF_JAVA_OPTS:-} -jar "$WHARF_JAR" serve \
        --upstream "$upstream" --storage "$storage" --listen "127.0.0.1:$port" ${WHARF_SERVE_OPTS:-}
    WHARF_PID=$E2E_LAST_PID
    e2e_wait_http "$WHARF_URL/v2/" "${E2E_WHARF_START_TIMEOUT:-90}" "$WHARF_PID"
}

# e2e_start_wharf_config CONFIG_FILE PORT LOGFILE
# Like e2e_start_wharf, but `serve --config CONFIG_FILE` (the file must listen
# on 127.0.0.1:PORT). Honours WHARF_JAVA_OPTS and WHARF_SERVE_OPTS.
# Sets WHARF_PID and WHARF_URL.
e2e_start_wharf_config() {
    local config=$1 port=$2 log=$3
    WHARF_URL=http://127.0.0.1:$port
    # shellcheck disable=SC2086 # WHARF_JAVA_OPTS, WHARF_SERVE_OPTS are lists of flags
    e2e_spawn "$log" java ${WHARF_JAVA_OPTS:-} -jar "$WHARF_JAR" serve --config "$config" ${WHARF_SERVE_OPTS:-}
    WHARF_PID=$E2E_LAST_PID
    e2e_wait_http "$WHARF_URL/v2/" "${E2E_WHARF_START_TIMEOUT:-90}" "$WHARF_PID"
}

# ---------------------------------------------------------------------------
# OCI image layouts built by hand (no network, no docker)
# ---------------------------------------------------------------------------

# _e2e_blob_put LAYOUT FILE — moves FILE into LAYOUT/blobs/sha256 under its
# digest; sets _DIGEST (sha256:hex) and _SIZE.
_e2e_blob_put() {
    local layout=$1 f=$2 hex
    hex=$(sha256sum "$f" | cut -d' ' -f1)
    _SIZE=$(stat -c %s "$f")
    _DIGEST=sha256:$hex
    mv -f "$f" "$layout/blobs/sha256/$hex"
}

# _e2e_pseudo_random SEED BYTES — deterministic incompressible bytes on stdout
# (AES-CTR keystream when openssl exists, else /dev/urandom).
_e2e_pseudo_random() {
    local seed=$1 n=$2
    if command -v openssl >/dev/null 2>&1; then
        local key
        key=$(printf '%s' "$seed" | sha256sum | cut -c1-32)
        head -c "$n" /dev/zero | openssl enc -aes-128-ctr -nosalt -K "$key" -iv 00000000000000000000000000000000 2>/dev/null
    else
        head -c "$n" /dev/urandom
    fi
}

# e2e_build_image LAYOUT TAG SEED BIGLAYER_MB [ARCH=amd64]
# Creates (or adds to) an OCI image layout at LAYOUT holding a linux/ARCH
# image tagged TAG with 3 gzip layers:
#   1. a small "base" tree of text files,
#   2. BIGLAYER_MB MiB of deterministic pseudo-random data (streaming matters),
#   3. a small "app" layer (differs by SEED).
# SEED makes blobs distinct between images. Sets E2E_IMAGE_MANIFEST_DIGEST and
# E2E_IMAGE_BLOBS (space-separated digests of config + layers).
e2e_build_image() {
    local layout=$1 tag=$2 seed=$3 big_mb=${4:-4} arch=${5:-amd64}
    local work i layer_descs="" diff_ids="" history="" blobs=""
    mkdir -p "$layout/blobs/sha256"
    work=$(mktemp -d "${TMPDIR:-/tmp}/e2e-build.XXXXXX") || return 1

    # layer trees
    mkdir -p "$work/l1/etc" "$work/l1/usr/share/e2e" "$work/l2/opt/data" "$work/l3/app"
    printf 'ID=wharf-e2e\nNAME="Wharf e2e base"\nVERSION_ID=1\n' >"$work/l1/etc/os-release"
    for ((i = 0; i < 50; i++)); do
        printf 'file %d of the base layer, seed %s\n' "$i" "$seed" >"$work/l1/usr/share/e2e/f$i.txt"
    done
    _e2e_pseudo_random "$seed-big" $((big_mb * 1024 * 1024)) >"$work/l2/opt/data/blob.bin"
    printf '#!/bin/sh\necho "hello from %s"\n' "$seed" >"$work/l3/app/run.sh"
    chmod 755 "$work/l3/app/run.sh"
    _e2e_pseudo_random "$seed-small" 65536 >"$work/l3/app/asset.bin"

    for i in 1 2 3; do
        # reproducible tar: fixed order, mtime and ownership
        tar --sort=name --mtime='@0' --owner=0 --group=0 --numeric-owner \
            --format=posix --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
            -C "$work/l$i" -cf "$work/layer$i.tar" . || { rm -rf "$work"; return 1; }
        diff_ids+="${diff_ids:+,}\"sha256:$(sha256sum "$work/layer$i.tar" | cut -d' ' -f1)\""
        gzip -n -6 -c "$work/layer$i.tar" >"$work/layer$i.tar.gz"
        _e2e_blob_put "$layout" "$work/layer$i.tar.gz"
        layer_descs+="${layer_descs:+,}{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"$_DIGEST\",\"size\":$_SIZE}"
        history+="${history:+,}{\"created\":\"1970-01-01T00:00:00Z\",\"created_by\":\"wharf e2e layer $i\"}"
        blobs+=" $_DIGEST"
    done

    printf '{"created":"1970-01-01T00:00:00Z","architecture":"%s","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["/app/run.sh"],"Labels":{"wharf.e2e.seed":"%s"}},"rootfs":{"type":"layers","diff_ids":[%s]},"history":[%s]}' \
        "$arch" "$seed" "$diff_ids" "$history" >"$work/config.json"
    _e2e_blob_put "$layout" "$work/config.json"
    local config_desc="{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"$_DIGEST\",\"size\":$_SIZE}"
    blobs="$_DIGEST$blobs"

    printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":%s,"layers":[%s]}' \
        "$config_desc" "$layer_descs" >"$work/manifest.json"
    _e2e_blob_put "$layout" "$work/manifest.json"
    # shellcheck disable=SC2034 # results for the caller
    E2E_IMAGE_MANIFEST_DIGEST=$_DIGEST
    # shellcheck disable=SC2034
    E2E_IMAGE_BLOBS=$blobs
    local mdesc="{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"$_DIGEST\",\"size\":$_SIZE,\"annotations\":{\"org.opencontainers.image.ref.name\":\"$tag\"}}"

    # index.json: keep other tags already in the layout (one descriptor per line)
    local others=""
    if [[ -f $layout/index.json ]]; then
        others=$(grep -oE '\{"mediaType":"[^"]*","digest":"[^"]*","size":[0-9]+,"annotations":\{"org.opencontainers.image.ref.name":"[^"]*"\}\}' "$layout/index.json" |
            grep -vF "\"org.opencontainers.image.ref.name\":\"$tag\"" | paste -sd, -)
    fi
    printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[%s%s]}\n' \
        "${others:+$others,}" "$mdesc" >"$layout/index.json"
    printf '{"imageLayoutVersion":"1.0.0"}\n' >"$layout/oci-layout"
    rm -rf "$work"
}

# e2e_build_index LAYOUT TAG MANIFEST_DIGEST=OS/ARCH ...
# Writes an OCI image index (a multi-platform image) blob into LAYOUT that
# references image manifests already in LAYOUT (e.g. made by e2e_build_image
# with ARCH), one per platform, and tags it TAG in LAYOUT/index.json (other
# tags are kept). Push it with
#   skopeo copy --all --preserve-digests oci:LAYOUT:TAG docker://...
# Sets E2E_INDEX_DIGEST.
e2e_build_index() {
    local layout=$1 tag=$2 spec d plat descs="" f size tmp others=""; shift 2
    for spec in "$@"; do
        d=${spec%%=*}; plat=${spec#*=}
        f=$layout/blobs/sha256/${d#sha256:}
        [[ -f $f ]] || { e2e_warn "e2e_build_index: $d not in $layout"; return 1; }
        size=$(stat -c %s "$f")
        descs+="${descs:+,}{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"$d\",\"size\":$size,\"platform\":{\"architecture\":\"${plat#*/}\",\"os\":\"${plat%%/*}\"}}"
    done
    tmp=$(mktemp "${TMPDIR:-/tmp}/e2e-index.XXXXXX") || return 1
    printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[%s]}' "$descs" >"$tmp"
    _e2e_blob_put "$layout" "$tmp"
    # shellcheck disable=SC2034 # result for the caller
    E2E_INDEX_DIGEST=$_DIGEST
    if [[ -f $layout/index.json ]]; then
        others=$(grep -oE '\{"mediaType":"[^"]*","digest":"[^"]*","size":[0-9]+,"annotations":\{"org.opencontainers.image.ref.name":"[^"]*"\}\}' "$layout/index.json" |
            grep -vF "\"org.opencontainers.image.ref.name\":\"$tag\"" | paste -sd, -)
    fi
    printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[%s{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"%s"}}]}\n' \
        "${others:+$others,}" "$_DIGEST" "$_SIZE" "$tag" >"$layout/index.json"
    printf '{"imageLayoutVersion":"1.0.0"}\n' >"$layout/oci-layout"
}

# ---------------------------------------------------------------------------
# skopeo + OCI layout checks
# ---------------------------------------------------------------------------

# skopeo with a permissive signature policy of our own (never depends on
# /etc/containers/policy.json) and no retries (so flakiness shows).
e2e_skopeo() {
    timeout "${E2E_SKOPEO_TIMEOUT:-180}" skopeo --insecure-policy "$@"
}

# e2e_layout_manifest_digest LAYOUT [TAG] — digest of the manifest tagged TAG
# (or the only/first one) in LAYOUT/index.json.
e2e_layout_manifest_digest() {
    local layout=$1 tag=${2:-}
    if [[ -n $tag ]]; then
        grep -oE '\{[^{}]*"digest":"sha256:[0-9a-f]{64}"[^{}]*\{"org.opencontainers.image.ref.name":"'"$tag"'"\}' "$layout/index.json" |
            grep -oE 'sha256:[0-9a-f]{64}' | head -n1
    else
        grep -oE 'sha256:[0-9a-f]{64}' "$layout/index.json" | head -n1
    fi
}

# e2e_layout_blob_list LAYOUT — sorted list of blob file names.
e2e_layout_blob_list() { (cd "$1/blobs/sha256" && find . -maxdepth 1 -type f -printf '%f\n' | sort); }

# e2e_layout_verify_hashes LAYOUT — every blob's sha256 equals its file name.
e2e_layout_verify_hashes() {
    local f bad=0
    for f in "$1"/blobs/sha256/*; do
        [[ -f $f ]] || { bad=1; continue; }
        if [[ $(sha256sum "$f" | cut -d' ' -f1) != "${f##*/}" ]]; then
            e2e_warn "blob $f does not match its digest"
            bad=1
        fi
    done
    return $bad
}

# e2e_blobs_of_manifest LAYOUT DIGEST — the config + layer digests a manifest
# references, one per line.
e2e_blobs_of_manifest() {
    grep -oE 'sha256:[0-9a-f]{64}' "$1/blobs/sha256/${2#sha256:}" | sort -u
}

# e2e_compare_layout EXPECTED_LAYOUT MANIFEST_DIGEST GOT_LAYOUT [TAG]
# The copy holds exactly the blobs of that one image (manifest + config +
# layers), with the same manifest digest, and every blob re-hashes right.
e2e_compare_layout() {
    local want=$1 mdigest=$2 got=$3 tag=${4:-} gotm want_list got_list
    gotm=$(e2e_layout_manifest_digest "$got" "$tag")
    if [[ $gotm != "$mdigest" ]]; then
        e2e_warn "manifest digest: want $mdigest got ${gotm:-none}"
        return 1
    fi
    want_list=$( { echo "${mdigest#sha256:}"; e2e_blobs_of_manifest "$want" "$mdigest" | sed 's/^sha256://'; } | sort -u)
    got_list=$(e2e_layout_blob_list "$got")
    if [[ $want_list != "$got_list" ]]; then
        e2e_warn "blob lists differ:"
        diff <(echo "$want_list") <(echo "$got_list") >&2
        return 1
    fi
    e2e_layout_verify_hashes "$got"
}

#!/usr/bin/env bash
# Builds Wharf's container image without a Docker daemon and without Docker
# Hub: a Debian root made by debootstrap (minbase + Debian's headless JRE 17),
# the runnable jar, and the same user, volume, entry point, health check and
# default command as deploy/container/Dockerfile, assembled with buildah
# (vfs storage, no daemon) and committed in Docker format (which keeps the
# HEALTHCHECK). Then, unless --no-smoke, a smoke test with podman: start the
# image on a loopback port, GET /healthz, /readyz and /v2/, run its health
# check, stop it by its id.
#
# Usage (as root, from anywhere in the repository):
#   deploy/container/build-local.sh [--tag NAME:TAG] [--root DIR] [--archive FILE] [--no-smoke]
#     --tag NAME:TAG   image name (default localhost/wharf:<project version>)
#     --root DIR       private containers-storage root for buildah and podman
#                      (default: the system store, /var/lib/containers/storage)
#     --archive FILE   also write the image as a docker-archive tarball
#                      (`docker load -i FILE` / `podman load -i FILE` elsewhere)
#     --no-smoke       build only
#     --dockerfile     build deploy/container/Dockerfile itself with `buildah bud` (its Maven
#                      wrapper stage downloads Maven and the dependencies from Maven Central),
#                      with local Debian bases (JDK 17 for the build stage, JRE 17 for the
#                      runtime) in place of the Docker Hub ones; the same smoke test follows
# Environment:
#   WHARF_JAR            jar to put in the image (default proxy-server/target/wharf.jar,
#                        built with the Maven wrapper when missing)
#   WHARF_IMAGE_CACHE    where the Debian root is kept between builds (default
#                        /var/tmp/wharf-image); delete it to pick up Debian updates
#   DEBIAN_MIRROR        Debian archive URL (default: the first one in this machine's apt sources)
#   DEBIAN_SUITE         default bookworm
#   WHARF_STORAGE_DRIVER containers-storage driver for buildah and podman (default vfs)
#
# Installs buildah, debootstrap and podman with apt-get when they are missing.
# Starts no system service; the only process it runs in the background is the
# smoke-test container, stopped by its id. Prints "N passed, M failed" last.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
TAG=""
STORE_ROOT=""
ARCHIVE=""
SMOKE=1
DOCKERFILE=0
while (($#)); do
    case $1 in
        --tag) TAG=$2; shift 2 ;;
        --root) STORE_ROOT=$2; shift 2 ;;
        --archive) ARCHIVE=$2; shift 2 ;;
        --no-smoke) SMOKE=0; shift ;;
        --dockerfile) DOCKERFILE=1; shift ;;
        -h|--help) sed -n '2,34p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done

log() { printf '[build-local %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
PASSED=0 FAILED=0 SKIPPED=0
pass() { PASSED=$((PASSED + 1)); echo "PASS: $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL: $*"; }
skip() { SKIPPED=$((SKIPPED + 1)); echo "SKIP: $*"; }
T0=$SECONDS
CTR_ID=""
WORK=""
BUILD_CTR=""

finish() {
    local rc=$?
    trap - EXIT
    if [[ -n $CTR_ID ]]; then
        "${PODMAN[@]}" stop --time 10 "$CTR_ID" >/dev/null 2>&1 || true
        "${PODMAN[@]}" rm -f "$CTR_ID" >/dev/null 2>&1 || true
    fi
    if [[ -n $BUILD_CTR ]]; then
        "${BUILDAH[@]}" rm "$BUILD_CTR" >/dev/null 2>&1 || true
    fi
    [[ -n $WORK ]] && rm -rf "$WORK"
    echo "total $((SECONDS - T0)) s"
    echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
    if ((FAILED)) || ((rc != 0 && PASSED + FAILED == 0)); then exit 1; fi
    exit "$rc"
}
trap finish EXIT

if [[ $(id -u) != 0 ]]; then
    echo "build-local.sh: run as root (debootstrap and buildah's vfs store need it)" >&2
    exit 2
fi

# --- tools ------------------------------------------------------------------
missing=()
command -v buildah >/dev/null || missing+=(buildah)
command -v debootstrap >/dev/null || missing+=(debootstrap)
((SMOKE)) && ! command -v podman >/dev/null && missing+=(podman)
command -v curl >/dev/null || missing+=(curl)
if ((${#missing[@]})); then
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
fi

# vfs works everywhere (no overlay mounts needed); a system store made with overlay needs
# WHARF_STORAGE_DRIVER=overlay (one store, one driver)
STORE_OPTS=(--storage-driver "${WHARF_STORAGE_DRIVER:-vfs}")
if [[ -n $STORE_ROOT ]]; then
    mkdir -p "$STORE_ROOT/root" "$STORE_ROOT/runroot"
    STORE_OPTS+=(--root "$STORE_ROOT/root" --runroot "$STORE_ROOT/runroot")
fi
BUILDAH=(buildah "${STORE_OPTS[@]}")
export BUILDAH_FORMAT=docker # Docker image format: OCI's has no HEALTHCHECK
PODMAN=(podman "${STORE_OPTS[@]}" --cgroup-manager cgroupfs --events-backend file)
# Explicit limits below the sandbox's hard ones: podman's defaults for root (nproc and nofile
# at their maximum) are refused by some sandboxes ("error setting rlimit type 6").
RUN_LIMITS=(--ulimit "nofile=$(( $(ulimit -Hn) < 65536 ? $(ulimit -Hn) : 65536 )):$(( $(ulimit -Hn) < 65536 ? $(ulimit -Hn) : 65536 ))" --ulimit nproc=4096:4096)

# --- the jar ----------------------------------------------------------------
VERSION=$(sed -n 's:^  <version>\(.*\)</version>$:\1:p' "$ROOT/pom.xml" | head -n 1)
TAG=${TAG:-localhost/wharf:${VERSION:-dev}}
JAR=${WHARF_JAR:-$ROOT/proxy-server/target/wharf.jar}
if ((!DOCKERFILE)) && [[ ! -f $JAR ]]; then
    log "building $JAR with the Maven wrapper"
    (cd "$ROOT" && ./mvnw -q -B --no-transfer-progress -DskipTests -pl proxy-server -am package) >&2
fi
((DOCKERFILE)) || [[ -f $JAR ]] || { fail "the jar $JAR exists"; exit 1; }

# --- Debian roots (cached) -----------------------------------------------------
SUITE=${DEBIAN_SUITE:-bookworm}
CACHE=${WHARF_IMAGE_CACHE:-/var/tmp/wharf-image}
debian_mirror() {
    local u
    u=$(grep -hsE '^(URIs:|deb )' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list \
            /etc/apt/sources.list 2>/dev/null \
        | grep -vE 'security|updates|backports' \
        | sed -E 's/^URIs:[[:space:]]*//; s/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?//' \
        | awk '{print $1}' | grep -E '/debian/?$' | head -n 1)
    echo "${u%/}"
}
# debian_root NAME PACKAGES — a minbase root with PACKAGES and the user wharf (uid/gid 10001)
# in $CACHE/rootfs-$SUITE-NAME, made once; sets ROOTFS.
debian_root() {
    local name=$1 pkgs=$2 mirror t
    ROOTFS=$CACHE/rootfs-$SUITE-$name
    if [[ -f $ROOTFS/.complete ]]; then
        log "reusing the Debian root $ROOTFS"
        return 0
    fi
    mirror=${DEBIAN_MIRROR:-$(debian_mirror)}
    [[ -n $mirror ]] || { fail "a Debian mirror in the apt sources (or DEBIAN_MIRROR)"; exit 1; }
    rm -rf "$ROOTFS"
    mkdir -p "$CACHE"
    log "debootstrap --variant=minbase $SUITE + $pkgs from $mirror (a few minutes, once)"
    t=$SECONDS
    if ! debootstrap --variant=minbase --include="$pkgs" \
            "$SUITE" "$ROOTFS" "$mirror" >"$CACHE/debootstrap-$name.log" 2>&1; then
        tail -n 30 "$CACHE/debootstrap-$name.log" >&2
        fail "debootstrap $SUITE with $pkgs"
        exit 1
    fi
    # a smaller image: no package lists, caches, docs or man pages
    rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/*.bin \
        "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/usr/share/doc/* "$ROOTFS"/usr/share/man/* \
        "$ROOTFS"/usr/share/info/* "$ROOTFS"/var/log/*.log
    touch "$ROOTFS/.complete"
    pass "debootstrap $SUITE minbase + $pkgs ($((SECONDS - t)) s, $(du -sh "$ROOTFS" 2>/dev/null | cut -f1))"
}
# base_image NAME PACKAGES [trust-local-cas] — the root above as the local image
# localhost/wharf-base:$SUITE-NAME. With trust-local-cas, the root also trusts this machine's
# own CAs (/usr/local/share/ca-certificates): a build behind a TLS-inspecting proxy needs them
# to download Maven and the dependencies.
base_image() {
    local ctr mnt crt
    BASE_IMAGE=localhost/wharf-base:$SUITE-$1
    debian_root "$1" "$2"
    if [[ ${3:-} == trust-local-cas ]] && compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
        for crt in /usr/local/share/ca-certificates/*.crt; do
            if ! cmp -s "$crt" "$ROOTFS/usr/local/share/ca-certificates/${crt##*/}"; then
                install -m 0644 "$crt" "$ROOTFS/usr/local/share/ca-certificates/"
                touch "$ROOTFS/.complete"
            fi
        done
        if [[ $ROOTFS/.complete -nt $ROOTFS/etc/ssl/certs/java/cacerts ]]; then
            mount -t proc proc "$ROOTFS/proc"
            chroot "$ROOTFS" update-ca-certificates >/dev/null 2>&1 || true
            umount "$ROOTFS/proc"
            log "the build base trusts this machine's CAs: $(ls /usr/local/share/ca-certificates | tr '\n' ' ')"
        fi
    fi
    if "${BUILDAH[@]}" inspect --type image "$BASE_IMAGE" >/dev/null 2>&1 \
            && [[ ! $ROOTFS/.complete -nt $CACHE/.image-$SUITE-$1 ]]; then
        return 0
    fi
    ctr=$("${BUILDAH[@]}" from --quiet scratch)
    mnt=$("${BUILDAH[@]}" mount "$ctr")
    tar -C "$ROOTFS" --exclude=./.complete -cf - . | tar -C "$mnt" -xpf -
    "${BUILDAH[@]}" umount "$ctr" >/dev/null
    "${BUILDAH[@]}" config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        --cmd /bin/bash "$ctr"
    "${BUILDAH[@]}" commit --quiet --rm "$ctr" "$BASE_IMAGE" >/dev/null
    touch "$CACHE/.image-$SUITE-$1"
    pass "local base image $BASE_IMAGE"
}

if ((DOCKERFILE)); then
    # --- the Dockerfile itself, on local Debian bases -------------------------------
    base_image jdk17 openjdk-17-jdk-headless,ca-certificates trust-local-cas
    BUILD_BASE=$BASE_IMAGE
    base_image jre17 openjdk-17-jre-headless,ca-certificates
    RUNTIME_BASE=$BASE_IMAGE
    t=$SECONDS
    log "buildah bud -f deploy/container/Dockerfile (BUILD_IMAGE=$BUILD_BASE, RUNTIME_IMAGE=$RUNTIME_BASE)"
    if ! "${BUILDAH[@]}" bud --quiet --layers --isolation chroot --pull-never \
            --build-arg "BUILD_IMAGE=$BUILD_BASE" --build-arg "RUNTIME_IMAGE=$RUNTIME_BASE" \
            -f "$HERE/Dockerfile" -t "$TAG" "$ROOT" >"$CACHE/bud.log" 2>&1; then
        tail -n 40 "$CACHE/bud.log" >&2
        fail "buildah bud deploy/container/Dockerfile"
        exit 1
    fi
    pass "buildah bud of deploy/container/Dockerfile (Maven wrapper build inside) -> $TAG in $((SECONDS - t)) s"
else
debian_root jre17 openjdk-17-jre-headless,ca-certificates
BASE=$ROOTFS

# --- assemble the image -------------------------------------------------------
t=$SECONDS
BUILD_CTR=$("${BUILDAH[@]}" from --quiet scratch)
MNT=$("${BUILDAH[@]}" mount "$BUILD_CTR")
tar -C "$BASE" --exclude=./.complete -cf - . | tar -C "$MNT" -xpf -
# the user wharf, as in the Dockerfile (useradd warns that 10001 is above SYS_UID_MAX)
chroot "$MNT" groupadd --system --gid 10001 wharf
chroot "$MNT" useradd --system --uid 10001 --gid wharf --home-dir /var/lib/wharf --no-create-home \
    --shell /usr/sbin/nologin wharf 2>/dev/null
install -d -o 10001 -g 10001 -m 0750 "$MNT/var/lib/wharf"
install -d -m 0755 "$MNT/etc/wharf" "$MNT/opt/wharf"
install -m 0644 "$JAR" "$MNT/opt/wharf/wharf.jar"
install -m 0755 "$HERE/wharf" "$HERE/wharf-healthcheck" "$MNT/usr/local/bin/"
install -m 0644 "$HERE/wharf.yaml" "$MNT/etc/wharf/wharf.yaml"
"${BUILDAH[@]}" umount "$BUILD_CTR" >/dev/null
# the same settings as the Dockerfile's runtime stage (ContainerImageTest compares them)
"${BUILDAH[@]}" config \
    --env 'JAVA_OPTS=-XX:MaxRAMPercentage=60 -XX:+ExitOnOutOfMemoryError' \
    --user 10001:10001 \
    --workingdir /var/lib/wharf \
    --volume /var/lib/wharf \
    --port 5000 \
    --healthcheck 'CMD /usr/local/bin/wharf-healthcheck' \
    --healthcheck-interval 30s --healthcheck-timeout 5s --healthcheck-start-period 60s \
    --healthcheck-retries 3 \
    --stop-signal SIGTERM \
    --entrypoint '["/usr/local/bin/wharf"]' \
    --cmd 'serve --config /etc/wharf/wharf.yaml' \
    --label org.opencontainers.image.title=wharf \
    --label "org.opencontainers.image.version=$VERSION" \
    --label org.opencontainers.image.description='Pull-through caching OCI registry mirror' \
    "$BUILD_CTR"
"${BUILDAH[@]}" commit --quiet --format docker --rm "$BUILD_CTR" "$TAG" >/dev/null
BUILD_CTR=""
fi
SIZE=$("${BUILDAH[@]}" images --format '{{.Size}}' "$TAG" | head -n 1)
((DOCKERFILE)) || pass "buildah (vfs, no daemon) committed $TAG in $((SECONDS - t)) s"
log "image $TAG: $SIZE"
if [[ -n $ARCHIVE ]]; then
    "${BUILDAH[@]}" push --quiet "$TAG" "docker-archive:$ARCHIVE:${TAG#localhost/}"
    pass "wrote $ARCHIVE ($(du -h "$ARCHIVE" | cut -f1)); load it with: docker load -i $ARCHIVE"
fi
((SMOKE)) || exit 0

# --- smoke test with podman ---------------------------------------------------
t=$SECONDS
WORK=$(mktemp -d "${TMPDIR:-/tmp}/wharf-image-smoke.XXXXXX")
install -d -o 10001 -g 10001 "$WORK/data"
if ! "${PODMAN[@]}" run --rm --network host "${RUN_LIMITS[@]}" "$TAG" --version >"$WORK/version.log" 2>&1; then
    skip "podman cannot run containers here: $(tail -n 3 "$WORK/version.log" | tr '\n' ' ')"
    echo "       (the image was built; run it where containers can run:"
    echo "        podman run -d -p 5000:5000 -v wharf-data:/var/lib/wharf $TAG)"
    exit 0
fi
pass "podman run $TAG --version: $(tail -n 1 "$WORK/version.log")"
if "${PODMAN[@]}" run --rm --network host "${RUN_LIMITS[@]}" "$TAG" config check /etc/wharf/wharf.yaml >"$WORK/check.log" 2>&1; then
    pass "the image's /etc/wharf/wharf.yaml passes wharf config check"
else
    fail "wharf config check /etc/wharf/wharf.yaml in the image: $(tail -n 3 "$WORK/check.log")"
fi
# a loopback port from bash alone (never 5000)
PORT=""
for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 10000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then PORT=$p; break; fi
done
[[ -n $PORT ]] || { fail "a free loopback port"; exit 1; }
# host network and --listen 127.0.0.1:PORT: reachable on loopback only, no port mapping needed
CTR_ID=$("${PODMAN[@]}" run -d --network host "${RUN_LIMITS[@]}" -e WHARF_HEALTH_PORT="$PORT" \
    -v "$WORK/data:/var/lib/wharf" "$TAG" serve --config /etc/wharf/wharf.yaml --listen "127.0.0.1:$PORT")
pass "podman run -d $TAG (id ${CTR_ID:0:12}) on 127.0.0.1:$PORT"
up=0
for _ in $(seq 1 300); do
    if [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$PORT/healthz") == 200 ]]; then
        up=1; break
    fi
    [[ $("${PODMAN[@]}" inspect --format '{{.State.Running}}' "$CTR_ID" 2>/dev/null) == true ]] || break
    sleep 0.2
done
if ((up)); then
    pass "GET /healthz == 200 after $((SECONDS - t)) s"
else
    fail "GET http://127.0.0.1:$PORT/healthz == 200; container log:"
    "${PODMAN[@]}" logs "$CTR_ID" 2>&1 | tail -n 20
    exit 1
fi
for path in /readyz /v2/; do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$PORT$path")
    if [[ $code == 200 ]]; then pass "GET $path == 200"; else fail "GET $path == 200 (got $code)"; fi
done
# podman runs the image's HEALTHCHECK on demand (its timer needs systemd, absent in a sandbox)
if "${PODMAN[@]}" healthcheck run "$CTR_ID" >"$WORK/health.log" 2>&1; then
    pass "podman healthcheck run: the image's HEALTHCHECK (/usr/local/bin/wharf-healthcheck) reports healthy"
else
    fail "podman healthcheck run: $(grep -v 'systemd' "$WORK/health.log" | tail -n 2 | tr '\n' ' ')"
fi
user=$("${PODMAN[@]}" exec "$CTR_ID" id -u)
if [[ $user == 10001 ]]; then pass "runs as uid 10001 (wharf)"; else fail "runs as uid 10001 (got $user)"; fi
if [[ -f $WORK/data/wharf-store.json ]]; then
    pass "the store was created on the volume (/var/lib/wharf/wharf-store.json)"
else
    fail "the store was created on the volume (/var/lib/wharf/wharf-store.json)"
fi
"${PODMAN[@]}" stop --time 30 "$CTR_ID" >/dev/null
code=$("${PODMAN[@]}" inspect --format '{{.State.ExitCode}}' "$CTR_ID")
if [[ $code == 0 || $code == 143 ]]; then
    pass "podman stop ${CTR_ID:0:12}: Wharf exited cleanly on SIGTERM (exit $code)"
else
    fail "podman stop ${CTR_ID:0:12}: exit code $code"
fi
"${PODMAN[@]}" rm -f "$CTR_ID" >/dev/null
CTR_ID=""
log "smoke test took $((SECONDS - t)) s"

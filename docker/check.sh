#!/bin/sh
# `make docker-check`: proves docker/Dockerfile on a machine without a Docker
# daemon. Builds the image with podman (chroot isolation, never pulling), runs
# the smoke command inside it with buildah and checks what came out in the
# mounted /results. When no debian:bookworm-slim image is stored locally, one
# is made first from Debian's mirror with debootstrap and kept for later runs.
# Re-runnable: the base image and podman's layer cache are reused, the outputs
# are made afresh in build/docker-check/.
#   DEBIAN_MIRROR, DEBIAN_SECURITY_MIRROR  where debootstrap and apt fetch from
set -eu
cd "$(dirname "$0")/.."

base=debian:bookworm-slim
image=localhost/dsrbench:check
out=build/docker-check
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}

# The smoke run: the image's own default command, `make reproduce
# PROFILE=smoke RESULTS=/results`, whose summary CSVs, figures and REPORT.md
# are required (reproduce=no: one short training run instead, a quicker check
# of the image alone).
reproduce=yes

fail() { echo "docker-check: $*" >&2; exit 1; }
trap 'exit 130' INT TERM # so that the EXIT clean-ups below run on ^C too
step() { echo "== docker-check: $* ($(date +%T))"; }

[ "$(id -u)" -eq 0 ] || fail "podman and buildah need root here (run as root, e.g. sudo make docker-check)"
./install-deps.sh --docker

# --- the base image, from debootstrap, in the shape of Docker's slim image
make_base() {
    root=$(mktemp -d /var/tmp/dsrbench-bookworm.XXXXXX)
    trap 'rm -rf "$root"' EXIT
    step "making $base with debootstrap from $mirror (once; kept in podman's store)"
    debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.log" 2>&1 ||
        { tail -20 "$root.log" >&2; fail "debootstrap failed (log: $root.log)"; }
    rm -f "$root.log"
    rm -f "$root/etc/apt/sources.list"
    cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    # what makes Docker's image "slim": no documentation, no apt caches
    cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/man/*
EOF
    rm -rf "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
        "$root"/var/lib/apt/lists/* "$root"/usr/share/info/* "$root"/usr/share/man/*
    find "$root/usr/share/doc" -type f ! -name copyright -delete
    find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
    tar --numeric-owner -C "$root" -cf - . |
        podman import --change 'CMD ["bash"]' \
            --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
            - "$base" >/dev/null
    rm -rf "$root"
    trap - EXIT
}
podman image exists "$base" || make_base

# --- the image, exactly as `docker build` would make it
version=$(git describe --always --dirty 2>/dev/null || echo unknown)
step "building $image (dsrbench $version)"
previous=$(podman image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
podman build --isolation=chroot --pull=never -f docker/Dockerfile \
    --build-arg DSRBENCH_VERSION="$version" -t "$image" .
# the image this one replaced, and its layers no other image uses
if [ -n "$previous" ] && [ "$previous" != "$(podman image inspect --format '{{.Id}}' "$image")" ]; then
    podman rmi "$previous" >/dev/null 2>&1 || true
fi

# --- the smoke run, as the image's own (non-root) user, /results mounted
ctr=dsrbench-check
buildah rm "$ctr" >/dev/null 2>&1 || true # left by an interrupted check
buildah from --pull=never --name "$ctr" "$image" >/dev/null
trap 'buildah rm "$ctr" >/dev/null' EXIT
run() { buildah run --isolation chroot -v "$PWD/$out:/results" "$ctr" -- "$@"; }
rm -rf "$out"
mkdir -p "$out"
uid=$(run id -u)
[ "$uid" != 0 ] || fail "the image runs as root; expected its dsrbench user"
chown "$uid" "$out"
if [ "$reproduce" = yes ]; then
    # shellcheck disable=SC2046 # the default command is plain words
    set -- $(podman image inspect --format '{{join .Config.Cmd " "}}' "$image")
else
    set -- bin/dsrbench train --model lenet-300-100 --epochs 1 \
        --train-subset 2000 --test-subset 500 --out /results/smoke-train
fi
step "running: $*"
run "$@" || fail "the smoke command failed in the image: $*"

# --- what must have come out
need() { # need PATTERN WHAT: prints one file under $out matching PATTERN
    found=$(find "$out" -type f -name "$1" | head -1)
    [ -n "$found" ] || fail "no $2 ($1) under $out"
    echo "$found"
}
if [ "$reproduce" = yes ]; then
    need summary.csv "summary CSV" >/dev/null
    report=$(need REPORT.md report)
    png=$(need '*.png' "PNG figure")
    pdf=$(need '*.pdf' "PDF figure")
    [ "$(od -An -c -j1 -N3 "$png" | tr -d ' ')" = PNG ] || fail "$png is not a PNG"
    [ "$(head -c4 "$pdf")" = %PDF ] || fail "$pdf is not a PDF"
    grep -q "$version" "$report" || fail "$report does not state the code version $version"
else
    manifest=$out/smoke-train/manifest.ini
    [ -s "$out/smoke-train/epochs.csv" ] || fail "missing or empty $out/smoke-train/epochs.csv"
    grep -q '^status = complete$' "$manifest" || fail "$manifest does not say status = complete"
    grep -q "^git_commit = $version\$" "$manifest" ||
        fail "$manifest does not record the code version $version"
fi

size=$(podman image inspect --format '{{.Size}}' "$image")
step "passed: outputs in $out, image $image $((size / 1000000)) MB"

#!/bin/sh
# Installs what dsrbench needs and is missing, from Debian's packages.
# Silent when everything is present. Usage: ./install-deps.sh [--reference|--docker]
#   --reference  also Debian's python3-torch and numpy, for regenerating the
#                PyTorch test fixtures and for `make bench`
#   --docker     also podman, buildah and debootstrap, for `make docker-check`
#                (builds and runs docker/Dockerfile without a Docker daemon)
set -eu

packages="pkg-config gcc make libopenblas-openmp-dev zlib1g-dev libcsv-dev libcriterion-dev
libinih-dev gnuplot-nox dataset-fashion-mnist"
case "${1:-}" in
"") ;;
--reference) packages="$packages python3-torch python3-numpy" ;;
--docker) packages="$packages podman buildah debootstrap" ;;
*) echo "install-deps.sh: unknown option '$1' (expected nothing, --reference or --docker)" >&2; exit 2 ;;
esac

missing=""
if command -v dpkg-query >/dev/null 2>&1; then
    for p in $packages; do
        status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
        [ "$status" = "install ok installed" ] || missing="$missing $p"
    done
else
    echo "install-deps.sh: this is not a Debian/Ubuntu system (no dpkg)." >&2
    echo "Install by hand: a C11 compiler with OpenMP, make, pkg-config, OpenBLAS (OpenMP build)," >&2
    echo "zlib, libcsv, Criterion, libinih, gnuplot; and the Fashion-MNIST IDX files" >&2
    echo "(set DSRBENCH_DATA to their folder)." >&2
    exit 1
fi
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
    sudo=""
elif command -v sudo >/dev/null 2>&1; then
    sudo="sudo"
else
    echo "install-deps.sh: missing packages:$missing; run as root or install sudo" >&2
    exit 1
fi
echo "install-deps.sh: installing$missing" >&2
$sudo apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >&2

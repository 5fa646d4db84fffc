#!/bin/sh
# Downloads the CIFAR-10 binary version into data/cifar-10-batches-bin (where
# the cifar10 data set looks by default). Needs internet. The archive goes to a
# temporary file and the folder is moved into place only when complete and
# checked, so an interrupted run leaves nothing half-written behind.
set -eu

URL=https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz
MD5=c32a1d4ab5d03f1284b67883e8d87530
CONNECT_TIMEOUT=20
# a transfer that stalls this long is given up rather than waited on forever
STALL_SECONDS=60

cd "$(dirname "$0")/.."
DATA=data
TARGET=$DATA/cifar-10-batches-bin

fail() {
    echo "fetch-cifar10: $*" >&2
    exit 1
}

have_cifar10() {
    for f in data_batch_1.bin data_batch_2.bin data_batch_3.bin data_batch_4.bin \
        data_batch_5.bin test_batch.bin; do
        [ -f "$TARGET/$f" ] || return 1
    done
}

if have_cifar10; then
    echo "fetch-cifar10: $TARGET is already there"
    exit 0
fi

mkdir -p "$DATA"
WORK=$(mktemp -d "$DATA/.cifar-10-download.XXXXXX")
# data/ itself goes too when this run created it and left nothing in it
trap 'rm -rf "$WORK"; rmdir "$DATA" 2>/dev/null || true' EXIT
trap 'exit 1' HUP INT TERM
ARCHIVE=$WORK/cifar-10-binary.tar.gz

if command -v curl >/dev/null 2>&1; then
    fetch() {
        curl -fSL --progress-bar --connect-timeout "$CONNECT_TIMEOUT" \
            --speed-limit 1 --speed-time "$STALL_SECONDS" -o "$ARCHIVE" "$URL"
    }
elif command -v wget >/dev/null 2>&1; then
    fetch() {
        wget --connect-timeout="$CONNECT_TIMEOUT" --read-timeout="$STALL_SECONDS" --tries=2 \
            -O "$ARCHIVE" "$URL"
    }
else
    fail "neither curl nor wget is installed; install one (apt-get install curl) or pass" \
        "--data-dir to a folder holding the CIFAR-10 binary files"
fi
echo "fetch-cifar10: downloading $URL"
fetch || fail "could not download $URL: no network? Fetch it on a machine that has one," \
    "unpack it and pass --data-dir to its cifar-10-batches-bin folder"

if command -v md5sum >/dev/null 2>&1; then
    sum=$(md5sum "$ARCHIVE" | cut -d' ' -f1)
else
    sum=$(md5 -q "$ARCHIVE")
fi
[ "$sum" = "$MD5" ] || fail "$URL arrived with MD5 $sum, expected $MD5 (corrupt download; run again)"

tar -xzf "$ARCHIVE" -C "$WORK" || fail "cannot unpack $ARCHIVE"
[ -d "$WORK/cifar-10-batches-bin" ] || fail "the archive holds no cifar-10-batches-bin folder"
rm -rf "$TARGET"
mv "$WORK/cifar-10-batches-bin" "$TARGET"
have_cifar10 || fail "$TARGET is incomplete after unpacking"
echo "fetch-cifar10: CIFAR-10 is in $TARGET"

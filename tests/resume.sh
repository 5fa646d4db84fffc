#!/bin/sh
# A run killed by SIGKILL after an epoch's checkpoint and continued with
# --resume equals the uninterrupted run: the same epochs.csv (apart from the
# run id and the time columns), layers.csv and byte-identical checkpoints.
# --resume refuses a folder without a checkpoint, a damaged checkpoint and an
# option that differs from the run's, touching no file; a complete run is left
# alone. DSR on a Fashion-MNIST subset, reallocating every 20 steps, so the
# method's threshold, masks and stream cross the interruption; on the dense
# kernels and again on the sparse kernels (compact weight storage).
set -eu
bin=${DSRBENCH:-./bin/dsrbench}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }

flags="--model lenet-300-100 --method dsr --method-option period=20 --epochs 3
       --train-subset 3000 --test-subset 500 --threads 2"
# epochs.csv without the run id (first) and method_seconds, seconds (last two)
results() { cut -d, -f2- "$1/epochs.csv" | sed 's/,[^,]*,[^,]*$//'; }
sums() { (cd "$1" && md5sum -- *); }

# run_cut DIR ARGS...: the run, killed once its first end-of-epoch checkpoint is written
run_cut() {
    dir=$1
    shift
    "$bin" train "$@" --out "$dir" 2>"$dir.log" &
    pid=$!
    while [ ! -e "$dir/last.ckpt" ] && kill -0 "$pid" 2>/dev/null; do sleep 0.02; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    if [ -e "$dir/final.ckpt" ] || grep -q "status = complete" "$dir/manifest.ini"; then
        fail "the run finished before it could be killed; the test needs a larger subset"
        exit 1
    fi
}

# expect_resumed FULL CUT RESUME-ARGS...: CUT continued with --resume equals FULL
expect_resumed() {
    full=$1 cut=$2
    shift 2
    if "$bin" train "$@" --resume "$cut" 2>"$cut.resume.log"; then pass; else
        fail "--resume $* exited with $?:"; cat "$cut.resume.log"; fi
    results "$full" >"$full.cmp"
    results "$cut" >"$cut.cmp"
    if [ "$(wc -l <"$full.cmp")" -eq 4 ] && cmp -s "$full.cmp" "$cut.cmp"; then pass; else
        fail "epochs.csv of the resumed run differs:"; diff "$full.cmp" "$cut.cmp" || true; fi
    for f in layers.csv final.ckpt last.ckpt initial.ckpt; do
        if cmp -s "$full/$f" "$cut/$f"; then pass; else fail "$f of $cut differs"; fi
    done
}

# shellcheck disable=SC2086 # $flags is a list of words
"$bin" train $flags --out "$tmp/full" 2>"$tmp/full.log"
# shellcheck disable=SC2086
run_cut "$tmp/cut" $flags
cp -r "$tmp/cut" "$tmp/damaged"
cp -r "$tmp/cut" "$tmp/other"
# continuing: the run's own options come from the checkpoint; options given must match
expect_resumed "$tmp/full" "$tmp/cut" --method dsr --epochs 3

# the same on the sparse kernels, whose masked weights are stored compactly
# (active entries only, the momentum of pruned ones aside): the checkpoint
# holds the dense layout and the resumed run continues exactly
# shellcheck disable=SC2086
"$bin" train $flags --kernels sparse --out "$tmp/sparse-full" 2>"$tmp/sparse-full.log"
# shellcheck disable=SC2086
run_cut "$tmp/sparse-cut" $flags --kernels sparse
expect_resumed "$tmp/sparse-full" "$tmp/sparse-cut" --method dsr --epochs 3 --kernels sparse

if grep -q "status = complete" "$tmp/cut/manifest.ini" &&
    grep -q "resumed_from_epoch = " "$tmp/cut/manifest.ini"; then pass; else
    fail "the resumed manifest is not complete with resumed_from_epoch:"; cat "$tmp/cut/manifest.ini"; fi

# $holder: a command prefix to run dsrbench under (flock), empty for none
holder=
expect_refusal() { # folder status message-fragment resume-args...
    folder=$1 want=$2 text=$3
    shift 3
    sums "$folder" >"$tmp/before"
    set +e
    $holder "$bin" train "$@" >"$tmp/out" 2>&1
    status=$?
    set -e
    if [ "$status" -eq "$want" ] && grep -qF -- "$text" "$tmp/out"; then pass; else
        fail "dsrbench train $* -> status $status (want $want), output:"; cat "$tmp/out"
        echo "(expected to contain: $text)"; fi
    if sums "$folder" | cmp -s - "$tmp/before"; then pass; else fail "$* changed files in $folder"; fi
}

# a complete run is left alone
expect_refusal "$tmp/cut" 0 "the run is complete" --resume "$tmp/cut"
# a folder without a checkpoint
mkdir "$tmp/none"
echo "kept" >"$tmp/none/epochs.csv"
expect_refusal "$tmp/none" 2 "holds no checkpoint (last.ckpt or initial.ckpt)" --resume "$tmp/none"
# a damaged checkpoint: one byte in the middle flipped
size=$(wc -c <"$tmp/damaged/last.ckpt")
byte=$(od -An -tu1 -j $((size / 2)) -N1 "$tmp/damaged/last.ckpt" | tr -d ' ')
printf "\\$(printf '%03o' $((byte ^ 255)))" |
    dd of="$tmp/damaged/last.ckpt" bs=1 seek=$((size / 2)) count=1 conv=notrunc 2>/dev/null
expect_refusal "$tmp/damaged" 1 "$tmp/damaged/last.ckpt: damaged" --resume "$tmp/damaged"
# an option that differs from the run's
expect_refusal "$tmp/other" 2 "--seed: this command gives '2', the run in $tmp/other was started with '1'" \
    --seed 2 --resume "$tmp/other"
# a new run never writes over an interrupted one
expect_refusal "$tmp/other" 2 "already holds a run" --out "$tmp/other"
# nor does a second process while another holds the folder's lock
holder="flock $tmp/other/.dsrbench.lock"
expect_refusal "$tmp/other" 2 "is in use by another dsrbench process" --resume "$tmp/other"
holder=

echo "resume: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

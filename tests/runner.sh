#!/bin/sh
# dsrbench run end to end on a tiny spec (LeNet-300-100, 2 methods x 2 seeds,
# 1 epoch on Fashion-MNIST subsets): summary.csv schema and rows; a runner
# killed with SIGKILL after its first run resumes: the complete run is skipped
# (manifest untouched), the half-done one redone, and the summary equals an
# uninterrupted run's apart from wall times; SIGTERM stops the children; a
# failing run is reported and the others go on; spec errors exit 2 naming the
# file, line and key.
set -eu
bin=${DSRBENCH:-./bin/dsrbench}
tmp=$(mktemp -d)
runner_pid=
cleanup() {
    [ -n "$runner_pid" ] && kill -9 "$runner_pid" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
passed=0 failed=0
pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }

cat >"$tmp/tiny.ini" <<'EOF'
[experiment]
name = tiny

[smoke]
data = fashion-mnist
seeds = 1 2
epochs = 1
train_subset = 3000
test_subset = 500
threads = 1

[smoke.lenet]
models = lenet-300-100
methods = static dsr
sparsities = 0.9
dsr.option.np = 500
EOF

header="experiment,profile,grid,run_id,method,model,data,sparsity,seed,epochs,method_options,source,status,final_test_acc,best_test_acc,active_params,total_params,wall_seconds"
# the summary without its last column (wall time)
results() { sed 's/,[^,]*$//' "$1"; }

# 1. an uninterrupted run
if "$bin" run "$tmp/tiny.ini" --profile smoke --results "$tmp/a" --jobs 2 2>"$tmp/a.log"; then
    pass
else
    fail "uninterrupted run exited $?"; cat "$tmp/a.log"
fi
summary="$tmp/a/smoke/tiny/summary.csv"
[ "$(head -1 "$summary")" = "$header" ] && pass || fail "summary header: $(head -1 "$summary")"
[ "$(wc -l <"$summary")" -eq 5 ] && pass || fail "expected 4 rows in $summary"
# every row complete, with accuracies, parameter counts and a wall time
bad=$(tail -n +2 "$summary" | awk -F, '$13 != "complete" || $14 == "" || $15 == "" ||
    $16 == "" || $17 != 266610 || $18 == ""' | wc -l)
[ "$bad" -eq 0 ] && pass || { fail "incomplete summary rows:"; cat "$summary"; }
ids=$(tail -n +2 "$summary" | cut -d, -f4 | tr '\n' ' ')
[ "$ids" = "lenet-300-100_static_s0.9_seed1 lenet-300-100_dsr_s0.9_np500_seed1 lenet-300-100_static_s0.9_seed2 lenet-300-100_dsr_s0.9_np500_seed2 " ] &&
    pass || fail "run ids / order: $ids"
results "$summary" >"$tmp/a.cmp"
grep -q "dsrbench train: training lenet-300-100, dsr" "$tmp/a/smoke/tiny/lenet-300-100_dsr_s0.9_np500_seed1/train.log" &&
    pass || fail "train.log does not hold the run's output"

# 2. the dry run lists the commands in order and runs nothing
"$bin" run "$tmp/tiny.ini" --profile smoke --results "$tmp/dry" --dry-run >"$tmp/dry.out"
[ "$(grep -c -- ' train --model lenet-300-100 ' "$tmp/dry.out")" -eq 4 ] && [ ! -e "$tmp/dry" ] &&
    pass || { fail "dry run:"; cat "$tmp/dry.out"; }

"$bin" run "$tmp/tiny.ini" --profile smoke --results "$tmp/dry" --dry-run --only '*dsr*seed2' >"$tmp/only.out"
[ "$(grep -c -- ' train ' "$tmp/only.out")" -eq 1 ] &&
    grep -q -- "--seed 2 --epochs 1 --train-subset 3000 --test-subset 500 --threads 1 --out $tmp/dry/smoke/tiny/lenet-300-100_dsr_s0.9_np500_seed2$" "$tmp/only.out" &&
    pass || { fail "--only:"; cat "$tmp/only.out"; }

# 3. SIGKILL after the first run completes, then the same command again
"$bin" run "$tmp/tiny.ini" --profile smoke --results "$tmp/b" --jobs 1 2>"$tmp/b1.log" &
runner_pid=$!
i=0
while ! grep -q "done " "$tmp/b1.log" && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
kill -9 "$runner_pid"
wait "$runner_pid" 2>/dev/null || true
runner_pid=
sleep 0.3
first="$tmp/b/smoke/tiny/lenet-300-100_static_s0.9_seed1"
if grep -q "status = complete" "$first/manifest.ini" 2>/dev/null; then pass; else
    fail "the first run is not complete after the kill"; cat "$tmp/b1.log"; fi
# the children die with the runner (no train process writes into b/ any more)
if ps -eo args | grep -v grep | grep -q -- "--out $tmp/b/"; then
    fail "train processes outlived the killed runner"; else pass; fi
stamp=$(stat -c %Y.%s "$first/manifest.ini" 2>/dev/null || echo none)
sleep 1.1 # a rewrite would change the mtime
if "$bin" run "$tmp/tiny.ini" --profile smoke --results "$tmp/b" --jobs 2 2>"$tmp/b2.log"; then
    pass; else fail "resumed run exited $?"; cat "$tmp/b2.log"; fi
grep -q "skip    lenet-300-100_static_s0.9_seed1 (complete)" "$tmp/b2.log" &&
    [ "$(stat -c %Y.%s "$first/manifest.ini")" = "$stamp" ] &&
    pass || { fail "the complete run was not skipped:"; cat "$tmp/b2.log"; }
[ "$(grep -c "^\[.*start " "$tmp/b2.log")" -eq 3 ] && pass || { fail "expected 3 runs redone:"; cat "$tmp/b2.log"; }
if results "$tmp/b/smoke/tiny/summary.csv" | cmp -s - "$tmp/a.cmp"; then
    pass
else
    fail "resumed summary differs from the uninterrupted one:"
    results "$tmp/b/smoke/tiny/summary.csv" | diff "$tmp/a.cmp" - || true
fi
# a third time: nothing to do
"$bin" run "$tmp/tiny.ini" --profile smoke --results "$tmp/b" 2>"$tmp/b3.log" &&
    ! grep -q "start " "$tmp/b3.log" && pass || { fail "a complete grid ran again:"; cat "$tmp/b3.log"; }

# 4. SIGTERM kills the children and exits non-zero
"$bin" run "$tmp/tiny.ini" --profile smoke --results "$tmp/c" --jobs 2 2>"$tmp/c.log" &
runner_pid=$!
i=0
while ! grep -q "start " "$tmp/c.log" && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
kill -TERM "$runner_pid"
status=0
wait "$runner_pid" || status=$?
runner_pid=
if [ "$status" -eq 143 ] && ! ps -eo args | grep -v grep | grep -q -- "--out $tmp/c/"; then
    pass; else fail "SIGTERM: status $status"; cat "$tmp/c.log"; fi

# 5. a failing run: marked failed with its log named, the others complete, exit 1
sed 's/^dsr.option.np = 500/static.train_subset = 70000/' "$tmp/tiny.ini" >"$tmp/failing.ini"
status=0
"$bin" run "$tmp/failing.ini" --profile smoke --results "$tmp/d" 2>"$tmp/d.log" || status=$?
rows=$(tail -n +2 "$tmp/d/smoke/tiny/summary.csv" | cut -d, -f5,13 | LC_ALL=C sort | uniq -c |
    awk '{printf "%s %s;", $1, $2}')
if [ "$status" -eq 1 ] && [ "$rows" = "2 dsr,complete;2 static,failed;" ] &&
    grep -q "lenet-300-100_static_s0.9_seed1 (failed): $tmp/d/smoke/tiny/lenet-300-100_static_s0.9_seed1/train.log" "$tmp/d.log"; then
    pass; else fail "failing run: status $status, rows $rows"; cat "$tmp/d.log"; fi

# runs that read a failed run are blocked, never started
sed 's/^dsr.option.np = 500/static.train_subset = 70000\ndsr.from = static/' "$tmp/tiny.ini" >"$tmp/blocked.ini"
status=0
"$bin" run "$tmp/blocked.ini" --profile smoke --results "$tmp/f" 2>"$tmp/f.log" || status=$?
rows=$(tail -n +2 "$tmp/f/smoke/tiny/summary.csv" | cut -d, -f5,12,13 | tr '\n' ';')
if [ "$status" -eq 1 ] && [ ! -e "$tmp/f/smoke/tiny/lenet-300-100_dsr_s0.9_seed1" ] &&
    [ "$rows" = "static,,failed;dsr,lenet-300-100_static_s0.9_seed1,blocked;static,,failed;dsr,lenet-300-100_static_s0.9_seed2,blocked;" ]; then
    pass; else fail "blocked runs: status $status, rows $rows"; cat "$tmp/f.log"; fi

# 6. spec errors: exit 2, "FILE:LINE: KEY: ..."
expect_spec_error() { # sed-edit expected-message
    sed "$1" "$tmp/tiny.ini" >"$tmp/bad.ini"
    status=0
    "$bin" run "$tmp/bad.ini" --profile smoke --results "$tmp/e" --dry-run >/dev/null 2>"$tmp/err" ||
        status=$?
    if [ "$status" -eq 2 ] && grep -qF -- "$tmp/bad.ini:$2" "$tmp/err"; then pass; else
        fail "spec error ($1): status $status, wanted '$tmp/bad.ini:$2' in:"; cat "$tmp/err"; fi
}
expect_spec_error 's/^methods = static dsr/methods = static magic/' "14: methods: unknown method 'magic'"
expect_spec_error 's/^sparsities = 0.9/sparsities = 0.9 1/' "15: sparsities: '1': expected a sparsity in [0, 1)"
expect_spec_error 's/^epochs = 1/epochs = 1.5/' "7: epochs: '1.5': expected a whole number"
expect_spec_error 's/^threads = 1/thread = 1/' "10: thread: unknown key 'thread'"
expect_spec_error 's/^dsr.option.np = 500/dsr.option.np = 500\nstatic.sparsities = 0.8\ndsr.from = static/' \
    "18: dsr.from: static has no run with model lenet-300-100, seed 1 and sparsity 0.9"
expect_spec_error 's/^dsr.option.np = 500/dsr.option.n_p = 500/' "16: dsr.option.n_p: method dsr has no option 'n_p'"
[ -e "$tmp/e" ] && fail "a spec error wrote results" || pass
status=0
"$bin" run --profile smoke "$tmp/tiny.ini" 2>"$tmp/err" || status=$?
[ "$status" -eq 2 ] && grep -q "the spec file comes first" "$tmp/err" && pass ||
    fail "a misplaced spec argument: status $status"

echo "runner: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

#!/bin/sh
# Bad input is refused with exit status 2 and a message naming the flag or
# file, the value and what was expected; nothing already written is touched.
set -eu
bin=${DSRBENCH:-./bin/dsrbench}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0

expect() { # expected-status expected-message-fragment args...
    want_status=$1 want_text=$2
    shift 2
    set +e
    "$bin" "$@" >"$tmp/out" 2>"$tmp/err"
    status=$?
    set -e
    if [ "$status" -eq "$want_status" ] && grep -qF -- "$want_text" "$tmp/err" "$tmp/out"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL: dsrbench $* -> status $status (want $want_status), output:"
        cat "$tmp/err" "$tmp/out"
        echo "(expected to contain: $want_text)"
    fi
}

expect 2 "unknown command 'fly'" fly
expect 2 "usage: dsrbench" 
expect 0 "usage: dsrbench train" train --help
expect 0 "usage: dsrbench info" info --help
expect 2 "unknown flag '--bogus'" train --bogus
expect 2 "--epochs '0': expected a whole number from 1 to 100000" train --epochs 0
expect 2 "--epochs 'ten'" train --epochs ten
expect 2 "--batch needs a value" train --batch
expect 2 "--lr '-1'" train --lr -1
expect 2 "--momentum '1.5'" train --momentum 1.5
expect 2 "--seed '-3'" train --seed -3
expect 2 "--epochs is given twice" train --epochs 2 --epochs 3
expect 2 "--nesterov takes no value" train --nesterov=1
expect 2 "unknown model 'vgg-16'" train --model vgg-16
expect 2 "WRN depth must be 6n+4" train --model wrn-12-2
expect 2 "expected a width K" train --model wrn-16-x
expect 2 "--data 'svhn'" train --data svhn
expect 2 "--method 'magic' is unknown" train --method magic
expect 2 "--method dense is dense and takes no --sparsity" train --sparsity 0.5
expect 2 "--sparsity '1'" train --method static --sparsity 1
expect 0 "static" methods
expect 2 "--method-option 'np=5': method static has no option 'np' (it takes none)" train --method static --method-option np=5 --out "$tmp/mo"
expect 2 "--augment 'rotate'" train --augment rotate
expect 2 "--crop-pad 3 has no effect" train --crop-pad 3 --out "$tmp/cp"
expect 2 "--crop-pad 3 has no effect" train --augment flip --crop-pad 3 --out "$tmp/cp"
expect 2 "--lr-schedule '0.1,0.02@x'" train --lr-schedule 0.1,0.02@x
expect 2 "each later one at a later epoch" train --lr-schedule 0.1,0.02@5,0.01@3
expect 2 "--lr scales a preset" train --lr 0.05 --lr-schedule 0.1,0.01@5
expect 2 "--train-subset 70000" train --train-subset 70000 --out "$tmp/sub"
expect 1 "$tmp/nowhere" train --data cifar10 --data-dir "$tmp/nowhere" --out "$tmp/c"
expect 1 "$tmp/nowhere" train --data-dir "$tmp/nowhere" --out "$tmp/f"
expect 2 "--input '3x32'" info --model wrn-28-2 --input 3x32
expect 2 "--model is required" info
expect 2 "cannot take 1x4x4 inputs" info --model lenet-5 --input 1x4x4
expect 2 "--sparsity and --method-option need a --method" info --model wrn-28-2 --sparsity 0.5
expect 2 "--method 'magic' is unknown" info --model wrn-28-2 --method magic
expect 2 "--method dense is dense and takes no --sparsity" info --model wrn-28-2 --method dense --sparsity 0.5
expect 2 "method thin-dense has no option 'np'" info --model wrn-28-2 --method thin-dense --method-option np=5
expect 2 "reference=1 has released widths only for WRN models" info --model lenet-300-100 --method thin-dense --method-option reference=1
expect 2 "not wrn-28-2 at sparsity 0.75" info --model wrn-28-2 --method thin-dense --sparsity 0.75 --method-option reference=1
expect 2 "the closest, factor 0.0266 with round_up=2, gives 5559 (-3.05%)" info --model lenet-300-100 --method thin-dense --sparsity 0.98
expect 0 "active             27,030" info --model lenet-300-100 --method hashednet --sparsity 0.9
expect 0 "budget             161229" info --model wrn-28-2 --method thin-dense --sparsity 0.9
expect 0 "thin-dense" methods
expect 0 "hashednet" methods
expect 0 "usage: dsrbench bench" bench --help
expect 2 "--profile 'foo': expected quick or full" bench --profile foo
expect 2 "--model 'lenet-5': expected wrn-28-2, wrn-16-1 or lenet-300-100" bench --model lenet-5
expect 2 "--sparsity '1.5': expected a fraction in [0, 1)" bench --sparsity 1.5
expect 2 "--part 'all': expected steps, gemm or hooks" bench --part all
expect 2 "--threads '0': expected a count from 1 to 256" bench --threads 0
expect 2 "--python /nonexistent/python3" bench --python /nonexistent/python3

# a finished run is never overwritten
mkdir -p "$tmp/done"
echo "kept" >"$tmp/done/epochs.csv"
expect 2 "already holds a run" train --out "$tmp/done"
expect 2 "--out /: expected a folder whose name names the run" train --out /
expect 2 "--out $tmp/..: expected a folder whose name names the run" train --out "$tmp/.."
if [ "$(cat "$tmp/done/epochs.csv")" = "kept" ]; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL: an existing epochs.csv was changed"; fi

# ablations and --from: the source run must exist, be complete and match
expect 0 "reinit-fixed-structure" methods
expect 2 "--ablation 'melt' is unknown" train --ablation melt --out "$tmp/a1"
expect 2 "give --method or --ablation, not both" train --method dsr --ablation reinit-fixed-structure
expect 2 "needs --from RUN_DIR" train --ablation reinit-fixed-structure --out "$tmp/a2"
expect 2 "no run there" train --ablation reinit-fixed-structure --from "$tmp/none" --out "$tmp/a3"
printf '[run]\nstatus = running\n' >"$tmp/done/manifest.ini"
expect 2 "is not complete" train --ablation original-init-fixed-structure --from "$tmp/done" --out "$tmp/a4"
expect 2 "starts from no other run" train --method static --from "$tmp/done" --out "$tmp/a5"
expect 2 "stop_epoch=N" train --ablation frozen-after-N-epochs --train-subset 100 --test-subset 100 --out "$tmp/a6"
expect 2 "applies to thin-dense" train --method dsr --width-factor 0.5 --train-subset 100 --test-subset 100 --out "$tmp/a7"
printf '[run]\nstatus = complete\nmodel = wrn-10-1\ndata = fashion-mnist\n' >"$tmp/done/manifest.ini"
expect 2 "expected the same model and data" train --ablation reinit-fixed-structure --from "$tmp/done" --out "$tmp/a8"

echo "cli_errors: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

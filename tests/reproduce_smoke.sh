#!/bin/sh
# `make reproduce PROFILE=smoke` end to end into a temporary RESULTS: every
# spec's smoke runs complete; summary.csv, the runs' epochs.csv / layers.csv
# and every aggregated CSV have their columns and a consistent field count;
# every planned figure exists as a valid PNG and PDF of some size; REPORT.md
# has its sections, the command, the code version, links to every figure and
# nothing missing; reproduce.ini records the wall time. Then the same command
# again skips every run and leaves the summaries as they were, and `make
# figures` re-draws from the CSVs alone.
set -eu
make=${MAKE:-make}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
results=$tmp/results
root=$results/smoke
passed=0 failed=0
pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }

start=$(date +%s)
if $make --no-print-directory reproduce PROFILE=smoke RESULTS="$results" >"$tmp/reproduce.log" 2>&1; then
    pass
else
    fail "make reproduce PROFILE=smoke exited $?"; tail -30 "$tmp/reproduce.log"
fi
echo "make reproduce PROFILE=smoke: $(($(date +%s) - start)) s"

# --- CSV schemas: the exact header, and as many fields in every row
header_is() { # FILE HEADER
    if [ "$(head -1 "$1")" = "$2" ]; then pass; else fail "$1 header: $(head -1 "$1") (expected $2)"; fi
    bad=$(awk -F, 'NR == 1 { n = NF } NF != n { print FILENAME ":" NR }' "$1" | head -3)
    if [ -z "$bad" ]; then pass; else fail "rows with another field count: $bad"; fi
}
summary_header="experiment,profile,grid,run_id,method,model,data,sparsity,seed,epochs,method_options,source,status,final_test_acc,best_test_acc,active_params,total_params,wall_seconds"
for exp in rq1_rq2_budget rq3_ablations rq4_layers; do
    s=$root/$exp/summary.csv
    [ -f "$s" ] || { fail "no $s"; continue; }
    header_is "$s" "$summary_header"
    rows=$(tail -n +2 "$s" | wc -l)
    incomplete=$(tail -n +2 "$s" | awk -F, '$13 != "complete" || $14 == ""' | wc -l)
    if [ "$rows" -gt 0 ] && [ "$incomplete" -eq 0 ]; then pass; else fail "$s: $incomplete of $rows runs not complete"; fi
    for id in $(tail -n +2 "$s" | cut -d, -f4); do
        e=$root/$exp/$id/epochs.csv
        case $(head -1 "$e") in
        run_id,method,model,data,sparsity,seed,epoch,lr,train_loss,train_acc,test_loss,test_acc,active_params,total_params,*method_seconds,seconds) pass ;;
        *) fail "$e header: $(head -1 "$e")" ;;
        esac
        [ ! -f "$root/$exp/$id/layers.csv" ] || header_is "$root/$exp/$id/layers.csv" "epoch,layer,total,active"
    done
done
csv_header() { # the columns of each aggregated CSV (README "Report and figures")
    case $1 in
    aggregate.csv) echo "model,data,method,label,sparsity,epochs,method_options,runs,n,params_mean,acc_mean,acc_std,acc_median,acc_min,acc_max,best_acc_mean,paper_acc" ;;
    curves.csv) echo "model,data,method,label,sparsity,epochs,method_options,epoch,n,test_acc_mean,test_acc_std,train_loss_mean" ;;
    dynamics.csv) echo "model,data,series,sparsity,method_options,epoch,n,H_mean,H_std,pruned_mean,pruned_std,grown_mean,reallocations_mean" ;;
    ablations.csv) echo "model,data,sparsity,sparsity_index,method,label,n,acc_mean,acc_std,acc_median" ;;
    frozen.csv) echo "model,data,sparsity,stop_epoch,epochs,n,acc_mean,acc_std,acc_median,dsr_n,dsr_acc_mean,dsr_acc_std,dsr_acc_median" ;;
    layers_final.csv) echo "model,data,series,sparsity,method_options,layer,depth,total,n,layer_sparsity_mean,layer_sparsity_std" ;;
    blocks_final.csv) echo "model,data,series,sparsity,method_options,block,depth,total,n,block_sparsity_mean,block_sparsity_std" ;;
    layers_over_time.csv) echo "model,data,series,sparsity,method_options,epoch,layer,depth,total,n,layer_sparsity_mean,layer_sparsity_std" ;;
    esac
}
for need in rq1_rq2_budget/aggregate.csv rq1_rq2_budget/curves.csv rq1_rq2_budget/dynamics.csv \
    rq3_ablations/ablations.csv rq3_ablations/frozen.csv rq4_layers/layers_final.csv \
    rq4_layers/blocks_final.csv rq4_layers/layers_over_time.csv; do
    [ -s "$root/$need" ] && pass || fail "no $root/$need"
done
for f in "$root"/*/*.csv; do
    name=$(basename "$f")
    [ "$name" = summary.csv ] && continue
    expected=$(csv_header "$name")
    if [ -n "$expected" ]; then header_is "$f" "$expected"; else fail "unexpected CSV $f"; fi
done

# --- figures: every planned one, PNG and PDF, valid and not empty
figures=0
for list in "$root"/*/figures.tsv; do
    dir=$(dirname "$list")
    for name in $(cut -f2 "$list"); do
        figures=$((figures + 1))
        png=$dir/$name.png pdf=$dir/$name.pdf
        if [ "$(od -An -tx1 -N8 "$png" 2>/dev/null | tr -d ' \n')" = 89504e470d0a1a0a ] &&
            [ "$(wc -c <"$png")" -gt 10000 ]; then pass; else fail "$png is no PNG of some size"; fi
        if [ "$(head -c5 "$pdf" 2>/dev/null)" = "%PDF-" ] && tail -c 64 "$pdf" | grep -q '%%EOF' &&
            [ "$(wc -c <"$pdf")" -gt 3000 ]; then pass; else fail "$pdf is no complete PDF of some size"; fi
        grep -q "($(basename "$dir")/$name.png)" "$root/REPORT.md" && pass || fail "REPORT.md does not show $name.png"
    done
done
for name in rq1_rq2_budget/accuracy_vs_params rq1_rq2_budget/accuracy_curves_wrn-10-1 \
    rq1_rq2_budget/dsr_dynamics_lenet-300-100 rq3_ablations/ablations rq3_ablations/frozen \
    rq4_layers/layers_final_wrn-10-1 rq4_layers/blocks_final_wrn-10-1 \
    rq4_layers/layers_over_time_lenet-300-100 rq4_layers/dsr_dynamics_wrn-10-1; do
    [ -f "$root/$name.png" ] && pass || fail "figure $name.png missing"
done
echo "$figures figures checked"

# --- the report
report=$root/REPORT.md
version=$(./bin/dsrbench version | cut -d' ' -f2)
for want in "# dsrbench results: profile \`smoke\`" "## How these results were made" \
    "- Command: \`make reproduce PROFILE=smoke RESULTS=$results\`" "dsrbench \`$version\`" \
    "## Findings in brief" "## RQ1 and RQ2: accuracy under a parameter budget" \
    "## RQ3: is continuous exploration of structure needed?" \
    "## RQ4: which per-layer sparsity patterns emerge?" "| lenet-300-100 | 0.9 | dsr - dense |" \
    "| lenet-300-100 | 0.95 | dsr[epochs=2] - frozen-after-N-epochs |" \
    "| wrn-10-1 | 0.9 | rho(tensor size, final sparsity) |"; do
    grep -qF -- "$want" "$report" && pass || fail "REPORT.md lacks: $want"
done
for unwanted in "not drawn yet" "**Not run**" "not measured"; do
    grep -qF -- "$unwanted" "$report" && fail "REPORT.md says: $unwanted" || pass
done
grep -q '^wall_seconds = [0-9][0-9]*$' "$root/reproduce.ini" && pass || fail "reproduce.ini has no wall time"

# --- again: nothing is rerun, the summaries stay; figures re-draw from the CSVs
cat "$root"/*/summary.csv >"$tmp/before.csv"
start=$(date +%s)
$make --no-print-directory reproduce PROFILE=smoke RESULTS="$results" >"$tmp/again.log" 2>&1 && pass ||
    { fail "make reproduce again exited $?"; tail -20 "$tmp/again.log"; }
cat "$root"/*/summary.csv | cmp -s - "$tmp/before.csv" && pass || fail "the summaries changed on the second run"
[ "$(grep -c '(0 run now)' "$tmp/again.log")" -eq 3 ] && pass || fail "the second run trained again: $(grep 'run now' "$tmp/again.log")"
rm "$root"/*/*.png "$root"/*/*.pdf
$make --no-print-directory figures PROFILE=smoke RESULTS="$results" >"$tmp/figures.log" 2>&1 && pass ||
    { fail "make figures exited $?"; tail -20 "$tmp/figures.log"; }
[ "$(ls "$root"/*/*.png | wc -l)" -eq "$figures" ] && pass || fail "make figures drew $(ls "$root"/*/*.png | wc -l) of $figures"
echo "again and make figures: $(($(date +%s) - start)) s"

echo "reproduce_smoke.sh: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

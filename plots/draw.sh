#!/bin/sh
# Draws every figure that `dsrbench report RESULTS/PROFILE` planned: each
# experiment folder's figures.tsv holds one line per figure (script, name,
# gnuplot -e assignments); gnuplot runs in that folder, so the figures land
# beside the CSVs they read, as NAME.png and NAME.pdf.
#   sh plots/draw.sh RESULTS/PROFILE
set -eu
[ $# -eq 1 ] || { echo "usage: sh plots/draw.sh RESULTS/PROFILE" >&2; exit 2; }
root=$1
plots=$(cd "$(dirname "$0")" && pwd)
command -v gnuplot >/dev/null || { echo "draw.sh: gnuplot is missing (./install-deps.sh installs gnuplot-nox)" >&2; exit 1; }
# gnuplot's '...' strings double a quote
style=$(printf '%s' "$plots/style.gp" | sed "s/'/''/g")
tab=$(printf '\t')
log=$(mktemp)
trap 'rm -f "$log"' EXIT
drawn=0 failed=0
for list in "$root"/*/figures.tsv; do
    [ -f "$list" ] || continue
    dir=$(dirname "$list")
    while IFS="$tab" read -r script name vars; do
        [ -n "$script" ] || continue
        # gnuplot's notes on widening an empty autoscaled range (one epoch,
        # one sparsity) are left out; everything else it says is shown
        if (cd "$dir" && gnuplot -e "style='$style'; $vars" "$plots/$script") 2>"$log"; then
            drawn=$((drawn + 1))
        else
            echo "draw.sh: $plots/$script failed for $dir/$name" >&2
            failed=$((failed + 1))
        fi
        grep -v '^Warning: empty [xyz2]* range' "$log" >&2 || true
    done <"$list"
done
echo "draw.sh: $drawn figures drawn under $root (PNG and PDF), $failed failed" >&2
[ "$failed" -eq 0 ]

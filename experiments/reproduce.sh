#!/bin/sh
# `make reproduce`: every experiment spec at one profile into RESULTS, then the
# aggregated CSVs, the figures and RESULTS/PROFILE/REPORT.md. A spec whose runs
# fail (or whose data is missing) does not stop the others: the report states
# what is missing, and the exit status is 1. A stop (Ctrl-C) ends at once.
# Runs already complete are skipped, so running it again resumes.
#   sh experiments/reproduce.sh PROFILE RESULTS START COMMAND SPEC...
# START is the Unix time the reproduction began (make's start, so that the
# wall time includes installing and building); COMMAND is what the report
# states as the command.
set -u
[ $# -ge 5 ] || { echo "usage: sh experiments/reproduce.sh PROFILE RESULTS START COMMAND SPEC..." >&2; exit 2; }
profile=$1 results=$2 start=$3 command=$4
shift 4
bin=./bin/dsrbench
root=$results/$profile
mkdir -p "$root" || exit 1

status=0
runs=
for spec in "$@"; do
    run="$bin run $spec --profile $profile --results $results"
    echo "== reproduce: $run" >&2
    $bin run "$spec" --profile "$profile" --results "$results"
    rc=$?
    case $rc in
    0) ;;
    1) status=1 ;;
    *) echo "reproduce: stopped: '$run' exited $rc" >&2; exit "$rc" ;;
    esac
    runs="$runs
run = $run"
    # a spec with failed runs or missing data: the report names it
    [ "$rc" -eq 0 ] || runs="$runs
failed = $run"
done

echo "== reproduce: figures and report in $root" >&2
$bin report "$root" --csv-only || status=1
sh plots/draw.sh "$root" || status=1

end=$(date +%s)
tmp=$root/reproduce.ini.tmp
{
    echo "[reproduce]"
    echo "command = $command"
    echo "${runs#?}"
    echo "started = $(date -u -d "@$start" +%Y-%m-%dT%H:%M:%SZ 2>/dev/null || echo "$start")"
    echo "finished = $(date -u -d "@$end" +%Y-%m-%dT%H:%M:%SZ 2>/dev/null || echo "$end")"
    echo "wall_seconds = $((end - start))"
    echo "status = $status"
} >"$tmp" && mv "$tmp" "$root/reproduce.ini" || status=1
$bin report "$root" || status=1
echo "== reproduce: $((end - start)) s; report: $root/REPORT.md$([ $status -eq 0 ] || echo ' (some runs failed or are missing: see the report)')" >&2
exit "$status"

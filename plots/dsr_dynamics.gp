# Training dynamics of DSR: the global threshold H after every epoch (log
# scale) and the weights pruned (= grown) in the epoch's reallocations, mean
# over seeds, one curve per global sparsity.
#   data    dynamics.csv    out     output name (out.png, out.pdf)
#   model   the model       series  the curves ("s=0.9", ...)
load style
stats data using "epoch" nooutput
set xtics int(STATS_max / 8) + 1   # whole epochs
do for [fmt in "png pdf"] {
    eval terminal(fmt, 1400, 460)
    set output out . "." . fmt
    set multiplot layout 1, 2 title model . ": DSR's reallocation" font ",13"
    set xlabel "epoch"
    set key outside right top
    set xrange [-0.3:*]   # a one-epoch run still has a width
    set autoscale xfixmax
    set offsets 0, 0.3, 0, 0
    set logscale y
    set format y "%.0e"
    set ylabel "threshold H (log scale)"
    set title "threshold H after the epoch"
    plot for [i = 1:words(series)] data \
            using (strcol("model") eq model && strcol("series") eq word(series, i) ? column("epoch") : NaN):"H_mean" \
            with linespoints lt i title word(series, i)
    unset logscale y
    set format y "%g"
    set ylabel "weights pruned (and grown)"
    set title "weights moved in the epoch"
    plot for [i = 1:words(series)] data \
            using (strcol("model") eq model && strcol("series") eq word(series, i) ? column("epoch") : NaN):"pruned_mean":"pruned_std" \
            with yerrorlines lt i title word(series, i)
    unset multiplot
    set output
}

# RQ3: final test accuracy against the epoch at which DSR's reallocation
# stopped (frozen-after-N-epochs; median over seeds, error bars one std), one
# curve per sparsity; dashed: full DSR of the same length, drawn from epoch 0
# to its last epoch at its median.
#   data    frozen.csv      out         output name (out.png, out.pdf)
#   models  the panels      sparsities  the curves
load style
n = words(models)
stats data using "epochs" nooutput   # the runs' length: the x axis runs to it
last = STATS_max
do for [fmt in "png pdf"] {
    eval terminal(fmt, 760 * columns(n, 2), 440 * rows(n, 2))
    set output out . "." . fmt
    set multiplot layout rows(n, 2), columns(n, 2)
    set xlabel "epoch at which reallocation stopped"
    set ylabel "final test accuracy (%)"
    set key outside right top
    set xrange [-0.03 * last:1.03 * last]
    set xtics int(last / 8) + 1
    do for [i = 1:n] {
        m = word(models, i)
        set title m
        plot for [j = 1:words(sparsities)] data \
                using (strcol("model") eq m && strcol("sparsity") eq word(sparsities, j) ? column("stop_epoch") : NaN):"acc_median":"acc_std" \
                with yerrorlines lt j title "s=" . word(sparsities, j), \
             for [j = 1:words(sparsities)] data \
                using (strcol("model") eq m && strcol("sparsity") eq word(sparsities, j) ? 0 : NaN):"dsr_acc_median":"epochs":(0) \
                with vectors nohead lt j lw 1.5 dt 2 notitle, \
             keyentry with lines lc rgb "black" lw 1.5 dt 2 title "full DSR"
    }
    unset multiplot
    set output
}

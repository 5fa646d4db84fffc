# Training dynamics: test accuracy after every epoch (mean over seeds) for
# every method of one model, one panel per sparsity, full dense dashed in
# each panel.
#   data        curves.csv              out     output name (out.png, out.pdf)
#   model       the model               sparsities  the panels
#   labelsI     the curves of panel I   all     every curve's label (its colour)
#   dense       full dense's label, empty if none
load style
stats data using "epoch" nooutput
set xtics int(STATS_max / 8) + 1   # whole epochs
n = words(sparsities)
do for [fmt in "png pdf"] {
    eval terminal(fmt, 760 * columns(n, 2), 420 * rows(n, 2))
    set output out . "." . fmt
    set multiplot layout rows(n, 2), columns(n, 2) title model font ",13"
    set xlabel "epoch"
    set ylabel "test accuracy (%)"
    set key outside right top
    set xrange [-0.3:*]   # a one-epoch run still has a width
    set autoscale xfixmax
    set offsets 0, 0.3, 0, 0
    do for [i = 1:n] {
        s = word(sparsities, i)
        labels = value(sprintf("labels%d", i))
        set title (s eq "0" ? "dense" : "sparsity " . s)
        if (dense ne "") {
            plot for [lab in labels] data \
                    using (strcol("model") eq model && strcol("sparsity") eq s && strcol("label") eq lab ? column("epoch") : NaN):"test_acc_mean" \
                    with linespoints lt place(lab, all) title lab, \
                 data using (strcol("model") eq model && strcol("label") eq dense ? column("epoch") : NaN):"test_acc_mean" \
                    with linespoints lc rgb "black" lw 1.5 dt 2 pt 5 title "full dense"
        } else {
            plot for [lab in labels] data \
                    using (strcol("model") eq model && strcol("sparsity") eq s && strcol("label") eq lab ? column("epoch") : NaN):"test_acc_mean" \
                    with linespoints lt place(lab, all) title lab
        }
    }
    unset multiplot
    set output
}

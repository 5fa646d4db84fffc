# RQ1/RQ2: final test accuracy against the number of parameters (log x), one
# curve per method (median over seeds, error bars one std), full dense as a
# dashed reference line at its median (and a black point at its size), one
# panel per model. Methods at the same parameter count would hide one another,
# so each curve is shifted along x by a few percent by its place in the legend;
# accuracy is clipped to [0, 100] (a bimodal spread's std bar can reach below 0).
#   data    aggregate.csv            out     output name (out.png, out.pdf)
#   models  the panels               labelsI the curves of panel I
#   all     every curve's label      dense   full dense median per model, "-" if none
load style
n = words(models)
do for [fmt in "png pdf"] {
    eval terminal(fmt, 760 * columns(n, 2), 440 * rows(n, 2))
    set output out . "." . fmt
    set multiplot layout rows(n, 2), columns(n, 2)
    set logscale x
    set format x "%.0s%c"
    set xlabel "parameters (log scale)"
    set ylabel "final test accuracy (%)"
    set key outside right top
    set offsets graph 0.05, graph 0.05, 0, 0
    set yrange [0<*:*<100]
    # a row of this panel's curve; other rows get NaN in x AND y, else they
    # would still stretch the panel's y autoscale
    mine(m, col, v) = strcol("model") eq m && strcol(col) eq v
    shift(lab) = 1 + 0.03 * (place(lab, all) - (words(all) + 1) / 2.0)
    do for [i = 1:n] {
        m = word(models, i)
        labels = value(sprintf("labels%d", i))
        d = word(dense, i)
        set title m
        unset arrow
        if (d ne "-") {
            set arrow from graph 0, first real(d) to graph 1, first real(d) nohead lc rgb "black" lw 1.5 dt 2
        }
        plot for [lab in labels] data \
                using (mine(m, "label", lab) ? column("params_mean") * shift(lab) : NaN):(mine(m, "label", lab) ? column("acc_median") : NaN):"acc_std" \
                with yerrorlines lt place(lab, all) title lab, \
             data using (mine(m, "method", "dense") ? column("params_mean") : NaN):(mine(m, "method", "dense") ? column("acc_median") : NaN):"acc_std" \
                with yerrorbars lc rgb "black" pt 5 title "full dense (dashed)"
    }
    unset multiplot
    set output
}

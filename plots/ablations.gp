# RQ3: DSR against its final structure retrained from a new init (reinit),
# from its own initial weights (original-init), and static sparsity, at each
# sparsity: median final test accuracy over seeds, error bars one std.
#   data     ablations.csv   out        output name (out.png, out.pdf)
#   models   the panels      methods    the series, in this order
#   sparsitiesI  panel I's sparsities (x categories, densest first)
load style
n = words(models)
k = words(methods)
offset(j) = (j - (k + 1) / 2.0) * 0.8 / k
do for [fmt in "png pdf"] {
    eval terminal(fmt, 800 * columns(n, 2), 440 * rows(n, 2))
    set output out . "." . fmt
    set multiplot layout rows(n, 2), columns(n, 2)
    set xlabel "sparsity"
    set ylabel "final test accuracy (%)"
    set key outside right top
    do for [i = 1:n] {
        m = word(models, i)
        s = value(sprintf("sparsities%d", i))
        set title m
        set xrange [-0.5:words(s) - 0.5]
        set xtics ()
        do for [j = 1:words(s)] { set xtics add (word(s, j) j - 1) }
        plot for [j = 1:k] data \
                using (strcol("model") eq m && strcol("method") eq word(methods, j) ? column("sparsity_index") + offset(j) : NaN):"acc_median":"acc_std" \
                with yerrorbars lt j title word(methods, j)
    }
    unset multiplot
    set output
}

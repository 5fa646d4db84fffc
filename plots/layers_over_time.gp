# RQ4 over training: the sparsity of every sparse layer after every epoch
# under DSR (mean over seeds), one panel per global sparsity (dashed). Up to
# 10 layers each has a colour and a legend entry; more are coloured from
# blue (first layer) to red (last).
#   data    layers_over_time.csv   out     output name (out.png, out.pdf)
#   model   the model              series  the panels ("s=0.9", ...)
#   units   the layers, in network order
load style
stats data using "epoch" nooutput
set xtics int(STATS_max / 8) + 1   # whole epochs
n = words(series)
u = words(units)
set palette defined (0 "#0072B2", 1 "#009E73", 2 "#E69F00", 3 "#D55E00")
set cbrange [0:1]
unset colorbox
color(j) = u > 1 ? (j - 1.0) / (u - 1) : 0
do for [fmt in "png pdf"] {
    eval terminal(fmt, 760 * columns(n, 2), 420 * rows(n, 2))
    set output out . "." . fmt
    set multiplot layout rows(n, 2), columns(n, 2) title model . ": layer sparsity during training" font ",13"
    set xlabel "epoch"
    set ylabel "layer sparsity"
    set key outside right top
    set xrange [-0.3:*]   # a one-epoch run still has a width
    set autoscale xfixmax
    set offsets 0, 0.3, 0, 0
    do for [i = 1:n] {
        s = word(series, i)
        set title "global " . s
        if (u <= 10) {
            plot for [j = 1:u] data \
                    using (strcol("model") eq model && strcol("series") eq s && strcol("layer") eq word(units, j) ? column("epoch") : NaN):"layer_sparsity_mean" \
                    with linespoints lt j title short(word(units, j)), \
                 data using (strcol("model") eq model && strcol("series") eq s && strcol("layer") eq word(units, 1) ? column("epoch") : NaN):"sparsity" \
                    with lines lc rgb "black" lw 1.5 dt 2 title "global"
        } else {
            plot for [j = 1:u] data \
                    using (strcol("model") eq model && strcol("series") eq s && strcol("layer") eq word(units, j) ? column("epoch") : NaN):"layer_sparsity_mean" \
                    with lines lc palette frac color(j) lw 1.5 \
                    title (j == 1 ? "first layer" : j == u ? "last layer" : ""), \
                 data using (strcol("model") eq model && strcol("series") eq s && strcol("layer") eq word(units, 1) ? column("epoch") : NaN):"sparsity" \
                    with lines lc rgb "black" lw 1.5 dt 2 title "global"
        }
    }
    unset multiplot
    set output
}

# RQ4: final sparsity of every residual block under DSR (its sparse convs
# together; mean over seeds, error bars one std), in network order, one panel
# per global sparsity (dashed).
#   data    blocks_final.csv   out     output name (out.png, out.pdf)
#   model   the model          series  the panels ("s=0.9", ...)
#   units   the blocks, in network order
load style
n = words(series)
u = words(units)
do for [fmt in "png pdf"] {
    eval terminal(fmt, 700 * columns(n, 2), 420 * rows(n, 2))
    set output out . "." . fmt
    set multiplot layout rows(n, 2), columns(n, 2) title model . ": final sparsity per residual block" font ",13"
    set xrange [-0.5:u - 0.5]
    set xtics () rotate by -40
    do for [j = 1:u] { set xtics add (word(units, j) j - 1) }
    set ylabel "final block sparsity"
    set key below horizontal
    do for [i = 1:n] {
        s = word(series, i)
        set title "global " . s
        plot data using (strcol("model") eq model && strcol("series") eq s ? column("depth") : NaN):"block_sparsity_mean":"block_sparsity_std" \
                with yerrorlines lt i title "block sparsity", \
             data using (strcol("model") eq model && strcol("series") eq s ? -0.5 : NaN):"sparsity":(u):(0) \
                with vectors nohead lc rgb "black" lw 1.5 dt 2 title "global sparsity"
    }
    unset multiplot
    set output
}

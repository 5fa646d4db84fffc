# RQ4: final sparsity of every sparse layer under DSR (mean over seeds, error
# bars one std), in network order, one panel per global sparsity (dashed).
#   data    layers_final.csv   out     output name (out.png, out.pdf)
#   model   the model          series  the panels ("s=0.9", ...)
#   units   the layers, in network order
load style
n = words(series)
u = words(units)
# many layers (WRN-28-2 has 24, ResNet-50 49): wider panels, one per row
most = u > 14 ? 1 : 2
do for [fmt in "png pdf"] {
    eval terminal(fmt, (u > 14 ? 48 * u : 700) * columns(n, most), 460 * rows(n, most))
    set output out . "." . fmt
    set multiplot layout rows(n, most), columns(n, most) title model . ": final sparsity per layer" font ",13"
    set xrange [-0.5:u - 0.5]
    tics_font = u > 14 ? ",8" : ",9"
    set xtics () rotate by -40 font tics_font
    do for [j = 1:u] { set xtics add (short(word(units, j)) j - 1) }
    set ylabel "final layer sparsity"
    set key below horizontal
    do for [i = 1:n] {
        s = word(series, i)
        set title "global " . s
        plot data using (strcol("model") eq model && strcol("series") eq s ? column("depth") : NaN):"layer_sparsity_mean":"layer_sparsity_std" \
                with yerrorlines lt i title "layer sparsity", \
             data using (strcol("model") eq model && strcol("series") eq s ? -0.5 : NaN):"sparsity":(u):(0) \
                with vectors nohead lc rgb "black" lw 1.5 dt 2 title "global sparsity"
    }
    unset multiplot
    set output
}

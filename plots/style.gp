# The look every dsrbench figure shares. plots/draw.sh passes its path as
# `style`; a figure script does `load style`, then for each format
# `eval terminal(fmt, width, height)` (pixels; PDF at 100 px per inch).
set datafile separator comma   # the results CSVs; an empty cell is a missing value

# colour-blind-safe colours (Okabe-Ito, then two of Tol's); black is kept for
# reference lines (full dense, the target sparsity)
colors = "#0072B2 #D55E00 #009E73 #CC79A7 #E69F00 #56B4E9 #882255 #44AA99 #999999 #F0E442"
do for [i = 1:words(colors)] {
    set linetype i lc rgb word(colors, i) lw 2 pt (i == 1 ? 7 : i + 3) ps 1.1 dt 1
}
set linetype cycle words(colors)

terminal(fmt, w, h) = fmt eq "png" ? \
    sprintf("set terminal pngcairo noenhanced size %d,%d font 'DejaVu Sans,11'", w, h) : \
    sprintf("set terminal pdfcairo noenhanced size %.2fin,%.2fin font 'DejaVu Sans,8'", w / 100.0, h / 100.0)

set grid back lc rgb "#dddddd" lw 1 dt 1
set border 3 lc rgb "#444444"
set tics nomirror out
set key noenhanced opaque box lc rgb "#cccccc" samplen 2.5 spacing 1.1 font ",9"
set title noenhanced font ",12"

# position of word w in a space-separated list, 0 when absent: a curve's
# colour is its label's place in the figure's list of all labels
place(w, list) = sum [i = 1:words(list)] (word(list, i) eq w ? i : 0)
# a tensor's name without ".weight", for axis labels
short(s) = strstrt(s, ".weight") ? s[1:strstrt(s, ".weight") - 1] : s
# panels: at most `most` columns
columns(n, most) = n < most ? n : most
rows(n, most) = int((n + columns(n, most) - 1) / columns(n, most))

# Training-step time of each benchmark model: the engine dense and at each
# sparsity on the dense masked path, the sparse kernels and auto (three bars
# per sparsity), beside PyTorch's dense step, at 1 and 2 threads (bars:
# median step; whiskers: fastest and slowest timed step).
# Reads `dsrbench bench`'s steps.csv; `make bench` runs it as
#   gnuplot -e "steps='results/bench/steps.csv'; out='results/bench/bench.png'" plots/bench.gp
if (!exists("steps")) steps = 'results/bench/steps.csv'
if (!exists("out")) out = 'results/bench/bench.png'

set terminal pngcairo size 1650,560 font "sans,10"
set output out
set datafile separator ","
set style fill solid 0.75 border -1
set boxwidth 0.27
set grid ytics
set tmargin 5
set yrange [0:*]
set key top left
set xtics rotate by 45 right nomirror
set xtics ("dense" 0, "0.5" 1, "0.8" 2, "0.9" 3, "0.95" 4, "0.98" 5, "PyTorch" 6, \
           "dense" 9, "0.5" 10, "0.8" 11, "0.9" 12, "0.95" 13, "0.98" 14, "PyTorch" 15)
set xrange [-1:16]
set arrow from 7.5, graph 0 to 7.5, graph 1 nohead dt 2
set label "1 thread" at 3, graph 1.03 center
set label "2 threads" at 12, graph 1.03 center

# x slot: sparsity 0 (dense) .. 0.98 for the engine, 6 for PyTorch; 9 more at 2 threads
slot(s) = s == 0 ? 0 : s == 0.5 ? 1 : s == 0.8 ? 2 : s == 0.9 ? 3 : s == 0.95 ? 4 : 5
# three bars per sparsity: dense masked, sparse and auto kernels (steps.csv column 20)
shift(k) = k eq "sparse" ? 0.0 : k eq "auto" ? 0.28 : -0.28
x(m) = strcol(2) ne m ? NaN : (column(5) - 1) * 9 + \
       (strcol(1) eq "pytorch" ? 6 : slot(column(4)) + (column(4) == 0 ? 0 : shift(strcol(20))))
kc(k) = k eq "sparse" ? sparse_kernels : k eq "auto" ? auto_kernels : engine
y(m, c) = strcol(2) ne m ? NaN : column(c)
engine = 0x3b75af
pytorch = 0xef8636
sparse_kernels = 0x4a9a3a
auto_kernels = 0x8e6bbf

set multiplot layout 1,3 title "Seconds per batch-100 training step (the static method's mask; per sparsity: dense masked, sparse, auto kernels)"
do for [m in "wrn-28-2 wrn-16-1 lenet-300-100"] {
    stats steps every ::1 using (strcol(2) eq m ? 1 : 0) nooutput
    if (STATS_sum == 0) {
        set title m." (not measured)" offset 0, 1
        plot [-1:16] [0:1] -1 notitle
        continue
    }
    set title m offset 0, 1
    set ylabel "seconds per step"
    plot steps every ::1 using (x(m)):(y(m, 8)):(strcol(1) eq "pytorch" ? pytorch : kc(strcol(20))) \
             with boxes lc rgb variable notitle, \
         steps every ::1 using (x(m)):(y(m, 8)):(y(m, 9)):(y(m, 10)) \
             with yerrorbars lc black pt -1 notitle, \
         NaN with boxes lc rgb engine title (m eq "wrn-28-2" ? "dsrbench dense kernels" : ""), \
         NaN with boxes lc rgb sparse_kernels title (m eq "wrn-28-2" ? "sparse kernels" : ""), \
         NaN with boxes lc rgb auto_kernels title (m eq "wrn-28-2" ? "auto" : ""), \
         NaN with boxes lc rgb pytorch title (m eq "wrn-28-2" ? "PyTorch" : "")
}
unset multiplot

set terminal pngcairo size 1000,560 font "DejaVu Sans,10"
set output "tradeoff.png"
set datafile separator "\t"
set title "evsim g-set: hub flush interval trade-off"
set grid
set key outside right top
set xlabel "hub flush interval T_h (ms)"
set ylabel "servers msgs-per-op"
set y2label "stable latency (ms)"
set ytics nomirror
set y2tics
set yrange [0:*]
set y2range [0:*]
plot "tradeoff.tsv" using 1:3 axis x1y1 with linespoints lw 2 pt 7 title "msgs-per-op", \
     "tradeoff.tsv" using 1:4 axis x1y2 with linespoints lw 2 pt 5 title "median latency", \
     "tradeoff.tsv" using 1:5 axis x1y2 with linespoints lw 2 pt 9 title "max latency", \
     2.0 axis x1y1 with lines dt 2 lc rgb "#1f77b4" title "budget 2.0 msgs/op", \
     450 axis x1y2 with lines dt 2 lc rgb "#d62728" title "max latency goal 450 ms"

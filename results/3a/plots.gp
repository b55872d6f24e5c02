set terminal pngcairo size 1200,600 font "DejaVu Sans,10"
set datafile separator "\t"
set grid
set key outside right top
set xlabel "time (s)"
set xrange [0:31.008]
set yrange [0:*]
set arrow from 30.007, graph 0 to 30.007, graph 1 nohead dt 2 lc rgb "#555555"
set output "latency-raw.png"
set title "evsim 3a: latency of every operation"
set ylabel "latency (ms)"
plot "latency-raw.tsv" skip 1 using 1:(strcol(3) eq "broadcast" && strcol(4) eq "ok" ? $2 : 1/0) with points pt 7 ps 0.5 lc rgb "#1f77b4" title "broadcast ok", \
     "latency-raw.tsv" skip 1 using 1:(strcol(3) eq "read" && strcol(4) eq "ok" ? $2 : 1/0) with points pt 5 ps 0.5 lc rgb "#2ca02c" title "read ok"
set output "rate.png"
set title "evsim 3a: throughput by completion time"
set ylabel "operations / s"
plot for [i=2:3] "rate.tsv" using 1:i with lines lw 1.5 title columnheader(i)
set output "latency-quantiles.png"
set title "evsim 3a: latency quantiles per window"
set ylabel "latency (ms)"
plot for [i=2:9] "latency-quantiles.tsv" using 1:(column(i)) with linespoints pt 7 ps 0.4 title columnheader(i)
set output "net.png"
set title "evsim 3a: messages sent per second"
set ylabel "messages / s"
plot "net.tsv" using 1:2 with steps lw 1.5 title "servers", "net.tsv" using 1:3 with steps lw 1.5 title "clients"
unset object
unset arrow
set xrange [0:1.0]
set yrange [0:1]
set output "stable-latency.png"
set title "evsim 3a: stable latency of broadcast values (CDF)"
set xlabel "stable latency (ms)"
set ylabel "fraction of stable values"
plot "stable-latencies.tsv" skip 1 using 3:4 with steps lw 2 lc rgb "#1f77b4" title "stable values"

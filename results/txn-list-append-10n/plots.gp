set terminal pngcairo size 1200,600 font "DejaVu Sans,10"
set datafile separator "\t"
set grid
set key outside right top
set xlabel "time (s)"
set xrange [0:10.768]
set yrange [0:*]
set output "latency-raw.png"
set title "evsim txn-list-append-10n: latency of every operation"
set ylabel "latency (ms)"
plot "latency-raw.tsv" skip 1 using 1:(strcol(3) eq "txn" && strcol(4) eq "ok" ? $2 : 1/0) with points pt 7 ps 0.5 lc rgb "#1f77b4" title "txn ok"
set output "rate.png"
set title "evsim txn-list-append-10n: throughput by completion time"
set ylabel "operations / s"
plot for [i=2:2] "rate.tsv" using 1:i with lines lw 1.5 title columnheader(i)
set output "latency-quantiles.png"
set title "evsim txn-list-append-10n: latency quantiles per window"
set ylabel "latency (ms)"
plot for [i=2:5] "latency-quantiles.tsv" using 1:(column(i)) with linespoints pt 7 ps 0.4 title columnheader(i)
set output "net.png"
set title "evsim txn-list-append-10n: messages sent per second"
set ylabel "messages / s"
plot "net.tsv" using 1:2 with steps lw 1.5 title "servers", "net.tsv" using 1:3 with steps lw 1.5 title "clients"

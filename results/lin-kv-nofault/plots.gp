set terminal pngcairo size 1200,600 font "DejaVu Sans,10"
set datafile separator "\t"
set grid
set key outside right top
set xlabel "time (s)"
set xrange [0:62.253]
set yrange [0:*]
set output "latency-raw.png"
set title "evsim lin-kv-nofault: latency of every operation"
set ylabel "latency (ms)"
plot "latency-raw.tsv" skip 1 using 1:(strcol(3) eq "cas" && strcol(4) eq "ok" ? $2 : 1/0) with points pt 7 ps 0.5 lc rgb "#1f77b4" title "cas ok", \
     "latency-raw.tsv" skip 1 using 1:(strcol(3) eq "cas" && strcol(4) eq "fail" ? $2 : 1/0) with points pt 7 ps 0.5 lc rgb "#ff7f0e" title "cas fail", \
     "latency-raw.tsv" skip 1 using 1:(strcol(3) eq "cas" && strcol(4) eq "info" ? $2 : 1/0) with points pt 7 ps 0.5 lc rgb "#d62728" title "cas info", \
     "latency-raw.tsv" skip 1 using 1:(strcol(3) eq "read" && strcol(4) eq "ok" ? $2 : 1/0) with points pt 5 ps 0.5 lc rgb "#2ca02c" title "read ok", \
     "latency-raw.tsv" skip 1 using 1:(strcol(3) eq "read" && strcol(4) eq "fail" ? $2 : 1/0) with points pt 5 ps 0.5 lc rgb "#ff7f0e" title "read fail", \
     "latency-raw.tsv" skip 1 using 1:(strcol(3) eq "write" && strcol(4) eq "ok" ? $2 : 1/0) with points pt 9 ps 0.5 lc rgb "#9467bd" title "write ok", \
     "latency-raw.tsv" skip 1 using 1:(strcol(3) eq "write" && strcol(4) eq "fail" ? $2 : 1/0) with points pt 9 ps 0.5 lc rgb "#ff7f0e" title "write fail"
set output "rate.png"
set title "evsim lin-kv-nofault: throughput by completion time"
set ylabel "operations / s"
plot for [i=2:8] "rate.tsv" using 1:i with lines lw 1.5 title columnheader(i)
set output "latency-quantiles.png"
set title "evsim lin-kv-nofault: latency quantiles per window"
set ylabel "latency (ms)"
plot for [i=2:13] "latency-quantiles.tsv" using 1:(column(i)) with linespoints pt 7 ps 0.4 title columnheader(i)
set output "net.png"
set title "evsim lin-kv-nofault: messages sent per second"
set ylabel "messages / s"
plot "net.tsv" using 1:2 with steps lw 1.5 title "servers", "net.tsv" using 1:3 with steps lw 1.5 title "clients"

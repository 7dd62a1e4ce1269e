set terminal pngcairo size 1560,480 font ',10'
set output '/work/main/docs/experiments/scalability.png'
set multiplot layout 1,3 title 'Answered vs offered (labels: front ends F / distillers D at the step start)'
set grid
set key top left
set xlabel 'offered (req/s)'
set ylabel 'answered (req/s, steady part of the step)'
set size ratio -1
set title 'A: this machine, 1 front end'
set xrange [0:7457]
set yrange [0:7457]
plot x title 'answered = offered' lc rgb '#999999' dt 2, 'scalability_data/scalability-plot.dat' index 0 using 1:($5==1?$2:1/0) with linespoints pt 7 lc 1 title 'kept up', 'scalability_data/scalability-plot.dat' index 0 using 1:($5==0?$2:1/0) with points pt 6 ps 1.5 lc 7 title 'not kept up', 'scalability_data/scalability-plot.dat' index 0 using 1:2:10 with labels offset 0,1 font ',8' notitle
set title 'A: this machine, 2 front ends'
set xrange [0:7457]
set yrange [0:7457]
plot x title 'answered = offered' lc rgb '#999999' dt 2, 'scalability_data/scalability-plot.dat' index 1 using 1:($5==1?$2:1/0) with linespoints pt 7 lc 1 title 'kept up', 'scalability_data/scalability-plot.dat' index 1 using 1:($5==0?$2:1/0) with points pt 6 ps 1.5 lc 7 title 'not kept up', 'scalability_data/scalability-plot.dat' index 1 using 1:2:10 with labels offset 0,1 font ',8' notitle
set title 'B: namespace hosts (shaped FE links, distillers 1 cgroup each)'
set xrange [0:1075]
set yrange [0:1075]
plot x title 'answered = offered' lc rgb '#999999' dt 2, 'scalability_data/scalability-plot.dat' index 2 using 1:($5==1?$2:1/0) with linespoints pt 7 lc 1 title 'kept up', 'scalability_data/scalability-plot.dat' index 2 using 1:($5==0?$2:1/0) with points pt 6 ps 1.5 lc 7 title 'not kept up', 'scalability_data/scalability-plot.dat' index 2 using 1:2:10 with labels offset 0,1 font ',8' notitle
unset multiplot
set terminal pngcairo size 1560,480 font ',10'
set output '/work/main/docs/experiments/scalability-utilisation.png'
set multiplot layout 1,3 title 'What saturates: busy share of each element per step, and the distillers running'
set size noratio
set grid
set key below font ',9'
set xlabel 'offered (req/s)'
set ylabel 'busy (%)'
set y2label 'distillers, front ends'
set y2tics
set ytics nomirror
set yrange [0:110]
set y2range [0:*]
set title 'A: this machine, 1 front end'
set xrange [0:7118]
plot 'scalability_data/scalability-plot.dat' index 0 using 1:6 with linespoints pt 7 title 'machine (2 cores)', 'scalability_data/scalability-plot.dat' index 0 using 1:7 with linespoints pt 5 title 'busiest distiller (of its share)', 'scalability_data/scalability-plot.dat' index 0 using 1:8 with linespoints pt 9 title 'busiest FE link', 'scalability_data/scalability-plot.dat' index 0 using 1:3 axes x1y2 with steps lw 2 title 'distillers', 'scalability_data/scalability-plot.dat' index 0 using 1:4 axes x1y2 with steps lw 2 dt 2 title 'front ends'
set title 'A: this machine, 2 front ends'
set xrange [0:7118]
plot 'scalability_data/scalability-plot.dat' index 1 using 1:6 with linespoints pt 7 title 'machine (2 cores)', 'scalability_data/scalability-plot.dat' index 1 using 1:7 with linespoints pt 5 title 'busiest distiller (of its share)', 'scalability_data/scalability-plot.dat' index 1 using 1:8 with linespoints pt 9 title 'busiest FE link', 'scalability_data/scalability-plot.dat' index 1 using 1:3 axes x1y2 with steps lw 2 title 'distillers', 'scalability_data/scalability-plot.dat' index 1 using 1:4 axes x1y2 with steps lw 2 dt 2 title 'front ends'
set title 'B: namespace hosts (shaped FE links, distillers 1 cgroup each)'
set xrange [0:1027]
plot 'scalability_data/scalability-plot.dat' index 2 using 1:6 with linespoints pt 7 title 'machine (2 cores)', 'scalability_data/scalability-plot.dat' index 2 using 1:7 with linespoints pt 5 title 'busiest distiller (of its share)', 'scalability_data/scalability-plot.dat' index 2 using 1:8 with linespoints pt 9 title 'busiest FE link', 'scalability_data/scalability-plot.dat' index 2 using 1:3 axes x1y2 with steps lw 2 title 'distillers', 'scalability_data/scalability-plot.dat' index 2 using 1:4 axes x1y2 with steps lw 2 dt 2 title 'front ends'
unset multiplot
set terminal pngcairo size 1380,440 font ',10'
set output '/work/main/docs/experiments/scalability-linearity.png'
set multiplot layout 1,3 title 'Highest offered load kept up with, per configuration (labels: front ends)'
set size noratio
unset y2tics
unset y2label
set ytics mirror
set autoscale
set xrange [0:*]
set yrange [0:*]
set xtics 1
set xlabel 'distillers'
set ylabel 'req/s kept up with'
set key inside top left
set title 'A: this machine, 1 front end'; plot 'scalability_data/scalability-linearity.dat' index 0 using 1:2 with linespoints pt 7 lw 2 title 'measured', 'scalability_data/scalability-linearity.dat' index 0 using 1:4 with linespoints dt 2 pt 6 title 'linear: median rate per distiller', 'scalability_data/scalability-linearity.dat' index 0 using 1:2:(sprintf('%dF', $3)) with labels offset 0,1 font ',8' notitle
set title 'A: this machine, 2 front ends'; plot 'scalability_data/scalability-linearity.dat' index 1 using 1:2 with linespoints pt 7 lw 2 title 'measured', 'scalability_data/scalability-linearity.dat' index 1 using 1:4 with linespoints dt 2 pt 6 title 'linear: median rate per distiller', 'scalability_data/scalability-linearity.dat' index 1 using 1:2:(sprintf('%dF', $3)) with labels offset 0,1 font ',8' notitle
set title 'B: namespace hosts (shaped FE links, distillers 1 cgroup each)'; plot 'scalability_data/scalability-linearity.dat' index 2 using 1:2 with linespoints pt 7 lw 2 title 'measured', 'scalability_data/scalability-linearity.dat' index 2 using 1:4 with linespoints dt 2 pt 6 title 'linear: median rate per distiller', 'scalability_data/scalability-linearity.dat' index 2 using 1:2:(sprintf('%dF', $3)) with labels offset 0,1 font ',8' notitle
unset multiplot

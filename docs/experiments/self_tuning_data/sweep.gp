set terminal pngcairo size 1300,800 font 'sans,10' noenhanced
set xrange [0:*]
set output '../self_tuning_d_sweep.png'
set multiplot layout 2,1
set grid; set key top left horizontal opaque box
set lmargin 10; set rmargin 4
set linetype 1 lc rgb '#7b2cbf'
set linetype 2 lc rgb '#1f77b4'
set linetype 3 lc rgb '#2ca02c'
set linetype 4 lc rgb '#ff7f0e'
set linetype 5 lc rgb '#d62728'
set linetype 6 lc rgb '#8c564b'
set linetype 7 lc rgb '#17becf'
set title 'Distillers alive (from the beacons) with the load 8,55@10 req/s (rate@s), for each D; H = 4'
set ylabel 'distillers'; set yrange [0:*]; set xlabel ''
plot 'sweep_d0_h4.dat' using 1:8 with steps lw 2 title 'D = 0 s', 'sweep_d1_h4.dat' using 1:7 with steps lw 2 title 'D = 1 s', 'sweep_d5_h4.dat' using 1:5 with steps lw 2 title 'D = 5 s', 'sweep_d10_h4.dat' using 1:5 with steps lw 2 title 'D = 10 s', 'sweep_d20_h4.dat' using 1:5 with steps lw 2 title 'D = 20 s'
set title "Class mean queue (the manager's smoothed queue, mean over the distillers); H = 4"
set ylabel 'tasks'; set xlabel 'time since the load started (s)'
plot 'sweep_d0_h4.dat' using 1:10 with steps lw 1.5 title 'D = 0 s', 'sweep_d1_h4.dat' using 1:9 with steps lw 1.5 title 'D = 1 s', 'sweep_d5_h4.dat' using 1:7 with steps lw 1.5 title 'D = 5 s', 'sweep_d10_h4.dat' using 1:7 with steps lw 1.5 title 'D = 10 s', 'sweep_d20_h4.dat' using 1:7 with steps lw 1.5 title 'D = 20 s', 4 with lines dt 3 lc rgb 'black' title 'H'
unset multiplot

set terminal pngcairo size 1300,1150 font 'sans,10' noenhanced
set output '../self_tuning.png'
set multiplot
set grid; set key outside top center horizontal; set lmargin 10; set rmargin 10
dat = 'main.dat'; load = 'main.load'
set linetype 1 lc rgb '#1f77b4' lw 1.6
set linetype 2 lc rgb '#ff7f0e' lw 1.6
set linetype 3 lc rgb '#2ca02c' lw 1.6
set linetype 4 lc rgb '#d62728' lw 1.6
set linetype 5 lc rgb '#9467bd' lw 1.6
set title "(a) Distiller queue lengths over time (manager's smoothed queue per distiller, from its beacons every 0.5 s); H = 4, D = 5 s; dashed: spawns and reaps, red: SIGKILL"
set origin 0,0.56; set size 1,0.44
set xrange [0:260]; set yrange [0:11.3]; set ylabel 'queue length (tasks)'; set xlabel ''
set arrow 1 from 0.06,graph 0 to 0.06,graph 1 nohead lc rgb '#2060c0' dt 2 lw 1.2 front
set label 1 'd1 spawned' at 0.06,graph 0.97 rotate by 90 right offset -0.6,0 font ',8' tc rgb '#2060c0' front
set arrow 2 from 6.53,graph 0 to 6.53,graph 1 nohead lc rgb '#2060c0' dt 2 lw 1.2 front
set label 2 'd2 spawned' at 6.53,graph 0.97 rotate by 90 right offset -0.6,0 font ',8' tc rgb '#2060c0' front
set arrow 3 from 99.83,graph 0 to 99.83,graph 1 nohead lc rgb '#2060c0' dt 2 lw 1.2 front
set label 3 'd3 spawned' at 99.83,graph 0.97 rotate by 90 right offset -0.6,0 font ',8' tc rgb '#2060c0' front
set arrow 4 from 150.0,graph 0 to 150.0,graph 1 nohead lc rgb '#d00000' dt 1 lw 1.2 front
set label 4 'd1, d2 killed' at 150.0,graph 0.97 rotate by 90 right offset -0.6,0 font ',8' tc rgb '#d00000' front
set arrow 5 from 150.37,graph 0 to 150.37,graph 1 nohead lc rgb '#2060c0' dt 2 lw 1.2 front
set label 5 'd4, d5 spawned' at 150.37,graph 0.97 rotate by 90 right offset -0.6,0 font ',8' tc rgb '#2060c0' front
set arrow 6 from 248.71,graph 0 to 248.71,graph 1 nohead lc rgb '#808080' dt 2 lw 1.2 front
set label 6 'd4 reaped' at 248.71,graph 0.97 rotate by 90 right offset -0.6,0 font ',8' tc rgb '#808080' front
set arrow 7 from 249.96,graph 0 to 249.96,graph 1 nohead lc rgb '#808080' dt 2 lw 1.2 front
set label 7 'd3, d5 reaped' at 249.96,graph 0.97 rotate by 90 right offset -0.6,0 font ',8' tc rgb '#808080' front
plot for [i=2:6] dat using 1:i with steps title 'distiller '.(i-1), 4.0 with lines dt 3 lc rgb 'black' title 'H'
unset arrow; unset label
set title 'Offered load (tacc play, Poisson, per second) and distillers alive'
set origin 0,0.33; set size 1,0.23
set ylabel 'requests/s'; set y2label 'distillers'; set y2tics 1; set ytics nomirror; set yrange [0:*]
set y2range [0:4]
plot load using 1:2 with steps lc rgb '#404040' title 'offered', load using 1:6 with impulses lc rgb '#d00000' lw 2 title 'approximate answers/s', dat using 1:7 axes x1y2 with steps lc rgb '#2060c0' lw 2 title 'distillers (beacon)'
unset y2label; unset y2tics; set ytics mirror
set title "(b) Enlargement of (a) around the SIGKILL of the 2 oldest distillers at 150.0 s"
set origin 0,0; set size 1,0.33
set xrange [140.0:180.0]; set yrange [0:11.3]; set ylabel 'queue length (tasks)'; set xlabel 'time since the load started (s)'
set arrow 1 from 150.0,graph 0 to 150.0,graph 1 nohead lc rgb '#d00000' dt 1 lw 1.2 front
set label 1 'd1, d2 killed' at 150.0,graph 0.97 rotate by 90 right offset -0.6,0 font ',8' tc rgb '#d00000' front
set arrow 2 from 150.37,graph 0 to 150.37,graph 1 nohead lc rgb '#2060c0' dt 2 lw 1.2 front
set label 2 'd4, d5 spawned' at 150.37,graph 0.97 rotate by 90 right offset -0.6,0 font ',8' tc rgb '#2060c0' front
plot for [i=2:6] dat using 1:i with steps title 'distiller '.(i-1), 4.0 with lines dt 3 lc rgb 'black' title 'H'
unset multiplot

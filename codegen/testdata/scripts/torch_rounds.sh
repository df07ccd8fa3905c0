#!/bin/bash
# torch_rounds.sh ROUNDS OUT [PYTORCH_BENCH_DIR]: the side-by-side speed
# measurement of issues 12 and 13, in interleaved rounds. Each round runs,
# from the benchmark module (codegen/testdata/bench, built once into a test
# binary), the S, M, L, LeNet and transformer-block train steps at 1 and 2
# threads, the S, M and L steps again with BPGEN_KERNELS=avx2, then the
# PyTorch scripts (bench.py with OpenBLAS autodetected and with
# OPENBLAS_CORETYPE=Haswell, cnn_attn.py) from PYTORCH_BENCH_DIR (default
# ../shared/bench, outside this repository; it needs Debian's python3-torch,
# python3-numpy and libopenblas0-openmp). torch_rounds.py OUT then prints
# the per-round bpgen/PyTorch ratios' medians and ranges. Run from the
# repository's root, on a quiet machine, and say which CPU (lscpu):
#
# Each thread count runs in its own invocation with GOMAXPROCS set to it:
# with -test.cpu 1,2 in one invocation, the first result of a b.Loop
# sub-benchmark is measured at the GOMAXPROCS left over from before (Go
# issue 49980: here, 2), not at 1.
#
#	codegen/testdata/scripts/torch_rounds.sh 6 /tmp/r && python3 codegen/testdata/scripts/torch_rounds.py /tmp/r
set -e
R=$1; O=$2; PB=$(realpath "${3:-../shared/bench}")
BIN=$(mktemp -d)/bench.test
go test -C codegen/testdata/bench -c -o "$BIN" .
PT="env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp /usr/bin/python3"
PTH="env -u OPENBLAS_L2_SIZE OPENBLAS_CORETYPE=Haswell LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp /usr/bin/python3"
rm -f "$O".*
cd codegen/testdata/bench
for r in $(seq "$R"); do
  echo "round $r $(date +%T) $(cat /proc/loadavg)" >> "$O.log"
  for c in 1 2; do
    GOMAXPROCS=$c "$BIN" -test.run='^$' -test.bench='TrainStep$/(S|M|L)/passes=on|TrainStepLeNet/LeNet/passes=on|TransformerBlock/step=passes-on' -test.cpu $c -test.benchtime=20x -test.benchmem | sed "s/^Bench/R$r Bench/" >> "$O.go.txt"
    GOMAXPROCS=$c BPGEN_KERNELS=avx2 "$BIN" -test.run='^$' -test.bench='TrainStep$/(S|M|L)/passes=on' -test.cpu $c -test.benchtime=20x -test.benchmem | sed "s/^Bench/R$r Bench/" >> "$O.avx2.txt"
  done
  for t in 1 2; do
    $PT "$PB/bench.py" --threads $t --what step | sed "s/^/R$r /" >> "$O.pt.txt"
    $PTH "$PB/bench.py" --threads $t --what step | sed "s/^/R$r /" >> "$O.pth.txt"
  done
  $PT "$PB/cnn_attn.py" | sed "s/^/R$r /" >> "$O.ptcnn.txt"
done
echo "done $(date +%T) $(cat /proc/loadavg)" >> "$O.log"

#!/usr/bin/python3
"""numpy (OpenBLAS) side of BenchmarkGemmTable: the same float32 products of
the M and L train steps, printed in Go benchmark format so that benchstat
puts them next to this package's rows (impl=numpy, or impl=numpy-<coretype>
when OPENBLAS_CORETYPE is set, e.g. Haswell for OpenBLAS's AVX2 kernels on an
AVX-512 machine).

Never run in tests or CI. By hand, Debian's python3-numpy with OpenBLAS
(OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset in this command alone):

  PY="env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp /usr/bin/python3"
  $PY runtime/kernels/testdata/gemm_table.py --threads 1 --rounds 6 > numpy.txt
  # AVX2 kernels on an AVX-512 machine: OPENBLAS_CORETYPE=Haswell instead of -u OPENBLAS_CORETYPE

Each round times every shape once (rounds interleave); per shape it reports
the mean time per call over about --target seconds, GFLOP/s and the fastest
single call (min-ns/op), like the Go benchmark.
"""
import argparse, os, sys

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--rounds", type=int, default=6)
ap.add_argument("--target", type=float, default=0.2, help="seconds per shape and round")
ap.add_argument("--shapes", default="", help="comma-separated shape names (default all)")
args = ap.parse_args()
for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[v] = str(args.threads)
import time
import numpy as np

# name, transA, transB, m, n, k — exactly gemmTableShapes in table_test.go.
SHAPES = [
    ("M.fwd1", False, False, 256, 256, 784),
    ("M.fwd2", False, False, 256, 10, 256),
    ("M.dW2", True, False, 256, 10, 256),
    ("M.dX2", False, True, 256, 256, 10),
    ("M.dW1", True, False, 784, 256, 256),
    ("L.fwd", False, False, 128, 512, 512),
    ("L.fwd7", False, False, 128, 10, 512),
    ("L.dW7", True, False, 512, 10, 128),
    ("L.dX7", False, True, 128, 512, 10),
    ("L.dW", True, False, 512, 512, 128),
    ("L.dX", False, True, 128, 512, 512),
    ("sq1024", False, False, 1024, 1024, 1024),
]
if args.shapes:
    keep = set(args.shapes.split(","))
    SHAPES = [s for s in SHAPES if s[0] in keep]

core = os.environ.get("OPENBLAS_CORETYPE", "")
impl = "numpy" + ("-" + core.lower() if core else "")
rng = np.random.default_rng(7)
ops = []
for name, ta, tb, m, n, k in SHAPES:
    # Stored row-major as the Go code stores them; .T gives op(X) without a
    # copy, and numpy hands OpenBLAS the transpose flag.
    a = rng.uniform(-1, 1, (k, m) if ta else (m, k)).astype(np.float32)
    b = rng.uniform(-1, 1, (n, k) if tb else (k, n)).astype(np.float32)
    c = np.empty((m, n), dtype=np.float32)
    ops.append((name, a.T if ta else a, b.T if tb else b, c, 2.0 * m * n * k))

print("goos: linux\ngoarch: amd64\npkg: github.com/bpgen/bpgen/runtime/kernels")
print("cpu: " + next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?"))
for _ in range(args.rounds):
    for name, a, b, c, flops in ops:
        np.dot(a, b, out=c)  # warm-up
        n, best, t0 = 0, float("inf"), time.perf_counter()
        while True:
            s = time.perf_counter()
            np.dot(a, b, out=c)
            e = time.perf_counter()
            best, n = min(best, e - s), n + 1
            if e - t0 >= args.target:
                break
        ns = (e - t0) / n * 1e9
        print(f"BenchmarkGemmTable/shape={name}/impl={impl}/threads={args.threads}-2\t{n}\t{ns:.0f} ns/op\t"
              f"{flops / ns:.2f} GFLOP/s\t{best * 1e9:.0f} min-ns/op", flush=True)

package kernels

// Cache blocking of the assembly kernel sets (amd64). MC must be a multiple
// of the kernel's MR and NC of its NR; KC must be a multiple of 4. The actual
// block sizes are balanced (balancedBlock: k=784, KC=512 runs as 2×392), and
// the k blocking depends only on k and KC, never on the thread count.
//
// Chosen by sweeping MC×KC×NC single-threaded on the three large benchmark
// shapes (MxKxN 256x784x256, 128x512x512, 1024x1024x1024; see
// BenchmarkBlockSizes, run with KERNELS_SWEEP=1) on an AMD EPYC (Zen 5, 48 KiB
// L1d and 1 MiB L2 per core, 32 MiB L3), best-of-N GFLOP/s:
//
//   - float32 AVX-512, 12×32 kernel: MC 192, KC 512, NC 4096 gave 232/223/253;
//     KC 512 was best or within 1% everywhere, KC 128 lost 5-12%, NC 512 vs
//     4096 and MC 96..384 within ~2% (MC 384 with KC 384 lost 12% on 1024³).
//     The micro-kernel alone (BenchmarkMicroKernel) peaks at ~265-280.
//   - float64 AVX-512, 12×16 kernel: MC 96, KC 512, NC 2048 gave 115/112/118;
//     KC 128 lost 5-15%, NC 256 lost up to 8% on 1024³.
//   - float32 AVX2, 6×16 kernel: MC 72, KC 384, NC 4096 gave 118/~115/137;
//     the whole grid was within ~8% except KC 128.
//   - float64 AVX2, 6×8 kernel: MC 72, KC 256, NC 2048 gave 63/~58/67; flat
//     within ~10%.
const (
	avx512MC32, avx512KC32, avx512NC32 = 192, 512, 4096
	avx512MC64, avx512KC64, avx512NC64 = 96, 512, 2048
	avx2MC32, avx2KC32, avx2NC32       = 72, 384, 4096
	avx2MC64, avx2KC64, avx2NC64       = 72, 256, 2048
)

//go:build !amd64

package kernels

const (
	hasAVX2   = false
	hasAVX512 = false

	// portableNarrow: use the 4×4 portable kernel (arm64, riscv64 and
	// others have 32 FP registers).
	portableNarrow = false
)

// No assembly kernels off amd64; kernels32/kernels64 never select these
// because the backends report unavailable.
var (
	avx512Set32 = portable32
	avx2Set32   = portable32
	avx512Set64 = portable64
	avx2Set64   = portable64
)

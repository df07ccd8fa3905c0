//go:build amd64

package kernels

import "golang.org/x/sys/cpu"

// portableNarrow selects the 2×4 portable kernel (amd64 has only 16 XMM
// registers).
const portableNarrow = true

var (
	hasAVX512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX2 && cpu.X86.HasFMA
	hasAVX2   = cpu.X86.HasAVX2 && cpu.X86.HasFMA
)

// Assembly kernel sets (kernels generated into gemm_amd64.s by
// internal/asmgen). Cache-block sizes: see the measurements in blocking.go.
var (
	avx512Set32 = &kernelSet[float32]{mr: 12, nr: 32, mc: avx512MC32, kc: avx512KC32, nc: avx512NC32, kern: sgemmKernelAVX512, edge4: sgemmKernelAVX512Edge4, edge8: sgemmKernelAVX512Edge8, small: sgemmSmallAVX512, packA: packRows12F32AVX, packBT: packRows32F32AVX,
		copyAT: packCopy12F32AVX, copyB: packCopy32F32AVX}
	avx512Set64 = &kernelSet[float64]{mr: 12, nr: 16, mc: avx512MC64, kc: avx512KC64, nc: avx512NC64, kern: dgemmKernelAVX512, small: dgemmSmallAVX512, packA: packRows12F64AVX, packBT: packRows16F64AVX,
		copyAT: packCopy12F64AVX, copyB: packCopy16F64AVX}
	avx2Set32 = &kernelSet[float32]{mr: 6, nr: 16, mc: avx2MC32, kc: avx2KC32, nc: avx2NC32, kern: sgemmKernelAVX2, small: sgemmSmallAVX2, packBT: packRows16F32AVX,
		packA: packRows6F32AVX, copyAT: packCopy6F32AVX, copyB: packCopy16F32AVX}
	avx2Set64 = &kernelSet[float64]{mr: 6, nr: 8, mc: avx2MC64, kc: avx2KC64, nc: avx2NC64, kern: dgemmKernelAVX2, small: dgemmSmallAVX2, packBT: packRows8F64AVX,
		packA: packRows6F64AVX, copyAT: packCopy6F64AVX, copyB: packCopy8F64AVX}
)

package kernels

// Cache blocking of the assembly kernel sets (amd64).
//
// MC must be a multiple of the kernel's MR and NC of its NR. KC fixes the k
// blocking, which is the same for every thread count (results depend on it).
const (
	avx512MC32, avx512KC32, avx512NC32 = 192, 256, 4096
	avx512MC64, avx512KC64, avx512NC64 = 96, 256, 2048
	avx2MC32, avx2KC32, avx2NC32       = 144, 256, 4096
	avx2MC64, avx2KC64, avx2NC64       = 72, 256, 2048
)

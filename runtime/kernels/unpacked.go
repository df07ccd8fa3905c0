package kernels

// UnpackedK returns the largest k for which Sgemm and Dgemm compute an
// m×n product with op(A) = A and op(B) = B (neither transposed) without
// packing their operands (the small-product path), or 0 if there is
// none. A caller summing a long product of a small m×n result (a
// convolution's weight gradient over a batch) can cut the sum into pieces
// of this length, accumulating with beta = 1: unpacked, a piece costs its
// multiply-adds, where one long packed product copies both operands first
// (for 6×25 about 5 times slower).
func UnpackedK(m, n int) int {
	if m <= 0 || n <= 0 {
		return 0
	}
	return smallMNK / (m * n)
}

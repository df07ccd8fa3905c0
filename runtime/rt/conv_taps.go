package rt

// The tap path of float32 convolutions with stride 1 along rows and few
// taps (LeNet's first convolution: one input channel, 5×5): no column
// matrix. An AVX-512 kernel (conv_taps_amd64.s) computes a block of 6
// output channels × up to 32 output columns (an AVX2 one, 16) over all
// output rows of one sample, the taps' inputs read straight from the
// (padded) input planes at fixed offsets; the weight gradient keeps
// per-lane partial sums of every weight across the batch and adds the
// lanes up at the end. With few taps the GEMM's k is too short and im2col
// costs more than the multiply-adds; the tap path is measured in
// BenchmarkConv2DOps.

// maxTaps bounds the taps (C/Groups·KH·KW) of the tap path: its offsets
// live in an array on the stack, and with more taps a GEMM's k is long
// enough for the column matrix to pay.
const maxTaps = 64

// tapBlock is the output channels of one call of a tap kernel.
const tapBlock = 6

// tapAccLen is the length of one tap's partial sums in the weight
// gradient's working space: tapBlock channels × 2 vectors × 16 lanes (the
// AVX2 kernel's 2 vectors × 8 lanes are the first 16 of each channel's 32;
// the rest stay zeros).
const tapAccLen = tapBlock * 2 * 16

// taps reports whether the convolution's shape suits the tap path (the
// kernels also need float32 and AVX-512, or AVX2 and 16 output columns:
// see tapsOn): stride 1 along
// rows, at most maxTaps taps, at least 4 output channels per group (a
// block of 6 at least two thirds used) and 12 output columns (the two
// vectors of a row at least three eighths used).
func (s ConvShape) taps() bool {
	return s.SW == 1 && s.C/s.Groups*s.KH*s.KW <= maxTaps && s.O/s.Groups >= 4 && s.WO >= 12
}

// padded returns the rows and columns of an input plane with its padding.
func (s ConvShape) padded() (hp, wp int) { return s.H + 2*s.PH, s.W + 2*s.PW }

// tapLen is the working space of the tap path: one sample's padded input
// channels of a group (if padded), a sink for the rows of a block's
// channels past O/Groups, and the weight gradient's partial sums.
func (s ConvShape) tapLen() int {
	if !s.taps() {
		return 0
	}
	cg, og := s.C/s.Groups, s.O/s.Groups
	hp, wp := s.padded()
	n := s.HO * s.WO
	if s.PH != 0 || s.PW != 0 {
		n += cg * hp * wp
	}
	blocks := (og + tapBlock - 1) / tapBlock
	return n + s.Groups*blocks*cg*s.KH*s.KW*tapAccLen
}

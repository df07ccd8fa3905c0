package rt

import "math"

// ParamSum is a 64-bit hash (FNV-1a over the elements' bits) of a model's
// flat parameter vector. Generated models take it at Forward and compare
// it at Backward, so that a change of the parameters in between (through
// Params, ParamVector, SetParams or ParamTensors, in place or not) is an
// error rather than a gradient of residuals that belong to other
// parameters. Any change of the bits is detected except with probability
// about 2⁻⁶⁴ (a hash collision); writing back the same values is not a
// change. It costs one pass over the parameters and does not allocate.
func ParamSum[T Float](xs []T) uint64 {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	h := uint64(offset)
	for _, x := range xs {
		var b uint64
		if _, ok := any(x).(float32); ok {
			b = uint64(math.Float32bits(float32(x)))
		} else {
			b = math.Float64bits(float64(x))
		}
		h = (h ^ b) * prime
	}
	return h
}

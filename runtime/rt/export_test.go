package rt

// TapPath reports whether s's shape takes the tap path of the float32
// convolutions on AVX-512 (for tests to check their shapes cover it).
func TapPath(s ConvShape) bool { return s.taps() }

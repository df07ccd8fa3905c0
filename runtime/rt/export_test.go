package rt

// TapShape reports whether s's shape suits the tap path of the float32
// convolutions, and TapPath whether a float32 convolution of that shape
// takes it on the current backend (for tests to check their shapes cover
// it).
func TapShape(s ConvShape) bool { return s.taps() }

func TapPath(s ConvShape) bool { return tapsOn[float32](s) }

//go:build !amd64

package rt

// There is no tap kernel on this architecture: tapsOn is false, so the
// column-matrix path runs and convJob never calls the tap products.
func tapsOn[T Float](s ConvShape) bool { return false }

const noTaps = "rt: the tap path has no kernel on this architecture"

func tapsFwd[T Float](s ConvShape, out, x, w, ws []T, n int, first bool) { panic(noTaps) }
func tapsDW[T Float](s ConvShape, x, g, ws []T, n int, first bool)       { panic(noTaps) }
func tapsSum[T Float](s ConvShape, dw, col []T, slots int)               { panic(noTaps) }

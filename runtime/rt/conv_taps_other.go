//go:build !amd64

package rt

// tapsRun runs the tap path if it applies; there is no tap kernel on this
// architecture, so the column-matrix path runs.
func tapsRun[T Float](fwd bool, s ConvShape, y, x, w, col []T) bool { return false }

//go:build !unix

package kernels

func processCPUTime() (int64, bool) { return 0, false }

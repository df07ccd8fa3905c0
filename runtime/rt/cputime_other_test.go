//go:build !unix

package rt_test

func processCPUTime() (int64, bool) { return 0, false }

//go:build !unix

package codegen

func processCPUTime() (int64, bool) { return 0, false }

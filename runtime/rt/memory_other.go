//go:build !linux

package rt

// systemMemory is the machine's RAM and swap in bytes (0: unknown here).
func systemMemory() int64 { return 0 }

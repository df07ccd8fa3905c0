package rt

import (
	"fmt"
	"unsafe"
)

// Memory is New's budget for a model's buffers: Alloc counts the bytes it
// allocates and refuses, with an error instead of Go's panic or fatal
// out-of-memory, the allocation that would take the total past Limit.
type Memory struct {
	// Where prefixes errors, e.g. "mlp: Config".
	Where string
	// Limit is the largest total in bytes; zero means MemoryLimit().
	Limit int64
	// Used is the total of the successful Allocs.
	Used int64
}

// maxBytes is the largest allocation the Go runtime accepts on 64-bit
// platforms (a larger make panics with "len out of range").
const maxBytes = 1 << 47

// MemoryLimit is the default Limit of a Memory: the machine's RAM and
// swap where the system reports them, else 128 TiB (beyond which Go's make
// panics).
func MemoryLimit() int64 {
	if n := systemMemory(); n > 0 && n < maxBytes {
		return n
	}
	return maxBytes
}

// Alloc returns a new slice of n zero elements, or an error (naming what
// for, e.g. "the f32 arena of training") if n is negative or the budget's
// total would exceed its limit.
func Alloc[T any](mem *Memory, n int, what string) ([]T, error) {
	var zero T
	size := int64(unsafe.Sizeof(zero))
	limit := mem.Limit
	if limit == 0 {
		limit = MemoryLimit()
	}
	if n < 0 || size != 0 && int64(n) > (limit-mem.Used)/size {
		return nil, fmt.Errorf("%s: the capacities need more memory than this machine has (%s: %d elements, with %s already allocated; the limit is %s)", mem.Where, what, n, FormatBytes(mem.Used), FormatBytes(limit))
	}
	mem.Used += int64(n) * size
	return make([]T, n), nil
}

// FormatBytes prints a byte count in binary units: "1.5 GiB".
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	x, i := float64(n)/unit, 0
	for x >= unit && i < 5 {
		x /= unit
		i++
	}
	return fmt.Sprintf("%.1f %ciB", x, "KMGTPE"[i])
}

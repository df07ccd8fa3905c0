//go:build mpi && cgo

package dist

/*
#cgo pkg-config: ompi-c
#include <stdlib.h>
#include <mpi.h>

// Open MPI's handles are macros over addresses of globals: cgo cannot name
// them, so these wrappers do.
static int bp_init(int *provided) {
	int done = 0;
	MPI_Initialized(&done);
	if (done) {
		return MPI_Query_thread(provided);
	}
	return MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, provided);
}
static int bp_serialized(int provided) { return provided >= MPI_THREAD_SERIALIZED; }
static int bp_rank(int *r) { return MPI_Comm_rank(MPI_COMM_WORLD, r); }
static int bp_size(int *s) { return MPI_Comm_size(MPI_COMM_WORLD, s); }
static int bp_allreduce_f32(float *buf, int n) {
	return MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
}
static int bp_allreduce_f64(double *buf, int n) {
	return MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
}
static int bp_bcast_f32(float *buf, int n) { return MPI_Bcast(buf, n, MPI_FLOAT, 0, MPI_COMM_WORLD); }
static int bp_bcast_f64(double *buf, int n) { return MPI_Bcast(buf, n, MPI_DOUBLE, 0, MPI_COMM_WORLD); }
static int bp_finalize(void) { return MPI_Finalize(); }
static void bp_error_string(int code, char *s) {
	int n = 0;
	MPI_Error_string(code, s, &n);
}
static int bp_max_error_string(void) { return MPI_MAX_ERROR_STRING; }
*/
import "C"

import (
	"fmt"
	"sync"
	"unsafe"
)

// HaveMPI reports whether this build has the MPI implementation (-tags mpi).
const HaveMPI = true

// mpiComm is MPI_COMM_WORLD. MPI is initialized with
// MPI_THREAD_SERIALIZED (Go may run consecutive calls on different OS
// threads) and mu serializes the calls. MPI_COMM_WORLD keeps MPI's default
// error handler, MPI_ERRORS_ARE_FATAL: an error inside a collective (a
// peer that died, a broken connection) aborts the whole job, and mpirun
// ends every rank, rather than leave one waiting for a peer that will not
// come.
type mpiComm struct {
	mu         sync.Mutex
	rank, size int
	closed     bool
}

var (
	mpiOnce sync.Once
	mpiC    *mpiComm
	mpiErr  error
)

// OpenMPI initializes MPI (once per process) and returns the communicator
// of MPI_COMM_WORLD: every process mpirun started, numbered by its rank.
// Run without mpirun, the process is a world of one (MPI's singleton).
func OpenMPI() (Comm, error) {
	mpiOnce.Do(func() {
		var provided C.int
		if rc := C.bp_init(&provided); rc != C.MPI_SUCCESS {
			mpiErr = mpiError("MPI_Init_thread", rc)
			return
		}
		if C.bp_serialized(provided) == 0 {
			mpiErr = fmt.Errorf("dist: this MPI provides thread level %d, below MPI_THREAD_SERIALIZED, which a Go program needs (its goroutines move between threads)", int(provided))
			return
		}
		var r, s C.int
		if rc := C.bp_rank(&r); rc != C.MPI_SUCCESS {
			mpiErr = mpiError("MPI_Comm_rank", rc)
			return
		}
		if rc := C.bp_size(&s); rc != C.MPI_SUCCESS {
			mpiErr = mpiError("MPI_Comm_size", rc)
			return
		}
		mpiC = &mpiComm{rank: int(r), size: int(s)}
	})
	if mpiErr != nil {
		return nil, mpiErr
	}
	return mpiC, nil
}

func mpiError(call string, rc C.int) error {
	buf := make([]byte, int(C.bp_max_error_string())+1)
	C.bp_error_string(rc, (*C.char)(unsafe.Pointer(&buf[0])))
	n := 0
	for n < len(buf) && buf[n] != 0 {
		n++
	}
	return fmt.Errorf("dist: %s failed: %s (MPI error %d)", call, buf[:n], int(rc))
}

func (c *mpiComm) Rank() int { return c.rank }
func (c *mpiComm) Size() int { return c.size }

// maxCount is the most elements one MPI call moves (MPI counts are C
// ints); longer buffers go in several calls.
const maxCount = 1 << 30

// call runs f, one MPI call, on consecutive pieces of at most maxCount of
// n elements (f gets the offset and length of each), under c.mu.
func (c *mpiComm) call(name string, n int, f func(off, count int) C.int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return fmt.Errorf("dist: %s after Close", name)
	}
	for off := 0; off < n; off += maxCount {
		if rc := f(off, min(maxCount, n-off)); rc != C.MPI_SUCCESS {
			return mpiError(name, rc)
		}
	}
	return nil
}

func (c *mpiComm) AllReduceSum32(buf []float32) error {
	return c.call("MPI_Allreduce", len(buf), func(off, n int) C.int {
		return C.bp_allreduce_f32((*C.float)(unsafe.Pointer(&buf[off])), C.int(n))
	})
}

func (c *mpiComm) AllReduceSum64(buf []float64) error {
	return c.call("MPI_Allreduce", len(buf), func(off, n int) C.int {
		return C.bp_allreduce_f64((*C.double)(unsafe.Pointer(&buf[off])), C.int(n))
	})
}

func (c *mpiComm) Broadcast32(buf []float32) error {
	return c.call("MPI_Bcast", len(buf), func(off, n int) C.int {
		return C.bp_bcast_f32((*C.float)(unsafe.Pointer(&buf[off])), C.int(n))
	})
}

func (c *mpiComm) Broadcast64(buf []float64) error {
	return c.call("MPI_Bcast", len(buf), func(off, n int) C.int {
		return C.bp_bcast_f64((*C.double)(unsafe.Pointer(&buf[off])), C.int(n))
	})
}

// Close calls MPI_Finalize; MPI cannot be initialized again in this
// process.
func (c *mpiComm) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	if rc := C.bp_finalize(); rc != C.MPI_SUCCESS {
		return mpiError("MPI_Finalize", rc)
	}
	return nil
}

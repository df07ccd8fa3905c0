// Package dist is the collective a data-parallel trainer needs: every rank
// (worker process) runs the same generated model on its share of the
// global batch, and between Backward and Apply the gradients are summed
// over all ranks and divided by their number (AllReduceMean), so that
// Apply sees the gradient of the whole batch.
//
//	comm, err := dist.Open()            // MPI under mpirun (-tags mpi), else one process
//	defer comm.Close()
//	// specs: the names and shapes of m.Tensors(); the last argument names
//	// the model and optimizer, which must be the same on every rank.
//	dp, err := dist.NewDataParallel(comm, m.ParamVector(), m.GradVector(), specs, mlp.Source+" "+fmt.Sprint(opt))
//	// dp broadcast rank 0's params: every rank starts from the same weights
//	for each global batch {
//		m.Forward(share of this rank)   // N = global batch / comm.Size()
//		m.Backward()
//		dp.AllReduceGrads()              // GradVector ← mean over ranks, in place
//		m.Apply()
//	}
//
// The gradients of a generated model are one flat buffer (GradVector), so
// one all-reduce per step reduces all of them without copying.
//
// Three implementations of Comm: Local (one process, Size 1), Group (ranks
// as goroutines of one process, for tests) and, built with -tags mpi, MPI
// through cgo on Open MPI (OpenMPI); the default build is pure Go and
// OpenMPI returns an error there.
package dist

import (
	"errors"
	"fmt"
	"os"
	"strconv"
)

// Comm is a communicator: Size ranks numbered 0 … Size−1, each a process
// (or, for Group, a goroutine) running the same program. Every collective
// must be called by every rank in the same order with buffers of the same
// length; it returns when this rank's part is done. A Comm is not safe for
// concurrent use by several goroutines of one rank.
type Comm interface {
	// Rank is this rank's number, 0 ≤ Rank < Size.
	Rank() int
	// Size is the number of ranks.
	Size() int
	// AllReduceSum32 replaces buf, on every rank, by the elementwise sum
	// of buf over all ranks. Every rank gets the same bits.
	AllReduceSum32(buf []float32) error
	// AllReduceSum64 is AllReduceSum32 for float64.
	AllReduceSum64(buf []float64) error
	// Broadcast32 copies rank 0's buf into buf on every other rank.
	Broadcast32(buf []float32) error
	// Broadcast64 is Broadcast32 for float64.
	Broadcast64(buf []float64) error
	// Close ends this rank's participation (MPI_Finalize for MPI); the Comm
	// must not be used after.
	Close() error
}

// Float is the element type of the buffers of the generic helpers.
type Float interface{ ~float32 | ~float64 }

// AllReduceSum replaces buf by its elementwise sum over all ranks.
func AllReduceSum[T Float](c Comm, buf []T) error {
	switch b := any(buf).(type) {
	case []float32:
		return c.AllReduceSum32(b)
	case []float64:
		return c.AllReduceSum64(b)
	}
	return fmt.Errorf("dist: AllReduceSum of %T: only []float32 and []float64", buf)
}

// AllReduceMean replaces buf by its elementwise mean over all ranks: the
// sum (AllReduceSum) times 1/Size, rounded once per element. With equal
// shares of a global batch on every rank, the mean of the ranks' gradients
// of a mean loss is the gradient of the mean loss over the global batch.
// For a Size that is a power of two the scaling is exact.
func AllReduceMean[T Float](c Comm, buf []T) error {
	if err := AllReduceSum(c, buf); err != nil {
		return err
	}
	if p := c.Size(); p > 1 {
		inv := T(1 / float64(p))
		for i := range buf {
			buf[i] *= inv
		}
	}
	return nil
}

// Broadcast copies rank 0's buf into buf on every rank.
func Broadcast[T Float](c Comm, buf []T) error {
	switch b := any(buf).(type) {
	case []float32:
		return c.Broadcast32(b)
	case []float64:
		return c.Broadcast64(b)
	}
	return fmt.Errorf("dist: Broadcast of %T: only []float32 and []float64", buf)
}

// Local is the communicator of a single process: Rank 0, Size 1, and
// collectives that leave buffers as they are.
type Local struct{}

func (Local) Rank() int                      { return 0 }
func (Local) Size() int                      { return 1 }
func (Local) AllReduceSum32([]float32) error { return nil }
func (Local) AllReduceSum64([]float64) error { return nil }
func (Local) Broadcast32([]float32) error    { return nil }
func (Local) Broadcast64([]float64) error    { return nil }
func (Local) Close() error                   { return nil }

// launcherSize is the world size mpirun (Open MPI's, or another launcher
// with the PMI conventions) announces to the processes it starts, or 0
// when the process was not started by one.
func launcherSize() int {
	for _, v := range []string{"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"} {
		if n, err := strconv.Atoi(os.Getenv(v)); err == nil && n > 0 {
			return n
		}
	}
	return 0
}

// ErrNoMPI is the error of OpenMPI in a build without -tags mpi.
var ErrNoMPI = errors.New("dist: this program was built without MPI support: build it with -tags mpi and cgo enabled (needs Open MPI: apt-get install libopenmpi-dev openmpi-bin pkg-config)")

// Open returns the MPI communicator (OpenMPI) when the process was started
// by mpirun, and Local otherwise. Started by mpirun in a build without
// -tags mpi, it fails rather than let every process train alone.
func Open() (Comm, error) {
	n := launcherSize()
	if n == 0 {
		return Local{}, nil
	}
	c, err := OpenMPI()
	if err != nil {
		return nil, fmt.Errorf("started by mpirun with %d ranks: %w", n, err)
	}
	return c, nil
}

//go:build !mpi || !cgo

package dist

// OpenMPI initializes MPI and returns the communicator of MPI_COMM_WORLD.
// This build has no MPI: it returns ErrNoMPI. Build with -tags mpi (and
// cgo, on by default) for the Open MPI implementation.
func OpenMPI() (Comm, error) { return nil, ErrNoMPI }

// HaveMPI reports whether this build has the MPI implementation (-tags mpi
// with cgo).
const HaveMPI = false

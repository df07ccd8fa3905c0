//go:build !mpi

package dist

// OpenMPI initializes MPI and returns the communicator of MPI_COMM_WORLD.
// This build has no MPI: it returns ErrNoMPI. Build with -tags mpi for the
// Open MPI implementation.
func OpenMPI() (Comm, error) { return nil, ErrNoMPI }

// HaveMPI reports whether this build has the MPI implementation (-tags mpi).
const HaveMPI = false

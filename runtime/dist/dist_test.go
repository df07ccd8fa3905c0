package dist

import (
	"errors"
	"strings"
	"sync"
	"testing"
)

// runGroup runs f on every rank of a Group of size ranks and returns each
// rank's error.
func runGroup(size int, f func(c Comm) error) []error {
	comms := NewGroup(size)
	errs := make([]error, size)
	var wg sync.WaitGroup
	for r, c := range comms {
		wg.Go(func() { errs[r] = f(c) })
	}
	wg.Wait()
	return errs
}

// TestAllReduceMean checks the averaging: rank r holds r+1 and i·(r+1) in
// element i; the mean over p ranks is (p+1)/2 and i·(p+1)/2, exact in
// binary floating point for these small integers and for p = 4 (a power
// of two: the 1/p scaling is exact), and within one rounding for p = 3.
func TestAllReduceMean(t *testing.T) {
	for _, p := range []int{1, 2, 3, 4} {
		got := make([][]float32, p)
		got64 := make([][]float64, p)
		errs := runGroup(p, func(c Comm) error {
			r := c.Rank()
			b := []float32{float32(r + 1), 0, float32(r + 1), float32(2 * (r + 1))}
			b64 := []float64{float64(r + 1), 0, float64(r + 1), float64(2 * (r + 1))}
			if err := AllReduceMean(c, b); err != nil {
				return err
			}
			if err := AllReduceMean(c, b64); err != nil {
				return err
			}
			got[r], got64[r] = b, b64
			return nil
		})
		for r, err := range errs {
			if err != nil {
				t.Fatalf("p=%d rank %d: %v", p, r, err)
			}
		}
		// sum = p(p+1)/2 · [1,0,1,2]; times float(1/p), rounded once.
		sum := float64(p * (p + 1) / 2)
		for r := range p {
			for i, k := range []float64{1, 0, 1, 2} {
				want32 := float32(sum*k) * float32(1/float64(p))
				want64 := sum * k * (1 / float64(p))
				if got[r][i] != want32 || got64[r][i] != want64 {
					t.Errorf("p=%d rank %d element %d: mean %v (f32), %v (f64), want %v, %v", p, r, i, got[r][i], got64[r][i], want32, want64)
				}
			}
		}
		if p == 4 && got[0][0] != 2.5 {
			t.Errorf("p=4: mean of 1…4 is %v, want 2.5 exactly", got[0][0])
		}
	}
}

// TestLocal checks the single-process communicator leaves buffers alone
// and Open returns it outside mpirun.
func TestLocal(t *testing.T) {
	t.Setenv("OMPI_COMM_WORLD_SIZE", "")
	t.Setenv("PMI_SIZE", "")
	t.Setenv("PMIX_SIZE", "")
	c, err := Open()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.(Local); !ok || c.Rank() != 0 || c.Size() != 1 {
		t.Fatalf("Open outside mpirun: %T rank %d size %d, want Local, 0, 1", c, c.Rank(), c.Size())
	}
	b := []float32{1.5, -2}
	if err := AllReduceMean(c, b); err != nil || b[0] != 1.5 || b[1] != -2 {
		t.Errorf("Local AllReduceMean: %v, %v", b, err)
	}
	if err := c.Close(); err != nil {
		t.Error(err)
	}
}

// TestOpenUnderMpirunWithoutMPI: started by mpirun, a build without MPI
// must fail, not train alone on every rank.
func TestOpenUnderMpirunWithoutMPI(t *testing.T) {
	if HaveMPI {
		t.Skip("this build has MPI")
	}
	t.Setenv("OMPI_COMM_WORLD_SIZE", "2")
	_, err := Open()
	if !errors.Is(err, ErrNoMPI) || !strings.Contains(err.Error(), "2 ranks") || !strings.Contains(err.Error(), "-tags mpi") {
		t.Fatalf("Open under mpirun without MPI: %v", err)
	}
}

var testSpecs = []ParamSpec{{"W1", []int{3, 2}}, {"b1", []int{2}}}

// TestDataParallelBroadcast: ranks with different initial params start
// from rank 0's.
func TestDataParallelBroadcast(t *testing.T) {
	const p = 3
	params := make([][]float32, p)
	errs := runGroup(p, func(c Comm) error {
		r := c.Rank()
		w := make([]float32, 8)
		for i := range w {
			w[i] = float32(10*r + i)
		}
		d, err := NewDataParallel(c, w, make([]float32, 8), testSpecs, "test")
		if err != nil {
			return err
		}
		params[r] = w
		return d.InSync()
	})
	for r, err := range errs {
		if err != nil {
			t.Fatalf("rank %d: %v", r, err)
		}
	}
	for r := range p {
		for i, v := range params[r] {
			if v != float32(i) {
				t.Fatalf("rank %d param %d = %v after the broadcast, want rank 0's %d", r, i, v, i)
			}
		}
	}
}

// TestDataParallelMismatch: a rank with another model (shapes, names,
// element count or configuration) makes every rank fail before any
// parameter moves, naming the rank.
func TestDataParallelMismatch(t *testing.T) {
	cases := []struct {
		name  string
		specs []ParamSpec
		n     int
		what  string
	}{
		{"shape", []ParamSpec{{"W1", []int{2, 3}}, {"b1", []int{2}}}, 8, "test"},
		{"name", []ParamSpec{{"W", []int{3, 2}}, {"b1", []int{2}}}, 8, "test"},
		{"size", []ParamSpec{{"W1", []int{4, 2}}, {"b1", []int{2}}}, 10, "test"},
		{"optimizer", testSpecs, 8, "test lr=0.2"},
		{"vector", testSpecs, 9, "test"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			const p, odd = 3, 2
			var params [p][]float32
			errs := runGroup(p, func(c Comm) error {
				specs, n, what := testSpecs, 8, "test"
				if c.Rank() == odd {
					specs, n, what = tc.specs, tc.n, tc.what
				}
				w := make([]float32, n)
				for i := range w {
					w[i] = float32(100 * (c.Rank() + 1))
				}
				params[c.Rank()] = w
				_, err := NewDataParallel(c, w, make([]float32, n), specs, what)
				return err
			})
			for r, err := range errs {
				if err == nil {
					t.Fatalf("rank %d: no error with rank %d's model differing", r, odd)
				}
				if !strings.Contains(err.Error(), "rank(s) 2 differ from rank 0") {
					t.Errorf("rank %d: error does not name rank 2: %v", r, err)
				}
				if params[r][0] != float32(100*(r+1)) {
					t.Errorf("rank %d: params changed (%v) although the models differ", r, params[r][0])
				}
			}
			t.Logf("rank 2's error: %v", errs[2])
		})
	}
}

// TestInSync: one differing bit on one rank is reported on every rank.
func TestInSync(t *testing.T) {
	errs := runGroup(2, func(c Comm) error {
		w := []float64{1, 2, 3, 4, 5, 6, 7, 8}
		d, err := NewDataParallel(c, w, make([]float64, 8), testSpecs, "")
		if err != nil {
			return err
		}
		if c.Rank() == 1 {
			w[5] = 6.000000000000001
		}
		return d.InSync()
	})
	for r, err := range errs {
		if err == nil || !strings.Contains(err.Error(), "rank(s) 1 differ") {
			t.Errorf("rank %d: InSync with rank 1's params changed: %v", r, err)
		}
	}
}

// TestAllReduceGradsAllocs: the step's collective allocates nothing (on
// Local here; the MPI test checks MPI's).
func TestAllReduceGradsAllocs(t *testing.T) {
	g := make([]float32, 1000)
	d, err := NewDataParallel(Local{}, make([]float32, 8), make([]float32, 8), testSpecs, "")
	if err != nil {
		t.Fatal(err)
	}
	d.grads = g
	if n := testing.AllocsPerRun(10, func() {
		if err := d.AllReduceGrads(); err != nil {
			t.Fatal(err)
		}
		if err := d.InSync(); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("AllReduceGrads and InSync allocate %v times", n)
	}
}

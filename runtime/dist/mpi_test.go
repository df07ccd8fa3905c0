package dist_test

// The tests of this file run the MPI implementation under mpirun: the test
// binary launches `mpirun -np 2` on itself, and TestMain turns the two
// processes it starts into ranks (workers) by the environment variable
// workerEnv. They need a build with -tags mpi and Open MPI's mpirun:
//
//	apt-get install libopenmpi-dev openmpi-bin pkg-config
//	go test -tags mpi ./runtime/dist/

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bpgen/bpgen/generated/deepmlp"
	"github.com/bpgen/bpgen/generated/mlp"
	"github.com/bpgen/bpgen/runtime/dist"
)

const (
	workerEnv = "BPGEN_DIST_WORKER" // the scenario a rank runs
	outEnv    = "BPGEN_DIST_OUT"    // the directory it writes to

	ranks       = 2  // mpirun -np
	steps       = 20 // K: optimizer steps of each run
	globalBatch = 64 // each rank gets globalBatch/ranks rows
	killStep    = 5  // the step at which rank 1 kills itself in the kill test

	// mpirunTimeout is the watchdog of every mpirun: a run that has not
	// ended by then is killed, and the test fails (a hang).
	mpirunTimeout = 120 * time.Second
	// deathTimeout bounds, in the kill test, the time from the start of
	// mpirun to the exit of every rank, the killed rank's death at step
	// killStep included: Open MPI's mpirun ends the job as soon as it sees
	// a rank die.
	deathTimeout = 30 * time.Second
)

func TestMain(m *testing.M) {
	if w := os.Getenv(workerEnv); w != "" {
		if err := worker(w, os.Getenv(outEnv)); err != nil {
			fmt.Fprintf(os.Stderr, "worker %s: %v\n", w, err)
			os.Exit(3)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// batch fills x and y with the step's global batch: pixels in [0, 1) and
// the label of the brightest of ten bands of pixels, so that there is
// something to learn.
func batch(step int, x []float32, y []int32) {
	r := rand.New(rand.NewPCG(uint64(step), 15))
	for i := range y {
		row := x[i*784 : (i+1)*784]
		best, bestSum := 0, float32(-1)
		for j := range row {
			row[j] = r.Float32()
		}
		for c := range 10 {
			var s float32
			for _, v := range row[c*78 : (c+1)*78] {
				s += v
			}
			if s > bestSum {
				best, bestSum = c, s
			}
		}
		y[i] = int32(best)
	}
}

// optimizers are the two runs of the equivalence test.
var optimizers = map[string]mlp.Optimizer{
	"sgd":  {Kind: "sgd", LR: 0.1, Momentum: 0.9},
	"adam": {Kind: "adam", LR: 1e-3},
}

func specs(ts []mlp.Tensor) []dist.ParamSpec {
	var s []dist.ParamSpec
	for _, t := range ts {
		s = append(s, dist.ParamSpec{Name: t.Name, Shape: t.Shape})
	}
	return s
}

// train runs `steps` data-parallel steps of generated/mlp on c: rank r
// trains on rows [r·n, (r+1)·n) of each global batch, n = globalBatch/Size.
// Each rank seeds its model differently: the broadcast must make them
// equal. On Local it is single-process training on the whole batch.
// stop, if not nil, is called before every step.
func train(c dist.Comm, opt mlp.Optimizer, stop func(step int)) (*mlp.Model, *dist.DataParallel[float32], error) {
	n := globalBatch / c.Size()
	m, err := mlp.New(mlp.Config{MaxN: n, Seed: uint64(1 + 1000*c.Rank()), Optimizer: opt})
	if err != nil {
		return nil, nil, err
	}
	d, err := dist.NewDataParallel(c, m.ParamVector(), m.GradVector(), specs(m.Tensors()), mlp.Source+" "+fmt.Sprint(opt))
	if err != nil {
		return nil, nil, err
	}
	x := make([]float32, globalBatch*784)
	y := make([]int32, globalBatch)
	lo := c.Rank() * n
	for k := range steps {
		if stop != nil {
			stop(k)
		}
		batch(k, x, y)
		in := mlp.Inputs{X: x[lo*784 : (lo+n)*784], Y: y[lo : lo+n], N: n}
		if err := step(m, d, in); err != nil {
			return nil, nil, err
		}
	}
	return m, d, nil
}

// step is one distributed training step.
func step(m *mlp.Model, d *dist.DataParallel[float32], in mlp.Inputs) error {
	if _, err := m.Forward(in); err != nil {
		return err
	}
	if err := m.Backward(); err != nil {
		return err
	}
	if err := d.AllReduceGrads(); err != nil {
		return err
	}
	return m.Apply()
}

func paramsFile(dir, opt string, rank int) string {
	return filepath.Join(dir, fmt.Sprintf("%s-rank%d.bin", opt, rank))
}

// worker is one rank of a scenario run by mpirun.
func worker(scenario, dir string) error {
	c, err := dist.OpenMPI()
	if err != nil {
		return err
	}
	if c.Size() != ranks {
		return fmt.Errorf("started with %d ranks, want %d", c.Size(), ranks)
	}
	switch scenario {
	case "train":
		for _, name := range []string{"sgd", "adam"} {
			m, d, err := train(c, optimizers[name], nil)
			if err != nil {
				return err
			}
			if err := d.InSync(); err != nil {
				return err
			}
			f, err := os.Create(paramsFile(dir, name, c.Rank()))
			if err != nil {
				return err
			}
			if err := binary.Write(f, binary.LittleEndian, m.ParamVector()); err != nil {
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
			// Allocations of the distributed step (the same number of
			// calls on both ranks: AllocsPerRun runs it 1+10 times).
			n := globalBatch / ranks
			x := make([]float32, n*784)
			y := make([]int32, n)
			batch(c.Rank(), x, y)
			in := mlp.Inputs{X: x, Y: y, N: n}
			var stepErr error
			allocs := testing.AllocsPerRun(10, func() {
				if err := step(m, d, in); err != nil {
					stepErr = err
				}
			})
			if stepErr != nil {
				return stepErr
			}
			if allocs != 0 {
				return fmt.Errorf("%s: the distributed step allocates %v times", name, allocs)
			}
		}
	case "kill":
		_, _, err := train(c, optimizers["sgd"], func(k int) {
			if k == killStep && c.Rank() == 1 {
				syscall.Kill(os.Getpid(), syscall.SIGKILL)
			}
		})
		if err != nil {
			return err
		}
		// Not reached by rank 1; rank 0 must not get here either.
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("done-rank%d", c.Rank())), nil, 0o644); err != nil {
			return err
		}
	case "mismatch":
		// Rank 1 runs generated/deepmlp, rank 0 generated/mlp.
		var err error
		if c.Rank() == 0 {
			_, _, err = train(c, optimizers["sgd"], nil)
		} else {
			var m *deepmlp.Model
			m, err = deepmlp.New(deepmlp.Config{MaxN: globalBatch / ranks, Seed: 1, Optimizer: optimizers["sgd"]})
			if err == nil {
				var s []dist.ParamSpec
				for _, t := range m.Tensors() {
					s = append(s, dist.ParamSpec{Name: t.Name, Shape: t.Shape})
				}
				_, err = dist.NewDataParallel(c, m.ParamVector(), m.GradVector(), s, deepmlp.Source+" "+fmt.Sprint(optimizers["sgd"]))
			}
		}
		if err == nil {
			err = errors.New("no error with different models on the ranks")
		}
		if werr := os.WriteFile(filepath.Join(dir, fmt.Sprintf("error-rank%d", c.Rank())), []byte(err.Error()), 0o644); werr != nil {
			return werr
		}
		// Finalize before the non-zero exit, so that mpirun does not kill
		// the other rank before it has written its error.
		c.Close()
		return err
	default:
		return fmt.Errorf("unknown scenario %q", scenario)
	}
	return c.Close()
}

// mpirun runs the scenario on `ranks` ranks of this test binary and returns
// mpirun's combined output, its error and how long it ran; it skips the
// test without MPI.
func mpirun(t *testing.T, scenario, dir string) ([]byte, error, time.Duration) {
	t.Helper()
	if !dist.HaveMPI {
		t.Skip("built without MPI: run `go test -tags mpi ./runtime/dist/` (needs Open MPI: apt-get install libopenmpi-dev openmpi-bin pkg-config)")
	}
	bin, err := exec.LookPath("mpirun")
	if err != nil {
		t.Skip("no mpirun in PATH: install Open MPI (apt-get install openmpi-bin) and run `go test -tags mpi ./runtime/dist/`")
	}
	ctx, cancel := context.WithTimeout(context.Background(), mpirunTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-np", fmt.Sprint(ranks), "--allow-run-as-root", "--oversubscribe",
		"-x", workerEnv+"="+scenario, "-x", outEnv+"="+dir, os.Args[0])
	// mpirun's own process group, so that the watchdog kills the ranks too.
	// Containers often forbid the cross-memory attach (ptrace) that Open
	// MPI 4 uses for large messages between ranks of one machine; copying
	// through its shared-memory buffers works everywhere.
	cmd.Env = append(os.Environ(), "OMPI_MCA_btl_vader_single_copy_mechanism=none")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	if ctx.Err() != nil {
		t.Fatalf("mpirun %s did not end within %v (a hang); output:\n%s", scenario, mpirunTimeout, out)
	}
	return out, err, took
}

// tolParams is the largest difference allowed between a parameter after
// `steps` data-parallel steps and after `steps` single-process steps on the
// whole batch, relative to the largest parameter magnitude, for float32.
// The two compute the same sums in another order: a gradient element is a
// sum over the 64 rows of the batch, which one process adds in one order
// and two ranks add as two sums of 32 (the GEMM's order within each) and
// then one sum of the two; the 1/N of the mean and the 1/2 of the average
// are powers of two and exact. Each order is within γ₆₃ ≈ 63·2⁻²⁴ ≈ 3.8e-6
// of the exact sum relative to the sum of magnitudes, so the gradients
// differ by up to 2·γ₆₃ ≈ 7.5e-6 of it; the training then carries such a
// difference along for K = 20 steps (momentum sums the differences of all
// the steps; Adam's update m̂/√v̂ is invariant to the scale of the
// gradient, so a relative difference of the gradient becomes one of the
// update, of the same order), so the bound allows K times it again:
// 20 · 7.5e-6 ≈ 1.5e-4. Measured here: 5.5e-7 after SGD-momentum and
// 4.4e-6 after Adam (its largest differences are where a gradient element
// is small against the terms of its sum).
const tolParams = 2 * 63 * 0x1p-24 * steps

// TestMPIEquivalence: two ranks on half a batch each end K=20 SGD-momentum
// and K=20 Adam steps bit-identical to each other and equal (within
// tolParams) to a single process on the whole batch; the distributed step
// allocates nothing.
func TestMPIEquivalence(t *testing.T) {
	dir := t.TempDir()
	out, err, took := mpirun(t, "train", dir)
	if err != nil {
		t.Fatalf("mpirun: %v; output:\n%s", err, out)
	}
	t.Logf("mpirun -np %d: %v", ranks, took)
	for _, name := range []string{"sgd", "adam"} {
		var rankBytes [ranks][]byte
		for r := range ranks {
			if rankBytes[r], err = os.ReadFile(paramsFile(dir, name, r)); err != nil {
				t.Fatal(err)
			}
		}
		for r := 1; r < ranks; r++ {
			if !bytes.Equal(rankBytes[0], rankBytes[r]) {
				t.Errorf("%s: rank %d's params differ from rank 0's (bits)", name, r)
			}
		}
		got := make([]float32, len(rankBytes[0])/4)
		if err := binary.Read(bytes.NewReader(rankBytes[0]), binary.LittleEndian, got); err != nil {
			t.Fatal(err)
		}
		ref, _, err := train(dist.Local{}, optimizers[name], nil)
		if err != nil {
			t.Fatal(err)
		}
		want := ref.ParamVector()
		if len(got) != len(want) {
			t.Fatalf("%s: %d params from the ranks, %d from the single process", name, len(got), len(want))
		}
		scale, worst, at, differ := 0.0, 0.0, 0, 0
		for _, v := range want {
			scale = max(scale, math.Abs(float64(v)))
		}
		for i := range want {
			d := math.Abs(float64(got[i]) - float64(want[i]))
			if d != 0 {
				differ++
			}
			if d > worst {
				worst, at = d, i
			}
		}
		t.Logf("%s: %d of %d params differ from the single process; largest difference %.3g (%.3g of the largest |param| %.3g) at %d", name, differ, len(want), worst, worst/scale, scale, at)
		if worst > tolParams*scale {
			t.Errorf("%s: param %d is %v on the ranks and %v in the single process: difference %.3g > tolParams·max|param| = %.3g", name, at, got[at], want[at], worst, tolParams*scale)
		}
		// The ranks started from other seeds: rank 0's params were broadcast.
	}
}

// TestMPIKillOneRank: rank 1 kills itself (SIGKILL) at step killStep; rank 0,
// waiting in the all-reduce, must end with mpirun's error within
// deathTimeout, and never reach the end of its training.
func TestMPIKillOneRank(t *testing.T) {
	dir := t.TempDir()
	out, err, took := mpirun(t, "kill", dir)
	t.Logf("mpirun ended after %v with %v; output:\n%s", took, err, out)
	if err == nil {
		t.Fatalf("mpirun succeeded although rank 1 was killed")
	}
	if took > deathTimeout {
		t.Errorf("mpirun took %v to end after a rank died, more than %v", took, deathTimeout)
	}
	if _, err := os.Stat(filepath.Join(dir, "done-rank0")); err == nil {
		t.Errorf("rank 0 finished its training without its peer")
	}
	if !bytes.Contains(out, []byte("signal 9")) && !bytes.Contains(out, []byte("Killed")) {
		t.Errorf("mpirun's output does not say that a rank was killed")
	}
}

// TestMPIMismatch: ranks with different models (generated/mlp and
// generated/deepmlp) both refuse with a clear error before training.
func TestMPIMismatch(t *testing.T) {
	dir := t.TempDir()
	out, err, took := mpirun(t, "mismatch", dir)
	t.Logf("mpirun ended after %v with %v", took, err)
	if err == nil {
		t.Fatalf("mpirun succeeded with different models; output:\n%s", out)
	}
	for r := range ranks {
		msg, rerr := os.ReadFile(filepath.Join(dir, fmt.Sprintf("error-rank%d", r)))
		if rerr != nil {
			t.Fatalf("rank %d wrote no error: %v; output:\n%s", r, rerr, out)
		}
		t.Logf("rank %d: %s", r, msg)
		if !strings.Contains(string(msg), "the model differs between ranks: rank(s) 1 differ from rank 0") {
			t.Errorf("rank %d's error does not say that rank 1's model differs: %s", r, msg)
		}
	}
}

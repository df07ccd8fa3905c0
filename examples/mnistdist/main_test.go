package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/bpgen/bpgen/runtime/dist"
)

const (
	workerEnv = "BPGEN_MNISTDIST_OUT" // set: this process is a rank of TestMNISTDistMPI
	testSteps = 200                   // optimizer steps of the tests (a third of an epoch at batch 128)
	// minAccuracy is the test accuracy both tests want after testSteps
	// steps (about 0.94 is reached).
	minAccuracy = 0.92
	// maxAccuracyGap bounds the difference of test accuracy between two
	// ranks and one process after testSteps steps: the same training up to
	// the order of the gradient sums, which changes a handful of the 10000
	// predictions at most.
	maxAccuracyGap = 0.005
	mpirunTimeout  = 5 * time.Minute // the watchdog of mpirun
)

func testOptions(out string) options {
	return options{epochs: 1, batch: 128, maxSteps: testSteps, lr: 0.1, momentum: 0.9, seed: 1, outDir: out, log: io.Discard}
}

func TestMain(m *testing.M) {
	if dir := os.Getenv(workerEnv); dir != "" {
		if err := worker(dir); err != nil {
			fmt.Fprintf(os.Stderr, "mnistdist worker: %v\n", err)
			os.Exit(3)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// worker is one rank of TestMNISTDistMPI: it trains and writes its final
// params and accuracy to dir.
func worker(dir string) error {
	c, err := dist.OpenMPI()
	if err != nil {
		return err
	}
	res, err := train(c, testOptions(dir))
	if err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, fmt.Sprintf("rank%d.bin", c.Rank())))
	if err != nil {
		return err
	}
	binary.Write(f, binary.LittleEndian, res.accuracy[len(res.accuracy)-1])
	binary.Write(f, binary.LittleEndian, res.params)
	if err := f.Close(); err != nil {
		return err
	}
	return c.Close()
}

func trainLocal(t *testing.T) *result {
	if testing.Short() {
		t.Skip("trains on MNIST; skipped with -short")
	}
	res, err := train(dist.Local{}, testOptions(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	if res.steps != testSteps {
		t.Fatalf("%d steps, want %d", res.steps, testSteps)
	}
	return res
}

// TestMNISTDistLocal runs the example in one process.
func TestMNISTDistLocal(t *testing.T) {
	res := trainLocal(t)
	acc := res.accuracy[len(res.accuracy)-1]
	t.Logf("one process, %d steps: test accuracy %.4f", res.steps, acc)
	if acc < minAccuracy {
		t.Errorf("test accuracy %.4f < %.4f", acc, minAccuracy)
	}
	if _, err := os.Stat(res.weights); err != nil {
		t.Error(err)
	}
}

// TestMNISTDistMPI runs the example on two ranks under mpirun and compares
// with one process: the ranks end bit-identical, with the accuracy of one
// process within maxAccuracyGap.
func TestMNISTDistMPI(t *testing.T) {
	if !dist.HaveMPI {
		t.Skip("built without MPI: run `go test -tags mpi ./examples/mnistdist/` (needs Open MPI: apt-get install libopenmpi-dev openmpi-bin pkg-config)")
	}
	bin, err := exec.LookPath("mpirun")
	if err != nil {
		t.Skip("no mpirun in PATH: install Open MPI (apt-get install openmpi-bin) and run `go test -tags mpi ./examples/mnistdist/`")
	}
	ref := trainLocal(t)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), mpirunTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-np", "2", "--allow-run-as-root", "--oversubscribe", "-x", workerEnv+"="+dir, os.Args[0])
	// Containers often forbid the cross-memory attach (ptrace) that Open
	// MPI 4 uses for large messages between ranks of one machine; copying
	// through its shared-memory buffers works everywhere.
	cmd.Env = append(os.Environ(), "OMPI_MCA_btl_vader_single_copy_mechanism=none")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("mpirun did not end within %v; output:\n%s", mpirunTimeout, out)
	}
	if err != nil {
		t.Fatalf("mpirun: %v; output:\n%s", err, out)
	}
	var accs [2]float64
	var params [2][]float32
	for r := range 2 {
		f, err := os.Open(filepath.Join(dir, fmt.Sprintf("rank%d.bin", r)))
		if err != nil {
			t.Fatal(err)
		}
		params[r] = make([]float32, len(ref.params))
		if err := binary.Read(f, binary.LittleEndian, &accs[r]); err != nil {
			t.Fatal(err)
		}
		if err := binary.Read(f, binary.LittleEndian, params[r]); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	for i := range params[0] {
		if math.Float32bits(params[0][i]) != math.Float32bits(params[1][i]) {
			t.Fatalf("param %d: %v on rank 0, %v on rank 1", i, params[0][i], params[1][i])
		}
	}
	want := ref.accuracy[len(ref.accuracy)-1]
	t.Logf("%d steps: test accuracy %.4f on 2 ranks, %.4f in one process", testSteps, accs[0], want)
	if accs[0] < minAccuracy || math.Abs(accs[0]-want) > maxAccuracyGap {
		t.Errorf("2 ranks: test accuracy %.4f; one process: %.4f (want ≥ %.2f and within %.3f)", accs[0], want, minAccuracy, maxAccuracyGap)
	}
}

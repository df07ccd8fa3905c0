package kernels

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestGeneratedAsmFresh re-runs the avo generator into a temporary directory
// and checks that the checked-in gemm_amd64.s and gemm_stub_amd64.go match
// byte for byte (run `go generate ./runtime/kernels` after editing
// internal/asmgen).
func TestGeneratedAsmFresh(t *testing.T) {
	// The only skip is -short: without the go command the test fails rather
	// than passing silently, so CI cannot stop checking freshness unnoticed.
	if testing.Short() {
		t.Skip("skipping generator run in -short mode")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go command not on PATH; cannot re-run the assembly generator: %v", err)
	}
	dir := t.TempDir()
	outS, outStub := filepath.Join(dir, "gemm_amd64.s"), filepath.Join(dir, "gemm_stub_amd64.go")
	cmd := exec.Command(goTool, "run", "./internal/asmgen", "-out", outS, "-stubs", outStub)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("generator failed: %v\n%s", err, out)
	}
	for _, f := range []struct{ got, want string }{{outS, "gemm_amd64.s"}, {outStub, "gemm_stub_amd64.go"}} {
		got, err := os.ReadFile(f.got)
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(f.want)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run `go generate ./runtime/kernels` (regenerated output differs)", f.want)
		}
	}
}

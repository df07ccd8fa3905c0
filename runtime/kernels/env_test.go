package kernels

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestParseBackend(t *testing.T) {
	for s, want := range map[string]Backend{
		"": BackendAuto, "auto": BackendAuto, " AVX2 ": BackendAVX2, "avx512": BackendAVX512,
		"Portable": BackendPortable, "gonum": BackendGonum,
	} {
		got, err := ParseBackend(s)
		if err != nil || got != want {
			t.Errorf("ParseBackend(%q) = %v, %v; want %v", s, got, err, want)
		}
		if got.String() != strings.ToLower(strings.TrimSpace(s)) && s != "" {
			t.Errorf("ParseBackend(%q).String() = %q", s, got)
		}
	}
	if _, err := ParseBackend("avx3"); err == nil || !strings.Contains(err.Error(), `"avx3"`) || !strings.Contains(err.Error(), "avx512, avx2, portable or gonum") {
		t.Errorf("ParseBackend(avx3) error = %v; want it to name the value and the choices", err)
	}
}

func TestBackendFromEnv(t *testing.T) {
	for _, s := range []string{"", "auto", "portable", "gonum", "avx2", "avx512"} {
		want, _ := ParseBackend(s)
		b, err := backendFromEnv(s)
		switch {
		case !want.Available():
			if err == nil || !strings.Contains(err.Error(), "not available") || b != bestBackend() {
				t.Errorf("backendFromEnv(%q) = %v, %v; want %v and a not-available error", s, b, err, bestBackend())
			}
		case err != nil:
			t.Errorf("backendFromEnv(%q): %v", s, err)
		case want == BackendAuto && b != bestBackend(), want != BackendAuto && b != want:
			t.Errorf("backendFromEnv(%q) = %v", s, b)
		}
	}
	if b, err := backendFromEnv("sse"); err == nil || b != bestBackend() || !strings.Contains(err.Error(), EnvBackend+"=sse") {
		t.Errorf("backendFromEnv(sse) = %v, %v; want %v and an error naming %s", b, err, bestBackend(), EnvBackend)
	}
}

// TestEnvBackendProcess runs this test binary with BPGEN_KERNELS set: a valid
// value selects the backend at init, an invalid one warns on stderr and runs
// on (no panic).
func TestEnvBackendProcess(t *testing.T) {
	if v, ok := os.LookupEnv("KERNELS_ENV_CHILD"); ok {
		os.Stdout.WriteString("backend=" + CurrentBackend().String() + " want=" + v + "\n")
		return
	}
	if testing.Short() {
		t.Skip("starts subprocesses")
	}
	run := func(val string) (string, string) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestEnvBackendProcess$", "-test.v")
		cmd.Env = append(os.Environ(), EnvBackend+"="+val, "KERNELS_ENV_CHILD="+val)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s=%s: %v\n%s%s", EnvBackend, val, err, out, stderr.String())
		}
		return string(out), stderr.String()
	}
	out, stderr := run("portable")
	if !strings.Contains(out, "backend=portable") || stderr != "" {
		t.Errorf("%s=portable: stdout %q, stderr %q", EnvBackend, out, stderr)
	}
	out, stderr = run("fast")
	if !strings.Contains(out, "backend="+bestBackend().String()) || !strings.Contains(stderr, EnvBackend+`=fast: unknown backend "fast"`) {
		t.Errorf("%s=fast: stdout %q, stderr %q; want a warning and %v", EnvBackend, out, stderr, bestBackend())
	}
}

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// A quick-start step is a fenced block of README.md under a marker line
// <!-- quickstart:KIND ... -->: "published" (commands for the published
// module, which this test cannot run), "local" (the same for a local
// checkout, /path/to/bpgen standing for it), "file PATH" (a file to
// write) and "run" (commands).
type quickStep struct {
	kind, arg, body string
	line            int
}

var quickMarker = regexp.MustCompile(`^<!-- quickstart:(\w+)(?: ([^ ]+\.go))?.*-->$`)

// quickStart returns the steps of README.md in order.
func quickStart(t *testing.T, readme string) []quickStep {
	t.Helper()
	lines := strings.Split(readme, "\n")
	var steps []quickStep
	for i := 0; i < len(lines); i++ {
		m := quickMarker.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		if i+1 >= len(lines) || !strings.HasPrefix(lines[i+1], "```") {
			t.Fatalf("README.md:%d: a quickstart marker must be followed by a fenced block", i+1)
		}
		var body []string
		j := i + 2
		for ; j < len(lines) && lines[j] != "```"; j++ {
			body = append(body, lines[j])
		}
		if j == len(lines) {
			t.Fatalf("README.md:%d: unterminated block", i+2)
		}
		steps = append(steps, quickStep{kind: m[1], arg: m[2], body: strings.Join(body, "\n") + "\n", line: i + 1})
		i = j
	}
	return steps
}

// TestQuickStart does what README.md's quick start says, read from the
// README itself: in a new module outside this repository, with the
// environment the test runs in (no GOPROXY, GOFLAGS or go.mod edits of its
// own), it runs the "local" commands with this checkout's path for
// /path/to/bpgen, writes the files and runs the commands, in the README's
// order: go generate, go mod tidy and a training run on MNIST. The
// "published" block is checked to add the same tool but cannot run until
// the module is published.
func TestQuickStart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module from scratch and trains on MNIST; skipped with -short")
	}
	root := repoRoot(t)
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	steps := quickStart(t, string(readme))
	var script strings.Builder
	kinds := map[string]int{}
	for _, s := range steps {
		kinds[s.kind]++
		if s.kind != "published" {
			script.WriteString(s.body)
		}
	}
	if kinds["published"] != 1 || kinds["local"] != 1 || kinds["file"] < 2 || kinds["run"] < 1 {
		t.Fatalf("README.md's quick start has the steps %v; want one published and one local block, files and commands", kinds)
	}
	for _, want := range []string{"/path/to/bpgen", "//go:generate go tool bpgen", "go generate ./...", "go mod tidy", "go run ."} {
		if !strings.Contains(script.String(), want) {
			t.Fatalf("README.md's quick start does not contain %q", want)
		}
	}

	dir := t.TempDir()
	for _, s := range steps {
		switch s.kind {
		case "published":
			if !strings.Contains(s.body, "go get -tool github.com/bpgen/bpgen/cmd/bpgen") {
				t.Errorf("README.md:%d: the published block does not add the tool with go get -tool", s.line)
			}
		case "file":
			if s.arg == "" {
				t.Fatalf("README.md:%d: a quickstart:file marker names the file", s.line)
			}
			p := filepath.Join(dir, filepath.FromSlash(s.arg))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(s.body), 0o644); err != nil {
				t.Fatal(err)
			}
		case "local", "run":
			body := strings.ReplaceAll(s.body, "/path/to/bpgen", root)
			c := exec.Command("sh", "-e", "-x", "-c", body)
			c.Dir = dir
			out, err := c.CombinedOutput()
			t.Logf("README.md:%d:\n%s", s.line, out)
			if err != nil {
				t.Fatalf("README.md:%d: the quick start's commands fail: %v\n%s", s.line, err, out)
			}
			if strings.Contains(body, "go run") && !strings.Contains(string(out), "test accuracy") {
				t.Errorf("README.md:%d: the training run printed no test accuracy", s.line)
			}
		default:
			t.Fatalf("README.md:%d: unknown quickstart step %q", s.line, s.kind)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "mlp.safetensors")); err != nil {
		t.Errorf("the training run saved no weights: %v", err)
	}
}

// TestCIRunsTheREADMETests checks that .ci/run runs the test command the
// README's first screen gives (its second command on a fresh machine).
func TestCIRunsTheREADMETests(t *testing.T) {
	root := repoRoot(t)
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	ci, err := os.ReadFile(filepath.Join(root, ".ci", "run"))
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(readme), "```sh\n")
	block, _, _ = strings.Cut(block, "```")
	lines := strings.Split(strings.TrimSpace(block), "\n")
	if !ok || len(lines) != 2 {
		t.Fatalf("README.md's first block has %d commands, want two (the main job and the tests):\n%s", len(lines), block)
	}
	tests, _, _ := strings.Cut(lines[1], "#")
	tests = strings.TrimSpace(tests)
	for _, l := range strings.Split(string(ci), "\n") {
		if strings.TrimSpace(l) == tests {
			return
		}
	}
	t.Errorf(".ci/run does not run the README's test command %q on a line of its own", tests)
}

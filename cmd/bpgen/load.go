package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/types"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/tools/go/packages"

	"github.com/bpgen/bpgen/ir"
)

const dslPath = "github.com/bpgen/bpgen/dsl"

// loadModel returns the forward IR of the model: parsed from an IR file,
// or built by running a model function of a Go package.
func loadModel(target, fn string) (*ir.Graph, error) {
	if st, err := os.Stat(target); err == nil && st.Mode().IsRegular() {
		src, err := os.ReadFile(target)
		if err != nil {
			return nil, err
		}
		g, err := ir.Parse(string(src))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", target, err)
		}
		return g, nil
	}
	pkg, err := loadPackage(target)
	if err != nil {
		return nil, err
	}
	name, err := pickModel(pkg, fn)
	if err != nil {
		return nil, err
	}
	return runModel(pkg, name)
}

func loadPackage(pattern string) (*packages.Package, error) {
	cfg := &packages.Config{Mode: packages.NeedName | packages.NeedFiles | packages.NeedTypes | packages.NeedModule}
	pkgs, err := packages.Load(cfg, pattern)
	if err != nil {
		return nil, fmt.Errorf("loading package %s: %v", pattern, firstLine(err.Error()))
	}
	if len(pkgs) != 1 {
		return nil, fmt.Errorf("%q matches %d packages; give one package", pattern, len(pkgs))
	}
	p := pkgs[0]
	if len(p.Errors) > 0 {
		return nil, fmt.Errorf("package %s: %s", pattern, firstLine(p.Errors[0].Msg))
	}
	if len(p.GoFiles) == 0 {
		return nil, fmt.Errorf("package %s has no Go files", pattern)
	}
	return p, nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// isModelFunc reports whether f has the signature func(*dsl.Graph).
func isModelFunc(f *types.Func) bool {
	sig, ok := f.Type().(*types.Signature)
	if !ok || sig.Recv() != nil || sig.Params().Len() != 1 || sig.Results().Len() != 0 || sig.TypeParams().Len() != 0 {
		return false
	}
	ptr, ok := sig.Params().At(0).Type().(*types.Pointer)
	if !ok {
		return false
	}
	named, ok := ptr.Elem().(*types.Named)
	return ok && named.Obj().Pkg() != nil && named.Obj().Pkg().Path() == dslPath && named.Obj().Name() == "Graph"
}

func pickModel(pkg *packages.Package, fn string) (string, error) {
	if pkg.Name == "main" {
		return "", fmt.Errorf("package %s is a main package, which cannot be imported; put model functions in a library package", pkg.PkgPath)
	}
	var models, unexported []string
	scope := pkg.Types.Scope()
	for _, n := range scope.Names() { // sorted
		f, ok := scope.Lookup(n).(*types.Func)
		if !ok || !isModelFunc(f) {
			continue
		}
		if f.Exported() {
			models = append(models, n)
		} else {
			unexported = append(unexported, n)
		}
	}
	if fn != "" {
		switch {
		case slices.Contains(models, fn):
			return fn, nil
		case slices.Contains(unexported, fn):
			return "", fmt.Errorf("model function %s in %s is unexported; export it (bpgen imports the package)", fn, pkg.PkgPath)
		case len(models) == 0:
			return "", fmt.Errorf("package %s has no function %s, and no model functions (func(g *dsl.Graph)) at all", pkg.PkgPath, fn)
		}
		return "", fmt.Errorf("package %s has no model function %s; it has: %s", pkg.PkgPath, fn, strings.Join(models, ", "))
	}
	switch len(models) {
	case 0:
		return "", fmt.Errorf("package %s has no model functions (exported funcs of type func(g *dsl.Graph))", pkg.PkgPath)
	case 1:
		return models[0], nil
	}
	return "", fmt.Errorf("package %s has %d model functions (%s); pick one with -func", pkg.PkgPath, len(models), strings.Join(models, ", "))
}

const runnerSource = `// Temporary program written by bpgen: builds one model and prints its IR.
package main

import (
	"fmt"
	"os"

	"github.com/bpgen/bpgen/dsl"
	"github.com/bpgen/bpgen/ir"
	model %q
)

func main() {
	g, err := dsl.Build(%q, model.%s)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	fmt.Print(ir.Print(g))
}
`

// runModel builds the model by running it in a temporary main package
// that exists only in a build overlay, so nothing is written to the
// user's tree.
func runModel(pkg *packages.Package, fn string) (*ir.Graph, error) {
	name := pkg.Name + "." + fn
	dir := filepath.Dir(pkg.GoFiles[0])
	tmp, err := os.MkdirTemp("", "bpgen-run-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	mainFile := filepath.Join(tmp, "main.go")
	if err := os.WriteFile(mainFile, fmt.Appendf(nil, runnerSource, pkg.PkgPath, name, fn), 0o644); err != nil {
		return nil, err
	}
	runDir := "bpgen_run_" + filepath.Base(tmp)
	overlay, _ := json.Marshal(map[string]map[string]string{"Replace": {filepath.Join(dir, runDir, "main.go"): mainFile}})
	overlayFile := filepath.Join(tmp, "overlay.json")
	if err := os.WriteFile(overlayFile, overlay, 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command("go", "run", "-overlay", overlayFile, "./"+runDir)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 3 {
		return nil, fmt.Errorf("model %s: %s", name, strings.TrimSpace(stderr.String()))
	}
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return nil, fmt.Errorf("running model %s: %s", name, firstLine(msg))
	}
	g, err := ir.Parse(stdout.String())
	if err != nil {
		return nil, fmt.Errorf("model %s printed IR that does not parse (please report): %w", name, err)
	}
	return g, nil
}

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/tools/go/packages"

	"github.com/bpgen/bpgen/ir"
	"github.com/bpgen/bpgen/passes"
)

const dslPath = "github.com/bpgen/bpgen/dsl"

// loadModel returns the IR of the model: built by running a model function
// of a Go package, or read from an IR file. For a file printed by -dump
// after a pass, resume is that pass's name (the graph is its output).
func loadModel(target, fn string, stderr io.Writer) (g *ir.Graph, resume string, err error) {
	if st, err := os.Stat(target); err == nil && st.Mode().IsRegular() {
		return readIRFile(target)
	}
	pkg, err := loadPackage(target)
	if err != nil {
		return nil, "", err
	}
	name, err := pickModel(pkg, fn)
	if err != nil {
		return nil, "", err
	}
	g, err = runModel(pkg, name, stderr)
	return g, "", err
}

// dumpHeader is the line -dump prints before a graph: "# after build" for
// the model as built, "# after pass NAME" after a pass.
func dumpHeader(resume string) string {
	if resume == "" {
		return "# after build"
	}
	return "# after pass " + resume
}

// readIRFile reads IR text: as ir.Print writes it, or as -dump prints it.
// A dump is one or more sections, each a "# after ..." line and a graph
// (after a lowering pass, the program follows as comment lines); the last
// section is compiled, resuming after its pass. Lines are blanked, not
// removed, so that parse errors give the file's own line numbers.
func readIRFile(path string) (*ir.Graph, string, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	lines := strings.Split(string(src), "\n")
	last, resume := -1, ""
	for i, l := range lines {
		l = strings.TrimSpace(l)
		if l == dumpHeader("") {
			last, resume = i, ""
		} else if name, ok := strings.CutPrefix(l, "# after pass "); ok {
			last, resume = i, strings.TrimSpace(name)
		}
	}
	if last >= 0 && resume != "" && !slices.Contains(passes.PassNames(), resume) {
		return nil, "", fmt.Errorf("%s:%d: %q is not a pass of this bpgen (the passes are %s)", path, last+1, resume, strings.Join(passes.PassNames(), ", "))
	}
	for i, l := range lines {
		if i <= last || strings.HasPrefix(strings.TrimSpace(l), "#") {
			lines[i] = ""
		}
	}
	g, err := ir.Parse(strings.Join(lines, "\n"))
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	if last < 0 && slices.ContainsFunc(g.Outputs, func(o ir.Output) bool { return o.Grad != "" }) {
		return nil, "", fmt.Errorf("%s: the graph has gradient outputs, so it was printed after pass grad or later; start the file with the \"# after pass NAME\" line -dump printed, so that bpgen resumes after that pass", path)
	}
	return g, resume, nil
}

func loadPackage(pattern string) (*packages.Package, error) {
	cfg := &packages.Config{Mode: packages.NeedName | packages.NeedFiles | packages.NeedTypes | packages.NeedModule}
	pkgs, err := packages.Load(cfg, pattern)
	if err != nil {
		return nil, fmt.Errorf("loading package %s: %v", pattern, strings.TrimSpace(err.Error()))
	}
	if len(pkgs) != 1 {
		return nil, fmt.Errorf("%q matches %d packages; give one package", pattern, len(pkgs))
	}
	p := pkgs[0]
	if len(p.Errors) > 0 {
		lines := packageErrors(p.Errors)
		compiled := slices.ContainsFunc(p.Errors, func(e packages.Error) bool {
			return e.Kind != packages.ListError || strings.HasPrefix(e.Msg, "# ")
		})
		if !compiled && len(lines) == 1 { // e.g. no such package
			return nil, fmt.Errorf("package %s: %s", pattern, lines[0])
		}
		return nil, fmt.Errorf("package %s does not compile:\n%s", pattern, strings.Join(lines, "\n"))
	}
	if len(p.GoFiles) == 0 {
		return nil, fmt.Errorf("package %s has no Go files", pattern)
	}
	return p, nil
}

// packageErrors lists a package's errors as the go command prints them,
// each once: the compiler's own lines (from go list, positions relative to
// the current directory, without its "# importpath" header), then type and
// syntax errors it did not already print, their positions shortened the
// same way.
func packageErrors(errs []packages.Error) []string {
	var lines []string
	seen := map[string]bool{}
	add := func(l string) {
		l = strings.TrimSpace(l)
		key := strings.TrimPrefix(l, "./") // the go command writes ./model.go, go/types model.go
		if l != "" && !seen[key] {
			seen[key] = true
			lines = append(lines, l)
		}
	}
	for _, e := range errs {
		if e.Kind != packages.ListError {
			continue
		}
		for _, l := range strings.Split(e.Msg, "\n") {
			if !strings.HasPrefix(l, "# ") {
				add(l)
			}
		}
	}
	cwd, _ := os.Getwd()
	for _, e := range errs {
		if e.Kind == packages.ListError {
			continue
		}
		if e.Pos == "" || e.Pos == "-" {
			add(e.Msg)
		} else {
			add(shortPath(cwd, e.Pos) + ": " + e.Msg)
		}
	}
	return lines
}

// shortPath names file (possibly followed by :line:col) as the go command
// does: relative to dir when that is shorter than the absolute path.
func shortPath(dir, file string) string {
	if dir == "" || !filepath.IsAbs(file) {
		return file
	}
	if rel, err := filepath.Rel(dir, file); err == nil && len(rel) < len(file) {
		return rel
	}
	return file
}

// isModelFunc reports whether f has the signature func(*dsl.Graph).
func isModelFunc(f *types.Func) bool {
	sig, ok := f.Type().(*types.Signature)
	if !ok || sig.Recv() != nil || sig.Params().Len() != 1 || sig.Results().Len() != 0 || sig.TypeParams().Len() != 0 {
		return false
	}
	return isGraphPtr(sig.Params().At(0).Type())
}

// isGraphPtr reports whether t is *dsl.Graph.
func isGraphPtr(t types.Type) bool {
	ptr, ok := t.(*types.Pointer)
	if !ok {
		return false
	}
	named, ok := ptr.Elem().(*types.Named)
	return ok && named.Obj().Pkg() != nil && named.Obj().Pkg().Path() == dslPath && named.Obj().Name() == "Graph"
}

// modelSignature is how messages spell the signature of a model function.
const modelSignature = "func(g *dsl.Graph)"

func pickModel(pkg *packages.Package, fn string) (string, error) {
	if pkg.Name == "main" {
		return "", fmt.Errorf("package %s is a main package, which cannot be imported; put model functions in a library package", pkg.PkgPath)
	}
	var models, unexported, nearMisses []string
	scope := pkg.Types.Scope()
	for _, n := range scope.Names() { // sorted
		f, ok := scope.Lookup(n).(*types.Func)
		switch {
		case !ok:
		case isModelFunc(f) && f.Exported():
			models = append(models, n)
		case isModelFunc(f):
			unexported = append(unexported, n)
		case f.Exported() && takesGraph(f):
			nearMisses = append(nearMisses, n)
		}
	}
	if fn != "" {
		obj := scope.Lookup(fn)
		switch {
		case slices.Contains(models, fn):
			return fn, nil
		case slices.Contains(unexported, fn):
			return "", fmt.Errorf("model function %s in %s is unexported; export it (bpgen imports the package)", fn, pkg.PkgPath)
		case obj != nil:
			if f, ok := obj.(*types.Func); ok {
				return "", fmt.Errorf("%s.%s is not a model function: it is %s; a model function is %s", pkg.Name, fn, funcString(pkg, f), modelSignature)
			}
			return "", fmt.Errorf("%s.%s is not a model function: it is a %s of type %s; a model function is %s", pkg.Name, fn, objectKind(obj), types.TypeString(obj.Type(), qualifier(pkg)), modelSignature)
		case len(models) == 0:
			return "", fmt.Errorf("package %s has no function %s, and no model functions (%s) at all", pkg.PkgPath, fn, modelSignature)
		}
		return "", fmt.Errorf("package %s has no model function %s; it has: %s", pkg.PkgPath, fn, strings.Join(models, ", "))
	}
	switch len(models) {
	case 0:
		msg := fmt.Sprintf("package %s has no model functions (exported funcs %s)", pkg.PkgPath, modelSignature)
		for _, n := range nearMisses {
			msg += fmt.Sprintf("; %s is %s", n, funcString(pkg, scope.Lookup(n).(*types.Func)))
		}
		return "", errors.New(msg)
	case 1:
		return models[0], nil
	}
	return "", fmt.Errorf("package %s has %d model functions (%s); pick one with -func", pkg.PkgPath, len(models), strings.Join(models, ", "))
}

// takesGraph reports whether f has a *dsl.Graph parameter: a model function
// with a wrong signature, more likely than not.
func takesGraph(f *types.Func) bool {
	sig := f.Type().(*types.Signature)
	for i := range sig.Params().Len() {
		if isGraphPtr(sig.Params().At(i).Type()) {
			return true
		}
	}
	return false
}

// funcString spells f's signature as it is written, e.g.
// "func(g *dsl.Graph) error" or "a method of T".
func funcString(pkg *packages.Package, f *types.Func) string {
	sig := f.Type().(*types.Signature)
	if sig.Recv() != nil {
		return "a method of " + types.TypeString(sig.Recv().Type(), qualifier(pkg))
	}
	s := types.TypeString(sig, qualifier(pkg))
	if sig.TypeParams().Len() > 0 {
		s = "generic " + s
	}
	return s
}

func objectKind(obj types.Object) string {
	switch obj.(type) {
	case *types.Var:
		return "variable"
	case *types.Const:
		return "constant"
	case *types.TypeName:
		return "type"
	}
	return "name"
}

// qualifier writes package names, not paths (dsl.Graph), and nothing for
// the package itself.
func qualifier(pkg *packages.Package) types.Qualifier {
	return func(p *types.Package) string {
		if p == pkg.Types {
			return ""
		}
		return p.Name()
	}
}

const runnerSource = `// Temporary program written by bpgen: builds one model and writes its IR,
// or its mistakes, as JSON to the file named by its argument.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/bpgen/bpgen/dsl"
	"github.com/bpgen/bpgen/ir"
	model %q
)

func main() {
	var res struct {
		IR     string   ` + "`json:\"ir\"`" + `
		Errors []string ` + "`json:\"errors\"`" + `
	}
	g, err := dsl.Build(%q, model.%s)
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			res.Errors = append(res.Errors, e.Error())
		}
	} else if err != nil {
		res.Errors = []string{err.Error()}
	} else {
		res.IR = ir.Print(g)
	}
	b, _ := json.Marshal(res)
	if err := os.WriteFile(os.Args[1], b, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
`

// modelErrors is a model's mistakes, one per line. Error prints them under
// a line naming the model, each mistake on a line of its own starting
// with its position, as compilers print errors (editors jump to them).
type modelErrors struct {
	model  string
	errors []string
}

func (e *modelErrors) Error() string {
	s := "s"
	if len(e.errors) == 1 {
		s = ""
	}
	return fmt.Sprintf("model %s has %d mistake%s:\n%s", e.model, len(e.errors), s, strings.Join(e.errors, "\n"))
}

// runModel builds the model by compiling a temporary main package that
// exists only in a build overlay (nothing is written to the user's tree)
// and running it in the current directory, so that the positions of the
// model's mistakes are relative to it. What the model prints goes to
// stderr.
func runModel(pkg *packages.Package, fn string, stderr io.Writer) (*ir.Graph, error) {
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
	// Built, not go run: go run exits 1 whatever the program's status. The
	// flags override a GOFLAGS that would hide the absolute file names the
	// model's positions come from (-trimpath) or fail outside a VCS checkout.
	bin := filepath.Join(tmp, "runner")
	build := exec.Command("go", "build", "-trimpath=false", "-buildvcs=false", "-overlay", overlayFile, "-o", bin, "./"+runDir)
	build.Dir = dir
	if out, err := build.CombinedOutput(); err != nil {
		msg := strings.TrimSpace(string(out))
		if msg == "" {
			msg = err.Error()
		}
		return nil, fmt.Errorf("building model %s:\n%s", name, msg)
	}
	resFile := filepath.Join(tmp, "result.json")
	var output bytes.Buffer
	run := exec.Command(bin, resFile)
	run.Stdout, run.Stderr = &output, &output
	runErr := run.Run()
	b, readErr := os.ReadFile(resFile)
	if runErr != nil || readErr != nil {
		return nil, fmt.Errorf("model %s did not finish (%v)%s", name, runErr, crashReport(output.String()))
	}
	stderr.Write(output.Bytes()) // the model's own prints
	var res struct {
		IR     string   `json:"ir"`
		Errors []string `json:"errors"`
	}
	if err := json.Unmarshal(b, &res); err != nil {
		return nil, fmt.Errorf("model %s: unreadable result (please report): %v", name, err)
	}
	if len(res.Errors) > 0 {
		return nil, &modelErrors{model: name, errors: res.Errors}
	}
	g, err := ir.Parse(res.IR)
	if err != nil {
		return nil, fmt.Errorf("model %s printed IR that does not parse (please report): %w", name, err)
	}
	return g, nil
}

// crashReport summarizes the output of a runner that crashed (a panic in
// an init func, os.Exit in the model): what it printed before the
// goroutine dump, and the line that panicked, not the whole trace.
func crashReport(out string) string {
	head, trace, found := strings.Cut(out, "\ngoroutine ")
	head = strings.TrimSpace(head)
	if found {
		if at := panicSite(trace); at != "" {
			head += "\n\tat " + at
		}
	}
	if head == "" {
		return ""
	}
	return ":\n" + head
}

// panicSite is the first frame of a goroutine trace outside the Go
// runtime, as file:line relative to the current directory.
func panicSite(trace string) string {
	cwd, _ := os.Getwd()
	lines := strings.Split(trace, "\n")
	for i := 1; i < len(lines); i++ {
		fn := lines[i-1]
		loc, ok := strings.CutPrefix(lines[i], "\t")
		if !ok || strings.HasPrefix(fn, "runtime.") || strings.HasPrefix(fn, "panic(") {
			continue
		}
		loc, _, _ = strings.Cut(loc, " +0x")
		return shortPath(cwd, loc)
	}
	return ""
}

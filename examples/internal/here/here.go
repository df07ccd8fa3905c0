// Package here gives the examples a default output path that does not
// depend on where they are run from: next to the example's source in a
// checkout of this repository, so that go run ./examples/NAME at the
// root and go run . in examples/NAME write the same file.
package here

import (
	"os"
	"path/filepath"
	"runtime"
)

// Path is name in the source directory of the calling package, relative to
// the current directory where that is shorter (so that flag defaults read
// well in -h). Without the source (a binary built with -trimpath or moved
// to another machine) it is name in the current directory.
func Path(name string) string {
	_, file, _, ok := runtime.Caller(1)
	if !ok || !filepath.IsAbs(file) {
		return name
	}
	dir := filepath.Dir(file)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return name
	}
	p := filepath.Join(dir, name)
	if cwd, err := os.Getwd(); err == nil {
		if rel, err := filepath.Rel(cwd, p); err == nil && len(rel) < len(p) {
			return rel
		}
	}
	return p
}

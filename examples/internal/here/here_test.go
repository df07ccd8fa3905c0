package here

import (
	"path/filepath"
	"testing"
)

func TestPath(t *testing.T) {
	if got := Path("plot.png"); got != "plot.png" {
		t.Errorf("in its own directory: Path = %q, want plot.png", got)
	}
	t.Chdir("../..")
	if got, want := Path("plot.png"), filepath.Join("internal", "here", "plot.png"); got != want {
		t.Errorf("two levels up: Path = %q, want %q", got, want)
	}
}

package ir_test

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bpgen/bpgen/ir"
)

// seedTexts are valid IR texts: the files in testdata, the DSL's goldens
// (the bundled models), the attribute test graph and one graph per
// interpreter case of the op registry test.
func seedTexts(t testing.TB) []string {
	var texts []string
	for _, pat := range []string{"testdata/*.ir", "../dsl/testdata/*.golden"} {
		files, _ := filepath.Glob(pat)
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			texts = append(texts, string(b))
		}
	}
	texts = append(texts, ir.Print(attrGraph(t)))
	for _, op := range ir.Ops() {
		build := opCases[op.Name]
		if build == nil {
			continue
		}
		for _, ec := range build(ir.F32).evals {
			g, _, _, _ := buildOpGraph(t, op, ec, rand.New(rand.NewPCG(1, 2)))
			texts = append(texts, ir.Print(g))
		}
	}
	return texts
}

// mutations returns damaged copies of a valid text: lines dropped,
// duplicated or swapped, bytes changed, the text cut short.
func mutations(s string, r *rand.Rand) []string {
	lines := strings.Split(s, "\n")
	var out []string
	pick := func() int { return r.IntN(len(lines)) }
	for range 3 {
		i := pick()
		out = append(out, strings.Join(slices.Delete(slices.Clone(lines), i, i+1), "\n"))
		i = pick()
		out = append(out, strings.Join(slices.Insert(slices.Clone(lines), i, lines[i]), "\n"))
		l := slices.Clone(lines)
		i, j := pick(), pick()
		l[i], l[j] = l[j], l[i]
		out = append(out, strings.Join(l, "\n"))
		b := []byte(s)
		const damage = "[]=#\",: -v0n1x{}\\"
		b[r.IntN(len(b))] = damage[r.IntN(len(damage))]
		out = append(out, string(b))
		out = append(out, s[:r.IntN(len(s))])
	}
	return out
}

func FuzzParse(f *testing.F) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, s := range seedTexts(f) {
		f.Add(s)
		for _, m := range mutations(s, r) {
			f.Add(m)
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		g, err := ir.Parse(s)
		if err != nil {
			// Parse recovers from panics as a last resort; a recovered
			// panic is still a parser bug.
			if strings.Contains(err.Error(), "internal error") {
				t.Fatalf("Parse(%q): %v", s, err)
			}
			return
		}
		if err := ir.Verify(g); err != nil {
			t.Fatalf("Parse(%q) returned a graph that does not verify: %v", s, err)
		}
		p1 := ir.Print(g)
		g2, err := ir.Parse(p1)
		if err != nil {
			t.Fatalf("Parse(%q) succeeded, but its printed form does not parse: %v\n%s", s, err, p1)
		}
		if p2 := ir.Print(g2); p2 != p1 {
			t.Fatalf("Parse(%q): printing twice differs:\n%s\n---\n%s", s, p1, p2)
		}
	})
}

// TestParseSeeds round-trips every seed text and checks that no mutation
// of one crashes the parser (the fuzz test's checks, without -fuzz).
func TestParseSeeds(t *testing.T) {
	texts := seedTexts(t)
	if len(texts) < 50 {
		t.Fatalf("only %d seed texts", len(texts))
	}
	r := rand.New(rand.NewPCG(5, 6))
	for _, s := range texts {
		g, err := ir.Parse(s)
		if err != nil {
			t.Fatalf("seed does not parse: %v\n%s", err, s)
		}
		if p := ir.Print(g); p != s {
			t.Errorf("seed does not print back identically:\n%s\n---\n%s", s, p)
		}
		for _, m := range mutations(s, r) {
			if _, err := ir.Parse(m); err != nil && strings.Contains(err.Error(), "internal error") {
				t.Errorf("Parse(%q): %v", m, err)
			}
		}
	}
}

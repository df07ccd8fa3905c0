package rt

import (
	"math/rand/v2"
	"testing"
)

func TestLayoutKeepsValidPlan(t *testing.T) {
	r := []Region{
		{Offset: 0, Elems: 100, Start: 0, End: 3},
		{Offset: 112, Elems: 10, Start: 1, End: 2},
		{Offset: 0, Elems: 50, Start: 4, End: 5}, // reuses the first region's space
	}
	if n := Layout(r, 16); n != 122 {
		t.Errorf("size %d, want 122", n)
	}
	if r[0].Offset != 0 || r[1].Offset != 112 || r[2].Offset != 0 {
		t.Errorf("planned offsets moved: %+v", r)
	}
}

func TestLayoutRepacks(t *testing.T) {
	// Planned for smaller sizes: the first region now overlaps the second.
	r := []Region{
		{Offset: 0, Elems: 200, Start: 0, End: 3},
		{Offset: 112, Elems: 10, Start: 1, End: 2},
		{Offset: 0, Elems: 50, Start: 4, End: 5},
	}
	n := Layout(r, 16)
	checkLayout(t, r, n, 16)
	if n != 208+10 {
		t.Errorf("size %d, want 218", n)
	}
}

func TestLayoutRepacksWastefulPlan(t *testing.T) {
	// Planned at a far larger capacity (offsets of an n·s·s buffer at
	// n = s = 256): valid at these sizes, but placing again is smaller.
	r := []Region{
		{Offset: 0, Elems: 128, Start: 0, End: 3},
		{Offset: 33554432, Elems: 64, Start: 1, End: 2},
		{Offset: 67108864, Elems: 64, Start: 2, End: 5},
	}
	n := Layout(r, 16)
	checkLayout(t, r, n, 16)
	if n != 128+64+64 {
		t.Errorf("size %d, want 256: %+v", n, r)
	}
}

// checkLayout fails if two live-together regions overlap, a region is
// outside the arena, or an offset is misaligned.
func checkLayout(t *testing.T, r []Region, n, align int) {
	t.Helper()
	for i, a := range r {
		if a.Offset%align != 0 || a.Offset < 0 || a.Offset+a.Elems > n {
			t.Fatalf("region %d %+v: misplaced in an arena of %d", i, a, n)
		}
		for j, b := range r[i+1:] { // pairwise, independently of bestfit.Conflict
			if a.Start <= b.End && b.Start <= a.End && a.Offset < b.Offset+b.Elems && b.Offset < a.Offset+a.Elems {
				t.Fatalf("regions %d %+v and %d %+v overlap", i, a, i+1+j, b)
			}
		}
	}
}

func TestLayoutRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 500; trial++ {
		r := make([]Region, 1+rng.IntN(20))
		for i := range r {
			s := rng.IntN(30)
			r[i] = Region{Offset: rng.IntN(4) * 16, Elems: rng.IntN(100), Start: s, End: s + rng.IntN(10)}
		}
		n := Layout(r, 16)
		checkLayout(t, r, n, 16)
	}
}

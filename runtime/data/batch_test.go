package data

import (
	"slices"
	"strings"
	"testing"
)

// epochOrder collects all indices of one epoch and the batch sizes.
func epochOrder(b *Batcher) (order, sizes []int) {
	for idx, ok := b.Next(); ok; idx, ok = b.Next() {
		order = append(order, idx...)
		sizes = append(sizes, len(idx))
	}
	return order, sizes
}

func TestBatcherCoversEpoch(t *testing.T) {
	b := NewBatcher(10, 4, true, 42)
	if b.NumBatches() != 3 {
		t.Errorf("NumBatches = %d, expected 3", b.NumBatches())
	}
	order, sizes := epochOrder(b)
	if !slices.Equal(sizes, []int{4, 4, 2}) {
		t.Errorf("batch sizes = %v, expected [4 4 2]", sizes)
	}
	sorted := slices.Sorted(slices.Values(order))
	if !slices.Equal(sorted, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}) {
		t.Fatalf("epoch visited %v, expected each of 0..9 once", order)
	}
	if slices.IsSorted(order) {
		t.Errorf("shuffled epoch came out in order %v", order)
	}
	if _, ok := b.Next(); ok {
		t.Error("Next after the epoch ended returned ok")
	}
	b.Reset()
	if b.Epoch() != 1 {
		t.Errorf("Epoch = %d after Reset, expected 1", b.Epoch())
	}
	order2, _ := epochOrder(b)
	if slices.Equal(order, order2) {
		t.Errorf("epochs 0 and 1 have the same permutation %v", order)
	}
}

func TestBatcherDeterministic(t *testing.T) {
	a, b := NewBatcher(50, 7, true, 9), NewBatcher(50, 7, true, 9)
	c := NewBatcher(50, 7, true, 10)
	for epoch := 0; epoch < 3; epoch++ {
		oa, _ := epochOrder(a)
		ob, _ := epochOrder(b)
		oc, _ := epochOrder(c)
		if !slices.Equal(oa, ob) {
			t.Fatalf("epoch %d: same seed gave different orders", epoch)
		}
		if slices.Equal(oa, oc) {
			t.Fatalf("epoch %d: seeds 9 and 10 gave the same order", epoch)
		}
		a.Reset()
		b.Reset()
		c.Reset()
	}
	// The permutation depends only on seed and epoch, not on how much of
	// the previous epoch was consumed.
	d := NewBatcher(50, 7, true, 9)
	d.Next()
	d.Reset()
	e := NewBatcher(50, 7, true, 9)
	epochOrder(e)
	e.Reset()
	od, _ := epochOrder(d)
	oe, _ := epochOrder(e)
	if !slices.Equal(od, oe) {
		t.Fatal("epoch-1 order depends on how epoch 0 was consumed")
	}
}

func TestBatcherNoShuffleDropLast(t *testing.T) {
	b := NewBatcher(10, 4, false, 0)
	b.DropLast = true
	if b.NumBatches() != 2 {
		t.Errorf("NumBatches = %d, expected 2", b.NumBatches())
	}
	order, sizes := epochOrder(b)
	if !slices.Equal(order, []int{0, 1, 2, 3, 4, 5, 6, 7}) || !slices.Equal(sizes, []int{4, 4}) {
		t.Fatalf("order = %v, sizes = %v", order, sizes)
	}
	empty := NewBatcher(0, 3, true, 1)
	if _, ok := empty.Next(); ok {
		t.Error("empty data set yielded a batch")
	}
}

func TestBatcherZeroAllocs(t *testing.T) {
	b := NewBatcher(1000, 32, true, 1)
	x := make([]float32, 32*3)
	src := make([]float32, 1000*3)
	y := make([]int32, 32)
	lab := make([]int32, 1000)
	allocs := testing.AllocsPerRun(20, func() {
		for idx, ok := b.Next(); ok; idx, ok = b.Next() {
			GatherRows(x, src, 3, idx)
			GatherLabels(y, lab, idx)
		}
		b.Reset()
	})
	if allocs != 0 {
		t.Errorf("an epoch of Next+Gather+Reset allocates %v times, expected 0", allocs)
	}
}

func TestGather(t *testing.T) {
	src := []float64{0, 1, 10, 11, 20, 21}
	dst := make([]float64, 6)
	GatherRows(dst, src, 2, []int{2, 0})
	if !slices.Equal(dst[:4], []float64{20, 21, 0, 1}) {
		t.Errorf("GatherRows = %v", dst)
	}
	lab := make([]int32, 3)
	GatherLabels(lab, []int32{5, 6, 7}, []int{2, 2, 1})
	if !slices.Equal(lab, []int32{7, 7, 6}) {
		t.Errorf("GatherLabels = %v", lab)
	}
	for name, f := range map[string]func(){
		"dst has 2 elements, expected at least 4": func() { GatherRows(make([]float64, 2), src, 2, []int{0, 1}) },
		"index 3 is out of range; src has 3 rows": func() { GatherRows(dst, src, 2, []int{3}) },
		"index -1 is out of range; src has 3":     func() { GatherLabels(lab, []int32{1, 2, 3}, []int{-1}) },
		"batchSize must be >= 1, found 0":         func() { NewBatcher(3, 0, false, 0) },
	} {
		func() {
			defer func() {
				r := recover()
				if s, _ := r.(string); !strings.Contains(s, name) {
					t.Errorf("panic = %v, expected one containing %q", r, name)
				}
			}()
			f()
		}()
	}
}

package kernels

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"
)

func minTime(f func(), reps int) time.Duration {
	best := time.Hour
	for i := 0; i < reps; i++ {
		t0 := time.Now()
		f()
		if d := time.Since(t0); d < best {
			best = d
		}
	}
	return best
}

func tuneSet[T float](t *testing.T, ks *kernelSet[T], mcs, kcs, ncs []int) {
	orig := *ks
	defer func() { *ks = orig }()
	for _, s := range benchShapes[:3] {
		r := rand.New(rand.NewPCG(5, 6))
		a, bb, c := randSlice[T](r, s.m*s.k), randSlice[T](r, s.k*s.n), make([]T, s.m*s.n)
		var lines []string
		for _, mc := range mcs {
			for _, kc := range kcs {
				for _, nc := range ncs {
					ks.mc, ks.kc, ks.nc = mc, kc, nc
					f := func() { callGemm(false, false, s.m, s.n, s.k, 1, a, s.k, bb, s.n, 0, c, s.n) }
					f()
					reps := max(5, int(2e8/float64(s.m*s.n*s.k)))
					d := minTime(f, reps)
					lines = append(lines, fmt.Sprintf("mc%d-kc%d-nc%d:%.0f", mc, kc, nc, 2*float64(s.m*s.n*s.k)/float64(d.Nanoseconds())))
				}
			}
		}
		t.Logf("%s %dx%dx%d: %s", ks.name, s.m, s.k, s.n, strings.Join(lines, " "))
	}
}

func TestTune(t *testing.T) {
	w := os.Getenv("TUNE")
	if w == "" {
		t.Skip()
	}
	defer SetThreads(SetThreads(1))
	defer SetBackend(SetBackend(BackendAVX512))
	switch w {
	case "s512":
		tuneSet(t, avx512Set32, []int{96, 192, 384}, []int{128, 256, 384, 512}, []int{512, 4096})
	case "d512":
		tuneSet(t, avx512Set64, []int{48, 96, 192}, []int{128, 256, 384, 512}, []int{256, 2048})
	case "s2", "d2":
		SetBackend(BackendAVX2)
	}
	switch w {
	case "s2":
		tuneSet(t, avx2Set32, []int{72, 144, 288}, []int{128, 256, 384, 512}, []int{512, 4096})
	case "d2":
		tuneSet(t, avx2Set64, []int{36, 72, 144}, []int{128, 256, 384, 512}, []int{256, 2048})
	case "cur":
		tuneSet(t, avx512Set32, []int{avx512MC32}, []int{avx512KC32}, []int{avx512NC32})
		tuneSet(t, avx512Set64, []int{avx512MC64}, []int{avx512KC64}, []int{avx512NC64})
		SetBackend(BackendAVX2)
		tuneSet(t, avx2Set32, []int{avx2MC32}, []int{avx2KC32}, []int{avx2NC32})
		tuneSet(t, avx2Set64, []int{avx2MC64}, []int{avx2KC64}, []int{avx2NC64})
		SetBackend(BackendPortable)
		tuneSet(t, portable32, []int{128}, []int{256}, []int{2048})
		SetBackend(BackendGonum)
		tuneSet(t, portable32, []int{128}, []int{256}, []int{2048})
	}
}

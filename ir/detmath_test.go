package ir

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
	"testing"
)

// detMaxULP bounds the distance of detLog from math.Log, and of detCos2Pi's
// polynomials from math.Cos and math.Sin on the same reduced argument:
// each is within 1 ulp of the exact value, so they are 2 ulp apart at most.
const detMaxULP = 2

// cos2PiAbsTol bounds |detCos2Pi(u) − math.Cos(2π·u)|: math.Cos's argument
// 2π·u in [0, 2π) is itself rounded (up to 4.4e-16 away), detCos2Pi
// rounds only the reduced argument (|2π·r| ≤ π/4).
const cos2PiAbsTol = 1e-15

func ulps(a, b float64) float64 {
	if a == b {
		return 0
	}
	return math.Abs(a-b) / math.Abs(math.Nextafter(b, math.Inf(1))-b)
}

func TestDetLog(t *testing.T) {
	xs := []float64{1, 0.5, 2, math.Sqrt2 / 2, math.Nextafter(math.Sqrt2/2, 0), math.Sqrt2, 0x1p-53, 1 - 0x1p-53, 0x1p-1022, math.MaxFloat64, 10, 1e-300}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		// detLog is called on 1 − u ≥ 2⁻⁵³; subnormals are left out (amd64's
		// assembly math.Log gets them wrong: log(5e-324) = −709.09).
		xs = append(xs, rng.Float64(), math.Exp(rng.NormFloat64()*50))
	}
	for _, x := range xs {
		got, want := detLog(x), math.Log(x)
		if want == 0 {
			if got != 0 {
				t.Fatalf("detLog(%v) = %v, want 0", x, got)
			}
			continue
		}
		if u := ulps(got, want); u > detMaxULP {
			t.Fatalf("detLog(%v) = %v, math.Log = %v: %.1f ulp apart", x, got, want, u)
		}
	}
}

func TestDetCos2Pi(t *testing.T) {
	us := []float64{0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1 - 0x1p-53, 0x1p-53, math.Nextafter(0.125, 0), math.Nextafter(0.25, 1)}
	key := StreamKey(7, "cos")
	for i := range uint64(200000) {
		us = append(us, Uniform01(key, i))
	}
	for _, u := range us {
		got := detCos2Pi(u)
		if want := math.Cos(2 * math.Pi * u); math.Abs(got-want) > cos2PiAbsTol {
			t.Fatalf("detCos2Pi(%v) = %v, math.Cos(2π·u) = %v", u, got, want)
		}
		// The same reduction, with math's cos and sin of the reduced
		// argument: checks the polynomials (and the quadrant).
		q := math.Floor(u*4 + 0.5)
		x := 2 * math.Pi * (u - q/4)
		want := [4]float64{math.Cos(x), -math.Sin(x), -math.Cos(x), math.Sin(x)}[int(q)&3]
		if d := ulps(got, want); d > detMaxULP {
			t.Fatalf("detCos2Pi(%v) = %v, math on the reduced argument %v: %.1f ulp apart", u, got, want, d)
		}
	}
}

// TestRandPinned pins the random streams to checked-in hashes. The
// generator uses only integer and correctly rounded float64 operations, so
// these hashes must hold on every architecture and GOAMD64 level (.ci/run
// runs this test with GOAMD64=v3 and, under qemu, on arm64); a change here
// changes every model's initial parameters.
func TestRandPinned(t *testing.T) {
	h := fnv.New64a()
	put := func(x float64) {
		b := math.Float64bits(x)
		h.Write([]byte{byte(b), byte(b >> 8), byte(b >> 16), byte(b >> 24), byte(b >> 32), byte(b >> 40), byte(b >> 48), byte(b >> 56)})
	}
	key := StreamKey(42, "W1")
	for i := range uint64(100000) {
		put(Uniform01(key, i))
		put(Normal01(key, i))
	}
	for _, a := range []Attrs{{"init": "normal", "mean": 1.5, "std": 0.2}, {"init": "uniform", "low": -2.0, "high": 3.0}, {"init": "he_normal"}, {"init": "xavier_uniform"}} {
		v, err := InitValues("p", []int{100, 30}, a, 99)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range v {
			put(x)
		}
	}
	const want = 0x8c92737eee41161a
	if got := h.Sum64(); got != want {
		t.Errorf("random streams hash to %#x, want %#x", got, uint64(want))
	}
}

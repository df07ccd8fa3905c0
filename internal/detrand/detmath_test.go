package detrand

import (
	"math"
	"math/rand/v2"
	"testing"
)

// detMaxULP bounds the distance of Log from math.Log, and of Cos2Pi's
// polynomials from math.Cos and math.Sin on the same reduced argument:
// each is within 1 ulp of the exact value, so they are 2 ulp apart at most.
const detMaxULP = 2

// cos2PiAbsTol bounds |Cos2Pi(u) − math.Cos(2π·u)|: math.Cos's argument
// 2π·u in [0, 2π) is itself rounded (up to 4.4e-16 away), Cos2Pi
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
		// Log is called on 1 − u ≥ 2⁻⁵³; subnormals are left out (amd64's
		// assembly math.Log gets them wrong: log(5e-324) = −709.09).
		xs = append(xs, rng.Float64(), math.Exp(rng.NormFloat64()*50))
	}
	for _, x := range xs {
		got, want := Log(x), math.Log(x)
		if want == 0 {
			if got != 0 {
				t.Fatalf("Log(%v) = %v, want 0", x, got)
			}
			continue
		}
		if u := ulps(got, want); u > detMaxULP {
			t.Fatalf("Log(%v) = %v, math.Log = %v: %.1f ulp apart", x, got, want, u)
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
		got := Cos2Pi(u)
		if want := math.Cos(2 * math.Pi * u); math.Abs(got-want) > cos2PiAbsTol {
			t.Fatalf("Cos2Pi(%v) = %v, math.Cos(2π·u) = %v", u, got, want)
		}
		// The same reduction, with math's cos and sin of the reduced
		// argument: checks the polynomials (and the quadrant).
		q := math.Floor(u*4 + 0.5)
		x := 2 * math.Pi * (u - q/4)
		want := [4]float64{math.Cos(x), -math.Sin(x), -math.Cos(x), math.Sin(x)}[int(q)&3]
		if d := ulps(got, want); d > detMaxULP {
			t.Fatalf("Cos2Pi(%v) = %v, math on the reduced argument %v: %.1f ulp apart", u, got, want, d)
		}
	}
}

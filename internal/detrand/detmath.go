package detrand

import "math"

// Box–Muller needs a logarithm and a cosine. math.Log and math.Cos are not
// the same function on every machine: amd64 has an assembly Log, and the
// compiler may fuse x*y+z into one FMA instruction in the pure-Go code
// (arm64 always; amd64 with GOAMD64=v3), so the same seed would give other
// initial parameters on another machine. Log and Cos2Pi use only +,
// −, ×, ÷ (correctly rounded everywhere by IEEE 754), exact bit operations
// and explicit float64 conversions around every product that Go may not
// fuse ("an explicit floating-point type conversion rounds to the precision
// of the target type, preventing fusion"), so they return the same bits on
// every architecture.

// Log returns log(x) for finite x > 0, within 2 ulp of math.Log.
func Log(x float64) float64 {
	m, e := math.Frexp(x) // x = m·2^e, m in [1/2, 1): exact
	if m < math.Sqrt2/2 {
		m, e = m*2, e-1 // m in [√½, √2): exact
	}
	// log m = 2·atanh(s) = 2s + 2s·(z/3 + z²/5 + …), s = (m−1)/(m+1),
	// z = s² ≤ 0.0295: the terms up to z¹⁰/21 leave < 1e-17.
	s := (m - 1) / (m + 1)
	z := float64(s * s)
	p := 1.0 / 21
	for _, c := range [...]float64{1.0 / 19, 1.0 / 17, 1.0 / 15, 1.0 / 13, 1.0 / 11, 1.0 / 9, 1.0 / 7, 1.0 / 5, 1.0 / 3} {
		p = c + float64(z*p)
	}
	s2 := s * 2 // exact
	logm := s2 + float64(s2*float64(z*p))
	// e·log 2 in two parts: e·ln2Hi is exact (ln2Hi has 32 significant
	// bits, |e| < 1100).
	const (
		ln2Hi = 6.93147180369123816490e-01
		ln2Lo = 1.90821492927058770002e-10
	)
	fe := float64(e)
	return float64(fe*ln2Hi) + (float64(fe*ln2Lo) + logm)
}

// Cos2Pi returns cos(2π·u) for u in [0, 1), within 2 ulp of math.Cos.
// u is reduced exactly: u − q/4 is exact for the dyadic u of Uniform01.
func Cos2Pi(u float64) float64 {
	q := math.Floor(u*4 + 0.5) // quadrant 0…4; u*4 is exact
	r := u - q/4               // |r| ≤ 1/8, exact
	x := float64(2 * math.Pi * r)
	w := float64(x * x) // x² ≤ (π/4)²
	switch int(q) & 3 {
	case 0:
		return cosPoly(w)
	case 1:
		return -sinPoly(x, w)
	case 2:
		return -cosPoly(w)
	default:
		return sinPoly(x, w)
	}
}

// cosPoly is cos x for |x| ≤ π/4 given w = x², by its Taylor series to
// x¹⁸/18! (the next term is below 1e-19).
func cosPoly(w float64) float64 {
	p := 1.0 / 6402373705728000 // 1/18!
	for _, c := range [...]float64{-1.0 / 20922789888000, 1.0 / 87178291200, -1.0 / 479001600, 1.0 / 3628800, -1.0 / 40320, 1.0 / 720, -1.0 / 24, 1.0 / 2} {
		p = c + float64(w*p) // cos x = 1 − w·(1/2! − w/4! + w²/6! − …)
	}
	return 1 - float64(w*p)
}

// sinPoly is sin x for |x| ≤ π/4 given w = x², by its Taylor series to
// x¹⁷/17!.
func sinPoly(x, w float64) float64 {
	p := 1.0 / 355687428096000 // 1/17!
	for _, c := range [...]float64{-1.0 / 1307674368000, 1.0 / 6227020800, -1.0 / 39916800, 1.0 / 362880, -1.0 / 5040, 1.0 / 120, -1.0 / 6} {
		p = c + float64(w*p) // sin x = x + x·w·(−1/3! + w/5! − …)
	}
	return x + float64(x*float64(w*p))
}

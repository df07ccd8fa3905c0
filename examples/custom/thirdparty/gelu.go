// Package thirdparty stands for a library bpgen knows nothing about: it
// computes GELU with the exact normal CDF (math.Erf), an op bpgen's table
// does not have, and ships its own derivative. examples/models uses it as
// an extern op with a custom Go backward.
package thirdparty

import "math"

// Float is the element types the functions accept.
type Float interface{ ~float32 | ~float64 }

// GELU writes x·Φ(x) for x = args[0] into out, where Φ is the standard
// normal CDF.
func GELU[T Float](out []T, args ...[]T) {
	for i, v := range args[0] {
		x := float64(v)
		out[i] = T(0.5 * x * (1 + math.Erf(x/math.Sqrt2)))
	}
}

// GELUVJP writes the cotangent of args[arg] (the only argument, 0) given
// the cotangent gout of GELU's result: gout·(Φ(x) + x·φ(x)).
func GELUVJP[T Float](grad []T, arg int, gout []T, args ...[]T) {
	for i, v := range args[0] {
		x := float64(v)
		cdf := 0.5 * (1 + math.Erf(x/math.Sqrt2))
		pdf := math.Exp(-0.5*x*x) / math.Sqrt(2*math.Pi)
		grad[i] = T(float64(gout[i]) * (cdf + x*pdf))
	}
}

// Package detrand is the deterministic random number generator of bpgen's
// parameter initializers and dropout, shared by the compiler's interpreter
// (package ir) and generated code (through package runtime/rt): one copy,
// so the two agree bit for bit by construction. It imports only the
// standard library.
//
// Element i of a stream keyed by k is SplitMix64(k + i·golden): any
// element can be computed independently, in any order, so interpreted,
// generated and parallel code agree. Every float operation is correctly
// rounded (see Log), so a seed gives the same values on every
// architecture.
package detrand

import (
	"fmt"
	"math"
)

const golden = 0x9e3779b97f4a7c15

// SplitMix64 is the finalizer of Vigna's SplitMix64 generator.
func SplitMix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// StreamKey derives the key of a named stream (a parameter's name) from a
// seed: SplitMix64(seed ^ FNV-1a-64(name)).
func StreamKey(seed uint64, name string) uint64 {
	const (
		offset64 = 14695981039346656037
		prime64  = 1099511628211
	)
	h := uint64(offset64)
	for i := 0; i < len(name); i++ {
		h ^= uint64(name[i])
		h *= prime64
	}
	return SplitMix64(seed ^ h)
}

// Uniform01 returns element i of stream key as a float64 in [0, 1).
func Uniform01(key uint64, i uint64) float64 {
	return float64(SplitMix64(key+i*golden)>>11) / (1 << 53)
}

// Normal01 returns element i of stream key as a standard normal sample
// (Box–Muller over elements 2i and 2i+1), the same bits on every
// architecture.
func Normal01(key uint64, i uint64) float64 {
	u1 := Uniform01(key, 2*i)
	u2 := Uniform01(key, 2*i+1)
	return math.Sqrt(-2*Log(1-u1)) * Cos2Pi(u2)
}

// DropoutKey is the key of the dropout stream of a training step.
func DropoutKey(seed, step uint64) uint64 { return SplitMix64(seed ^ SplitMix64(step+golden)) }

// DropoutKeep reports whether element i survives dropout with drop
// probability p at a training step.
func DropoutKeep(seed, step uint64, i int, p float64) bool {
	return Uniform01(DropoutKey(seed, step), uint64(i)) >= p
}

// FanInOut returns the fan-in and fan-out of a parameter shape: the
// product of all dims but the last, and the last dim; both are the length
// of a vector.
func FanInOut(shape []int) (fanIn, fanOut int) {
	if len(shape) == 0 {
		return 1, 1
	}
	if len(shape) == 1 {
		return shape[0], shape[0]
	}
	fanIn = 1
	for _, d := range shape[:len(shape)-1] {
		fanIn *= d
	}
	return fanIn, shape[len(shape)-1]
}

// Initializers are the initializer kinds, as a param names them.
var Initializers = []string{"zeros", "constant", "normal", "uniform", "xavier_uniform", "xavier_normal", "he_normal", "he_uniform"}

// Init describes a parameter initializer with every default resolved: Kind
// is one of Initializers; constant uses Value, normal Mean and Std,
// uniform Low and High, the xavier and he kinds Gain.
type Init struct {
	Kind                        string
	Value, Mean, Std, Low, High float64
	Gain                        float64
}

// Fill fills dst, the parameter name of the given shape, with its initial
// values from the model seed, computed in float64 and rounded to T.
func Fill[T ~float32 | ~float64](dst []T, name string, shape []int, in Init, seed uint64) error {
	n := 1
	for _, d := range shape {
		n *= d
	}
	if len(dst) != n {
		return fmt.Errorf("param %s: buffer has %d elements, shape %v needs %d", name, len(dst), shape, n)
	}
	key := StreamKey(seed, name)
	fanIn, fanOut := FanInOut(shape)
	uniform := func(lo, hi float64) {
		for i := range dst {
			dst[i] = T(lo + float64((hi-lo)*Uniform01(key, uint64(i))))
		}
	}
	normal := func(mean, std float64) {
		for i := range dst {
			dst[i] = T(mean + float64(std*Normal01(key, uint64(i))))
		}
	}
	switch in.Kind {
	case "zeros":
		clear(dst)
	case "constant":
		for i := range dst {
			dst[i] = T(in.Value)
		}
	case "normal":
		normal(in.Mean, in.Std)
	case "uniform":
		uniform(in.Low, in.High)
	case "xavier_uniform":
		r := in.Gain * math.Sqrt(6/float64(fanIn+fanOut))
		uniform(-r, r)
	case "xavier_normal":
		normal(0, in.Gain*math.Sqrt(2/float64(fanIn+fanOut)))
	case "he_normal":
		normal(0, in.Gain/math.Sqrt(float64(fanIn)))
	case "he_uniform":
		r := in.Gain * math.Sqrt(3/float64(fanIn))
		uniform(-r, r)
	default:
		return fmt.Errorf("param %s: unknown initializer %q (want one of %v)", name, in.Kind, Initializers)
	}
	return nil
}

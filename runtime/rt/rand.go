package rt

import (
	"fmt"
	"math"
)

// The generator below is a copy of package ir's (ir/rand.go): element i of
// a stream keyed by k is SplitMix64(k + i·golden). Generated code must not
// import ir, and its parameters and dropout masks must equal the
// interpreter's bit for bit; codegen's tests check that the two agree.

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
// (Box–Muller over elements 2i and 2i+1). It returns the same bits on
// every architecture (see detLog).
func Normal01(key uint64, i uint64) float64 {
	u1 := Uniform01(key, 2*i)
	u2 := Uniform01(key, 2*i+1)
	return math.Sqrt(-2*detLog(1-u1)) * detCos2Pi(u2)
}

// DropoutKeep reports whether element i survives dropout with drop
// probability p at a training step.
func DropoutKeep(seed, step uint64, i int, p float64) bool {
	return Uniform01(dropoutKey(seed, step), uint64(i)) >= p
}

// dropoutKey is the key of the dropout stream of a training step.
func dropoutKey(seed, step uint64) uint64 { return SplitMix64(seed ^ SplitMix64(step+golden)) }

// DropoutMask fills dst with a dropout mask: in training, 0 with
// probability p and 1/(1−p) otherwise, drawn with DropoutKeep(seed, step,
// i, p) for element i; in inference, 1.
func DropoutMask[T Float](dst []T, p float64, seed, step uint64, training bool) {
	if !training {
		Fill(dst, 1)
		return
	}
	scale := T(1 / (1 - p))
	key := dropoutKey(seed, step)
	for i := range dst {
		if Uniform01(key, uint64(i)) >= p {
			dst[i] = scale
		} else {
			dst[i] = 0
		}
	}
}

// Init describes a parameter initializer with every default resolved by
// the code generator: Kind is one of zeros, constant (Value), normal (Mean,
// Std), uniform (Low, High), xavier_uniform, xavier_normal, he_normal,
// he_uniform (Gain).
type Init struct {
	Kind                        string
	Value, Mean, Std, Low, High float64
	Gain                        float64
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

// InitParam fills dst (the parameter name of the given shape) with its
// initial values from the model seed: the same values as package ir's
// InitValues, computed in float64 and rounded to T.
func InitParam[T Float](dst []T, name string, shape []int, in Init, seed uint64) error {
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
		Fill(dst, 0)
	case "constant":
		Fill(dst, T(in.Value))
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
		return fmt.Errorf("param %s: unknown initializer %q", name, in.Kind)
	}
	return nil
}

package ir

import (
	"fmt"
	"hash/fnv"
	"math"
)

// The random numbers of parameter initializers and dropout come from a
// counter-based generator: element i of a stream keyed by k is
// SplitMix64(k + i·golden). Any element can be computed independently, in
// any order, so the interpreter, generated code (runtime/…, which carries
// an identical copy) and parallel kernels agree bit for bit.

const golden = 0x9e3779b97f4a7c15

// SplitMix64 is the finalizer of Vigna's SplitMix64 generator.
func SplitMix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// StreamKey derives the key of a named stream (a parameter's name) from a seed.
func StreamKey(seed uint64, name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return SplitMix64(seed ^ h.Sum64())
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
	key := SplitMix64(seed ^ SplitMix64(step+golden))
	return Uniform01(key, uint64(i)) >= p
}

// Initializers a Param may name in its "init" attribute. Fan-in is the
// product of all dims but the last (a weight is stored in × out), fan-out
// the last dim; for a vector both are its length.
var Initializers = []string{"zeros", "constant", "normal", "uniform", "xavier_uniform", "xavier_normal", "he_normal", "he_uniform"}

// FanInOut returns the fan-in and fan-out of a parameter shape.
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

// InitValues computes a parameter's initial values from the model seed. The
// attributes are those of the param op: init, and value (constant), mean and
// std (normal), low and high (uniform), gain (xavier/he, default 1 and √2).
func InitValues(name string, shape []int, a Attrs, seed uint64) ([]float64, error) {
	n := 1
	for _, d := range shape {
		n *= d
	}
	out := make([]float64, n)
	key := StreamKey(seed, name)
	fanIn, fanOut := FanInOut(shape)
	gain := 1.0
	if a.Has("gain") {
		gain = a.Float("gain")
	}
	uniform := func(lo, hi float64) {
		for i := range out {
			out[i] = lo + float64((hi-lo)*Uniform01(key, uint64(i)))
		}
	}
	normal := func(mean, std float64) {
		for i := range out {
			out[i] = mean + float64(std*Normal01(key, uint64(i)))
		}
	}
	switch init := a.Str("init"); init {
	case "zeros":
	case "constant":
		for i := range out {
			out[i] = a.Float("value")
		}
	case "normal":
		std := 1.0
		if a.Has("std") {
			std = a.Float("std")
		}
		normal(a.Float("mean"), std)
	case "uniform":
		lo, hi := 0.0, 1.0
		if a.Has("low") {
			lo = a.Float("low")
		}
		if a.Has("high") {
			hi = a.Float("high")
		}
		uniform(lo, hi)
	case "xavier_uniform":
		r := gain * math.Sqrt(6/float64(fanIn+fanOut))
		uniform(-r, r)
	case "xavier_normal":
		normal(0, gain*math.Sqrt(2/float64(fanIn+fanOut)))
	case "he_normal":
		if !a.Has("gain") {
			gain = math.Sqrt2
		}
		normal(0, gain/math.Sqrt(float64(fanIn)))
	case "he_uniform":
		if !a.Has("gain") {
			gain = math.Sqrt2
		}
		r := gain * math.Sqrt(3/float64(fanIn))
		uniform(-r, r)
	default:
		return nil, fmt.Errorf("param %s: unknown initializer %q (want one of %v)", name, init, Initializers)
	}
	return out, nil
}

// InitParams computes every parameter of g from seed, as tensors by name
// (the same values the generated constructor makes).
func InitParams(g *Graph, seed uint64) (map[string]*Tensor, error) {
	m := map[string]*Tensor{}
	for _, p := range g.Params() {
		shape, err := p.Type.Shape.Eval(nil)
		if err != nil {
			return nil, fmt.Errorf("param %s: %v (params must have static shapes)", p.Name, err)
		}
		vals, err := InitValues(p.Name, shape, p.Attrs, seed)
		if err != nil {
			return nil, err
		}
		m[p.Name] = FromFloats(p.Type.DType, vals, shape...)
	}
	return m, nil
}

package ir

import (
	"fmt"
	"math"

	"github.com/bpgen/bpgen/internal/detrand"
)

// The random numbers of parameter initializers and dropout come from
// package internal/detrand, which generated code uses too (through
// runtime/rt): one generator, so the interpreter and generated code agree
// bit for bit.

// SplitMix64 is the finalizer of Vigna's SplitMix64 generator.
func SplitMix64(z uint64) uint64 { return detrand.SplitMix64(z) }

// StreamKey derives the key of a named stream (a parameter's name) from a seed.
func StreamKey(seed uint64, name string) uint64 { return detrand.StreamKey(seed, name) }

// Uniform01 returns element i of stream key as a float64 in [0, 1).
func Uniform01(key uint64, i uint64) float64 { return detrand.Uniform01(key, i) }

// Normal01 returns element i of stream key as a standard normal sample
// (Box–Muller over elements 2i and 2i+1), the same bits on every
// architecture.
func Normal01(key uint64, i uint64) float64 { return detrand.Normal01(key, i) }

// DropoutKeep reports whether element i survives dropout with drop
// probability p at a training step.
func DropoutKeep(seed, step uint64, i int, p float64) bool {
	return detrand.DropoutKeep(seed, step, i, p)
}

// Initializers a Param may name in its "init" attribute. Fan-in is the
// product of all dims but the last (a weight is stored in × out), fan-out
// the last dim; for a vector both are its length.
var Initializers = detrand.Initializers

// FanInOut returns the fan-in and fan-out of a parameter shape.
func FanInOut(shape []int) (fanIn, fanOut int) { return detrand.FanInOut(shape) }

// InitSpec resolves a param's initializer attributes (init, and value,
// mean, std, low, high, gain) with their defaults, setting only the fields
// the kind reads: normal has std 1, uniform [0, 1), xavier gain 1, he gain
// √2. Generated code initializes with the same spec.
func InitSpec(a Attrs) detrand.Init {
	num := func(name string, def float64) float64 {
		if a.Has(name) {
			return a.Float(name)
		}
		return def
	}
	in := detrand.Init{Kind: a.Str("init")}
	switch in.Kind {
	case "constant":
		in.Value = num("value", 0)
	case "normal":
		in.Mean, in.Std = num("mean", 0), num("std", 1)
	case "uniform":
		in.Low, in.High = num("low", 0), num("high", 1)
	case "xavier_uniform", "xavier_normal":
		in.Gain = num("gain", 1)
	case "he_normal", "he_uniform":
		in.Gain = num("gain", math.Sqrt2)
	}
	return in
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
	if err := detrand.Fill(out, name, shape, InitSpec(a), seed); err != nil {
		return nil, err
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

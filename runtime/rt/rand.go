package rt

import "github.com/bpgen/bpgen/internal/detrand"

// The generator is package internal/detrand's, which the interpreter
// (package ir) uses too: generated parameters and dropout masks equal the
// interpreter's bit for bit.

// SplitMix64 is the finalizer of Vigna's SplitMix64 generator.
func SplitMix64(z uint64) uint64 { return detrand.SplitMix64(z) }

// StreamKey derives the key of a named stream (a parameter's name) from a
// seed: SplitMix64(seed ^ FNV-1a-64(name)).
func StreamKey(seed uint64, name string) uint64 { return detrand.StreamKey(seed, name) }

// Uniform01 returns element i of stream key as a float64 in [0, 1).
func Uniform01(key uint64, i uint64) float64 { return detrand.Uniform01(key, i) }

// Normal01 returns element i of stream key as a standard normal sample,
// the same bits on every architecture.
func Normal01(key uint64, i uint64) float64 { return detrand.Normal01(key, i) }

// DropoutKeep reports whether element i survives dropout with drop
// probability p at a training step.
func DropoutKeep(seed, step uint64, i int, p float64) bool {
	return detrand.DropoutKeep(seed, step, i, p)
}

// DropoutMask fills dst with a dropout mask: in training, 0 with
// probability p and 1/(1−p) otherwise, drawn with DropoutKeep(seed, step,
// i, p) for element i; in inference, 1.
func DropoutMask[T Float](dst []T, p float64, seed, step uint64, training bool) {
	if !training {
		Fill(dst, 1)
		return
	}
	scale := T(1 / (1 - p))
	key := detrand.DropoutKey(seed, step)
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
type Init = detrand.Init

// FanInOut returns the fan-in and fan-out of a parameter shape: the
// product of all dims but the last, and the last dim; both are the length
// of a vector.
func FanInOut(shape []int) (fanIn, fanOut int) { return detrand.FanInOut(shape) }

// InitParam fills dst (the parameter name of the given shape) with its
// initial values from the model seed: the same values as package ir's
// InitValues, computed in float64 and rounded to T.
func InitParam[T Float](dst []T, name string, shape []int, in Init, seed uint64) error {
	return detrand.Fill(dst, name, shape, in, seed)
}

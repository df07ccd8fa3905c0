package dist

import (
	"fmt"
	"hash/fnv"
	"math"
	"strings"
)

// ParamSpec names one parameter of a model's flat parameter vector, in
// order: a generated model's Tensors() gives them (Name, Shape).
type ParamSpec struct {
	Name  string
	Shape []int
}

// DataParallel is the data-parallel side of a trainer for one model on a
// communicator: the model's flat parameter and gradient vectors (a
// generated model's ParamVector and GradVector, which alias its buffers).
// NewDataParallel makes every rank start from rank 0's parameters;
// AllReduceGrads, between Backward and Apply, makes every rank's gradient
// the mean over all ranks.
type DataParallel[T Float] struct {
	comm          Comm
	params, grads []T
	model         fingerprint
	check         []float64 // InSync's buffer: one slot per rank
}

// fingerprint identifies a model and its optimizer by a hash, split in
// 32-bit halves so that it travels exactly in float64s, with the counts
// an error message can show.
type fingerprint struct {
	hash          uint64
	params, elems int
}

const fingerprintLen = 4

func (f fingerprint) encode(b []float64) {
	b[0], b[1] = float64(f.hash>>32), float64(uint32(f.hash))
	b[2], b[3] = float64(f.params), float64(f.elems)
}

func decodeFingerprint(b []float64) fingerprint {
	return fingerprint{hash: uint64(b[0])<<32 | uint64(b[1]), params: int(b[2]), elems: int(b[3])}
}

func (f fingerprint) String() string {
	return fmt.Sprintf("%d params, %d elements, fingerprint %016x", f.params, f.elems, f.hash)
}

// modelFingerprint hashes the dtype, the parameters' names and shapes and
// what (the model's and optimizer's configuration as the caller spells
// it, e.g. the generated package's Source and its Config).
func modelFingerprint[T Float](specs []ParamSpec, what string) fingerprint {
	h := fnv.New64a()
	var zero T
	fmt.Fprintf(h, "%T|%s|", zero, what)
	elems := 0
	for _, s := range specs {
		n := 1
		for _, d := range s.Shape {
			n *= d
		}
		elems += n
		fmt.Fprintf(h, "%s%v;", s.Name, s.Shape)
	}
	return fingerprint{hash: h.Sum64(), params: len(specs), elems: elems}
}

// NewDataParallel checks that every rank has the same model (dtype,
// parameter names and shapes, and what: for example the generated
// package's Source and the optimizer configuration, fmt.Sprint(cfg)) and
// fails on every rank, naming the ranks that differ from rank 0, before
// any parameter moves; then it broadcasts rank 0's params to every rank,
// so that all ranks start from the same weights whatever their seeds.
// params and grads are the model's flat vectors, laid out as specs says.
// It is a collective: every rank calls it.
func NewDataParallel[T Float](c Comm, params, grads []T, specs []ParamSpec, what string) (*DataParallel[T], error) {
	d := &DataParallel[T]{comm: c, params: params, grads: grads, model: modelFingerprint[T](specs, what)}
	d.check = make([]float64, max(fingerprintLen, c.Size()))
	mine := d.model
	local := ""
	switch {
	case mine.elems != len(params):
		local = fmt.Sprintf("the specs have %d elements but the parameter vector has %d", mine.elems, len(params))
	case len(grads) != len(params):
		local = fmt.Sprintf("the gradient vector has %d elements but the parameter vector has %d", len(grads), len(params))
	}
	if local != "" {
		// The other ranks still take part in the check below: with a
		// flag that cannot match, they fail too rather than wait.
		mine.hash, mine.elems = ^mine.hash, -1
	}
	// Rank 0's fingerprint to every rank, then everyone's verdict to
	// everyone: all ranks fail together, none waits for a broadcast of
	// params of another size.
	b := d.check[:fingerprintLen]
	mine.encode(b)
	if err := c.Broadcast64(b); err != nil {
		return nil, err
	}
	root := decodeFingerprint(b)
	flags := d.check[:c.Size()]
	clear(flags)
	if root != mine {
		flags[c.Rank()] = 1
	}
	if err := c.AllReduceSum64(flags); err != nil {
		return nil, err
	}
	var bad []string
	for r, f := range flags {
		if f != 0 {
			bad = append(bad, fmt.Sprint(r))
		}
	}
	if len(bad) > 0 || local != "" {
		msg := fmt.Sprintf("dist: rank %d of %d: the model differs between ranks: rank(s) %s differ from rank 0 (%s)", c.Rank(), c.Size(), strings.Join(bad, ", "), root)
		if root != mine {
			msg += fmt.Sprintf("; this rank has %s", mine)
		}
		if local != "" {
			msg += "; on this rank " + local
		}
		return nil, fmt.Errorf("%s: every rank must run the same generated model with the same optimizer", msg)
	}
	if err := Broadcast(c, params); err != nil {
		return nil, err
	}
	return d, nil
}

// Comm is the communicator.
func (d *DataParallel[T]) Comm() Comm { return d.comm }

// AllReduceGrads replaces the gradient vector, on every rank, by its mean
// over all ranks (AllReduceMean), in place and without allocating: call it
// between Backward and Apply. Every rank must have run Backward on an
// equal share of the global batch.
func (d *DataParallel[T]) AllReduceGrads() error {
	return AllReduceMean(d.comm, d.grads)
}

// InSync checks that every rank's parameters are bit-identical to rank
// 0's (a hash of their bits, compared on every rank); it fails on every
// rank, naming the ranks that differ. It is a collective, and allocates
// nothing: cheap enough to call every few hundred steps.
func (d *DataParallel[T]) InSync() error {
	h := uint64(14695981039346656037) // FNV-1a over the bits of every element
	switch p := any(d.params).(type) {
	case []float32:
		for _, v := range p {
			h = (h ^ uint64(math.Float32bits(v))) * 1099511628211
		}
	case []float64:
		for _, v := range p {
			h = (h ^ math.Float64bits(v)) * 1099511628211
		}
	}
	b := d.check[:2]
	b[0], b[1] = float64(h>>32), float64(uint32(h))
	if err := d.comm.Broadcast64(b); err != nil {
		return err
	}
	root := uint64(b[0])<<32 | uint64(b[1])
	flags := d.check[:d.comm.Size()]
	clear(flags)
	if root != h {
		flags[d.comm.Rank()] = 1
	}
	if err := d.comm.AllReduceSum64(flags); err != nil {
		return err
	}
	var bad []string
	for r, f := range flags {
		if f != 0 {
			bad = append(bad, fmt.Sprint(r))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("dist: rank %d of %d: the parameters of rank(s) %s differ from rank 0's", d.comm.Rank(), d.comm.Size(), strings.Join(bad, ", "))
	}
	return nil
}

package optim

import (
	"fmt"
	"math"

	"github.com/bpgen/bpgen/runtime/kernels"
)

// Config selects and configures an optimizer with PyTorch's semantics
// (torch.optim.SGD, torch.optim.Adam). It is the Optimizer field of every
// generated model's Config; New validates it and fills in the defaults.
type Config struct {
	// Kind is "sgd" or "adam"; empty selects the model's default (the
	// -optimizer flag of bpgen, "sgd" unless given).
	Kind string
	// LR is the learning rate; zero selects 0.1 for SGD and 1e-3 for Adam.
	LR float64
	// Momentum is SGD's momentum factor (0: none).
	Momentum float64
	// WeightDecay is an L2 penalty coefficient added to the gradient of
	// every parameter but those excluded (NoDecay, and the params the
	// model declares with dsl.NoDecay).
	WeightDecay float64
	// NoDecay names params to exclude from WeightDecay, like a PyTorch
	// parameter group with weight_decay=0 (biases, usually); a name the
	// model does not have is an error.
	NoDecay []string
	// Nesterov selects Nesterov momentum for SGD (it needs a nonzero
	// Momentum).
	Nesterov bool
	// Beta1, Beta2 and Eps are Adam's; zero selects 0.9, 0.999 and 1e-8.
	Beta1, Beta2, Eps float64
}

// Param is one parameter of a model's flat parameter vector: its name and
// its element count. The parameters of a vector follow one another in the
// order given, without gaps.
type Param struct {
	Name string
	Size int
	// NoDecay excludes the param from Config.WeightDecay (dsl.NoDecay).
	NoDecay bool
}

// span is a run of consecutive params of the flat vector that weight
// decay treats alike.
type span struct {
	lo, hi int
	decay  bool
}

// Flat is an optimizer over a model's flat parameter vector: the rule
// Config selects, its state (SGD's momentum buffer, Adam's moments) as
// flat vectors of the same layout, and Adam's step count. Generated
// models hold one and call Step once per optimizer step.
type Flat[T Float] struct {
	cfg    Config
	params []Param
	size   int
	adam   bool
	sgdU   SGD[T]
	adamU  Adam[T]
	// s1 and s2 are the state: SGD's velocity (nil without momentum), or
	// Adam's first and second moments.
	s1, s2 []T
	steps  int // completed steps
	// spans cover the vector in order: Step updates each with or without
	// weight decay (one span when every param decays alike).
	spans []span
	// nonFinite is the error the checks return.
	nonFinite NonFiniteError
	// body is Step's work, split over cores by kernels.For.
	body stepBody[T]
}

// NewFlat returns the optimizer cfg selects for a vector of params, with
// zero fields of cfg replaced by the defaults and defaultKind used when
// cfg.Kind is empty. where prefixes errors, e.g. "mlp: Config.Optimizer".
func NewFlat[T Float](where string, cfg Config, defaultKind string, params []Param) (*Flat[T], error) {
	o := &Flat[T]{params: params}
	for _, p := range params {
		o.size += p.Size
	}
	if cfg.Kind == "" {
		cfg.Kind = defaultKind
	}
	switch cfg.Kind {
	case "sgd":
		if cfg.LR == 0 {
			cfg.LR = 0.1
		}
		if cfg.Nesterov && cfg.Momentum == 0 {
			return nil, fmt.Errorf("%s.Nesterov needs a nonzero Momentum", where)
		}
		o.sgdU = SGD[T]{LR: T(cfg.LR), Momentum: T(cfg.Momentum), WeightDecay: T(cfg.WeightDecay), Nesterov: cfg.Nesterov}
		if cfg.Momentum != 0 {
			o.s1 = make([]T, o.size)
		}
	case "adam":
		def := func(x *float64, v float64) {
			if *x == 0 {
				*x = v
			}
		}
		def(&cfg.LR, 1e-3)
		def(&cfg.Beta1, 0.9)
		def(&cfg.Beta2, 0.999)
		def(&cfg.Eps, 1e-8)
		o.adam = true
		o.adamU = Adam[T]{LR: T(cfg.LR), Beta1: T(cfg.Beta1), Beta2: T(cfg.Beta2), Eps: T(cfg.Eps), WeightDecay: T(cfg.WeightDecay)}
		o.s1, o.s2 = make([]T, o.size), make([]T, o.size)
	default:
		return nil, fmt.Errorf("%s.Kind is %q, want \"sgd\" or \"adam\"", where, cfg.Kind)
	}
	if err := cfg.check(where); err != nil {
		return nil, err
	}
	if err := o.decaySpans(where, cfg.NoDecay); err != nil {
		return nil, err
	}
	o.cfg = cfg
	return o, nil
}

// decaySpans sets o.spans from the params' NoDecay and the names in
// noDecay.
func (o *Flat[T]) decaySpans(where string, noDecay []string) error {
	excluded := map[string]bool{}
	for _, name := range noDecay {
		found := false
		for _, p := range o.params {
			found = found || p.Name == name
		}
		if !found {
			names := make([]string, len(o.params))
			for i, p := range o.params {
				names[i] = p.Name
			}
			return fmt.Errorf("%s.NoDecay names %q, which is not a param (the params: %v)", where, name, names)
		}
		excluded[name] = true
	}
	off := 0
	for _, p := range o.params {
		decay := !p.NoDecay && !excluded[p.Name]
		if n := len(o.spans); n > 0 && o.spans[n-1].decay == decay {
			o.spans[n-1].hi += p.Size
		} else {
			o.spans = append(o.spans, span{off, off + p.Size, decay})
		}
		off += p.Size
	}
	return nil
}

// check validates a configuration with its defaults filled in: a finite
// positive learning rate, finite non-negative momentum and weight decay,
// Adam's betas in [0, 1) and a finite positive epsilon.
func (cfg Config) check(where string) error {
	finite := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
	if !finite(cfg.LR) || cfg.LR <= 0 {
		return fmt.Errorf("%s.LR is %v; it must be positive and finite (0 selects the default)", where, cfg.LR)
	}
	if !finite(cfg.WeightDecay) || cfg.WeightDecay < 0 {
		return fmt.Errorf("%s.WeightDecay is %v; it must be finite and non-negative", where, cfg.WeightDecay)
	}
	if cfg.Kind == "sgd" {
		if !finite(cfg.Momentum) || cfg.Momentum < 0 {
			return fmt.Errorf("%s.Momentum is %v; it must be finite and non-negative", where, cfg.Momentum)
		}
		for _, f := range []struct {
			name string
			x    float64
		}{{"Beta1", cfg.Beta1}, {"Beta2", cfg.Beta2}, {"Eps", cfg.Eps}} {
			if f.x != 0 {
				return fmt.Errorf("%s.%s is %v, but Kind \"sgd\" has no %s (it is Adam's)", where, f.name, f.x, f.name)
			}
		}
		return nil
	}
	if cfg.Momentum != 0 || cfg.Nesterov {
		return fmt.Errorf("%s: Kind %q has no Momentum or Nesterov (they are SGD's)", where, cfg.Kind)
	}
	for _, b := range []struct {
		name string
		x    float64
	}{{"Beta1", cfg.Beta1}, {"Beta2", cfg.Beta2}} {
		if !(b.x >= 0 && b.x < 1) {
			return fmt.Errorf("%s.%s is %v; it must be in [0, 1) (0 selects the default)", where, b.name, b.x)
		}
	}
	if !finite(cfg.Eps) || cfg.Eps <= 0 {
		return fmt.Errorf("%s.Eps is %v; it must be positive and finite (0 selects the default)", where, cfg.Eps)
	}
	return nil
}

// Config returns the configuration in use, defaults filled in.
func (o *Flat[T]) Config() Config { return o.cfg }

// Steps returns the number of completed steps.
func (o *Flat[T]) Steps() int { return o.steps }

// Step applies one optimizer step in place to params using grads, both
// laid out as the vector of NewFlat's params, on up to kernels.Threads()
// cores (the update is elementwise: the result does not depend on the
// count). It does not allocate; it panics if a length differs from the
// vector's.
func (o *Flat[T]) Step(params, grads []T) {
	if len(params) != o.size || len(grads) != o.size {
		panic(fmt.Sprintf("optim.Flat.Step: params and grads have %d and %d elements, want %d", len(params), len(grads), o.size))
	}
	o.body = stepBody[T]{o: o, params: params, grads: grads}
	kernels.For(o.size, kernels.ElemGrain, &o.body)
	o.body = stepBody[T]{}
	o.steps++
}

// stepBody is Step's work for kernels.For: the update of elements
// [lo, hi) of the vector. The update is elementwise, so the result does
// not depend on how For splits the vector.
type stepBody[T Float] struct {
	o             *Flat[T]
	params, grads []T
}

func (b *stepBody[T]) Run(lo, hi int) {
	o := b.o
	part := func(s []T, lo, hi int) []T {
		if s == nil {
			return nil
		}
		return s[lo:hi]
	}
	for _, sp := range o.spans {
		l, h := max(lo, sp.lo), min(hi, sp.hi)
		if l >= h {
			continue
		}
		p, g := b.params[l:h], b.grads[l:h]
		if o.adam {
			u := o.adamU
			if !sp.decay {
				u.WeightDecay = 0
			}
			u.Update(p, g, part(o.s1, l, h), part(o.s2, l, h), o.steps+1)
		} else {
			u := o.sgdU
			if !sp.decay {
				u.WeightDecay = 0
			}
			u.Update(p, g, part(o.s1, l, h))
		}
	}
}

// NonFiniteError is the error of an optimizer step stopped by a NaN or an
// infinity, before it changed anything: in the objective (Param empty) or
// in the gradient of a parameter. Flat's checks return a pointer to one
// it owns (no allocation, so a training loop that skips bad batches stays
// allocation-free): its fields are valid until the next failing check.
type NonFiniteError struct {
	Where string  // the call, e.g. "mlp: TrainStep"
	Param string  // the parameter whose gradient it is; "" for the objective
	Value float64 // the value: NaN, +Inf or -Inf
	Elem  int     // the element of the parameter (row-major)
	Index int     // the index in the gradient vector (GradVector)
}

func (e *NonFiniteError) Error() string {
	if e.Param == "" {
		return fmt.Sprintf("%s: the objective is %v; no update was applied", e.Where, e.Value)
	}
	return fmt.Sprintf("%s: the gradient of %s is %v at element %d (GradVector()[%d]); no update was applied", e.Where, e.Param, e.Value, e.Elem, e.Index)
}

// CheckObjective returns a *NonFiniteError (where is the call, e.g. "mlp:
// TrainStep") if obj is NaN or infinite, else nil.
func (o *Flat[T]) CheckObjective(where string, obj T) error {
	if f := float64(obj); !math.IsNaN(f) && !math.IsInf(f, 0) {
		return nil
	}
	o.nonFinite = NonFiniteError{Where: where, Value: float64(obj)}
	return &o.nonFinite
}

// CheckGrads returns a *NonFiniteError naming the first parameter whose
// gradient in grads (laid out as the vector of NewFlat's params) is not
// finite, and the element; nil if every gradient is finite. It sweeps
// grads once (kernels.NonFinite) and does not allocate. Generated models
// call it before Step, so that a non-finite gradient leaves the parameters
// and the optimizer's state untouched.
func (o *Flat[T]) CheckGrads(where string, grads []T) error {
	i := kernels.NonFinite(grads)
	if i < 0 {
		return nil
	}
	o.nonFinite = NonFiniteError{Where: where, Param: "?", Value: float64(grads[i]), Elem: i, Index: i}
	off := 0
	for _, p := range o.params {
		if i < off+p.Size {
			o.nonFinite.Param, o.nonFinite.Elem = p.Name, i-off
			break
		}
		off += p.Size
	}
	return &o.nonFinite
}

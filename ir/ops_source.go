package ir

import (
	"fmt"
	"slices"
)

// Source ops: no arguments. Their type is declared on the value.

func declaredType(_ []Type, _ Attrs, t Type) (Type, error) {
	if t.DType == InvalidDType {
		return Type{}, fmt.Errorf("needs a declared type")
	}
	for _, d := range t.Shape {
		if d.IsStatic() && d.N < 0 {
			return Type{}, fmt.Errorf("negative dim in %v", t)
		}
	}
	return Type{t.DType, t.Shape.Clone()}, nil
}

// The source ops.
var OpInput, OpParam, OpConst, OpNumel, OpDropoutMask *OpDef

func init() {
	OpInput = Register(&OpDef{Name: "input", Doc: "a graph input, bound by name at run time; [target] marks one only the objective needs (labels)", Class: Source, Declared: true, NonDiff: true, Storage: Bound,
		Attrs: []AttrSpec{{Name: "target", Kind: AttrBool}}, TypeRule: declaredType,
		Eval: func(ctx *EvalContext, v *Value, _ []*Tensor) (*Tensor, error) {
			return bound(ctx, v)
		}})
	OpParam = Register(&OpDef{Name: "param", Doc: "a trainable parameter, initialized from the model seed", Class: Source, Declared: true, NonDiff: true, Storage: Bound,
		Attrs: []AttrSpec{{Name: "init", Kind: AttrString}, {Name: "value", Kind: AttrFloat, Optional: true},
			{Name: "mean", Kind: AttrFloat, Optional: true}, {Name: "std", Kind: AttrFloat, Optional: true},
			{Name: "low", Kind: AttrFloat, Optional: true}, {Name: "high", Kind: AttrFloat, Optional: true},
			{Name: "gain", Kind: AttrFloat, Optional: true},
			{Name: "no_decay", Kind: AttrBool}}, // excluded from the optimizer's weight decay (dsl.NoDecay)
		TypeRule: func(args []Type, a Attrs, t Type) (Type, error) {
			if !t.DType.IsFloat() {
				return Type{}, fmt.Errorf("params must be float, not %v", t.DType)
			}
			if !t.Shape.IsStatic() {
				return Type{}, fmt.Errorf("param shape %v has a symbolic dim; params must have static shapes", t.Shape)
			}
			if !slices.Contains(Initializers, a.Str("init")) {
				return Type{}, fmt.Errorf("unknown initializer %q (want one of %v)", a.Str("init"), Initializers)
			}
			return declaredType(args, a, t)
		},
		Eval: func(ctx *EvalContext, v *Value, _ []*Tensor) (*Tensor, error) {
			return bound(ctx, v)
		}})
	OpConst = Register(&OpDef{Name: "const", Doc: "a constant filled with value", Class: Source, Declared: true, NonDiff: true, Storage: Fill,
		Attrs: []AttrSpec{{Name: "value", Kind: AttrFloat}}, TypeRule: declaredType,
		Eval: func(ctx *EvalContext, v *Value, _ []*Tensor) (*Tensor, error) {
			t := NewTensor(v.Type.DType, ctx.outShape(v)...)
			c := v.Attrs.Float("value")
			for i := range t.F {
				t.F[i] = round(t.DType, c)
			}
			for i := range t.I {
				t.I[i] = int32(c)
			}
			return t, nil
		}})
	OpNumel = Register(&OpDef{Name: "numel", Doc: "the element count of shape (symbolic dims read at run time), as a scalar", Class: Source, NonDiff: true,
		Attrs: []AttrSpec{{Name: "shape", Kind: AttrShape}, {Name: "dtype", Kind: AttrDType}},
		TypeRule: func(_ []Type, a Attrs, _ Type) (Type, error) {
			if !a.DType("dtype").IsFloat() {
				return Type{}, fmt.Errorf("numel dtype must be float")
			}
			return Type{DType: a.DType("dtype")}, nil
		},
		Eval: func(ctx *EvalContext, v *Value, _ []*Tensor) (*Tensor, error) {
			s, err := v.Attrs.Shape("shape").Eval(ctx.Dims)
			if err != nil {
				return nil, err
			}
			n := 1
			for _, d := range s {
				n *= d
			}
			return FromFloats(v.Type.DType, []float64{float64(n)}), nil
		}})
	OpDropoutMask = Register(&OpDef{Name: "dropout_mask", Doc: "training: 0 with probability p, else 1/(1−p), fresh each step; inference: 1", Class: Source, Declared: true, NonDiff: true, Training: true,
		Attrs: []AttrSpec{{Name: "p", Kind: AttrFloat}, {Name: "seed", Kind: AttrInt}},
		TypeRule: func(args []Type, a Attrs, t Type) (Type, error) {
			if p := a.Float("p"); !(p >= 0 && p < 1) {
				return Type{}, fmt.Errorf("dropout probability %v is outside [0, 1)", p)
			}
			if !t.DType.IsFloat() {
				return Type{}, fmt.Errorf("dropout mask must be float")
			}
			return declaredType(args, a, t)
		},
		Eval: func(ctx *EvalContext, v *Value, _ []*Tensor) (*Tensor, error) {
			t := NewTensor(v.Type.DType, ctx.outShape(v)...)
			p := v.Attrs.Float("p")
			for i := range t.F {
				switch {
				case !ctx.Training:
					t.F[i] = 1
				case DropoutKeep(uint64(v.Attrs.Int("seed"))^ctx.Seed, ctx.Step, i, p):
					t.F[i] = round(t.DType, 1/(1-p))
				}
			}
			return t, nil
		}})
}

func bound(ctx *EvalContext, v *Value) (*Tensor, error) {
	t, ok := ctx.Inputs[v.Name]
	if !ok {
		return nil, fmt.Errorf("no value bound for %s %q", v.Op.Name, v.Name)
	}
	want := ctx.outShape(v)
	if t.DType != v.Type.DType || !slices.Equal(t.Shape, want) {
		return nil, fmt.Errorf("%s %q: bound value is %v%v, want %v%v", v.Op.Name, v.Name, t.DType, t.Shape, v.Type.DType, want)
	}
	if (t.DType == I32 && len(t.I) != t.Len()) || (t.DType != I32 && len(t.F) != t.Len()) {
		return nil, fmt.Errorf("%s %q: tensor data has the wrong length", v.Op.Name, v.Name)
	}
	return t, nil
}

package ir

import "fmt"

// matmulDims returns (batch, m, k, n) of op(a)·op(b).
func matmulType(args []Type, a Attrs, _ Type) (Type, error) {
	x, y := args[0], args[1]
	if !x.DType.IsFloat() || x.DType != y.DType {
		return Type{}, fmt.Errorf("operands must be floats of one dtype, got %v and %v", x, y)
	}
	r := len(x.Shape)
	if (r != 2 && r != 3) || len(y.Shape) != r {
		return Type{}, fmt.Errorf("operands must both be rank 2, or both rank 3 (batched); got %v and %v", x.Shape, y.Shape)
	}
	if r == 3 && x.Shape[0] != y.Shape[0] {
		return Type{}, fmt.Errorf("batch dims differ: %v vs %v", x.Shape[0], y.Shape[0])
	}
	m, k1 := x.Shape[r-2], x.Shape[r-1]
	if a.Bool("transA") {
		m, k1 = k1, m
	}
	k2, n := y.Shape[r-2], y.Shape[r-1]
	if a.Bool("transB") {
		k2, n = n, k2
	}
	if k1 != k2 {
		return Type{}, fmt.Errorf("inner dimensions differ: %v·%v needs %v == %v", x.Shape, y.Shape, k1, k2)
	}
	s := Shape{m, n}
	if r == 3 {
		s = Shape{x.Shape[0], m, n}
	}
	return Type{x.DType, s}, nil
}

// OpMatMul is the matrix product.
var OpMatMul *OpDef

func init() {
	OpMatMul = Register(&OpDef{Name: "matmul", Doc: "matrix product op(a)·op(b), op = transpose if transA/transB; rank 2, or rank 3 batched",
		Class: Contraction, Arity: 2,
		Attrs:    []AttrSpec{{Name: "transA", Kind: AttrBool}, {Name: "transB", Kind: AttrBool}},
		TypeRule: matmulType,
		Eval: func(ctx *EvalContext, v *Value, args []*Tensor) (*Tensor, error) {
			x, y := args[0], args[1]
			ta, tb := v.Attrs.Bool("transA"), v.Attrs.Bool("transB")
			out := NewTensor(v.Type.DType, ctx.outShape(v)...)
			r := len(x.Shape)
			batch := 1
			if r == 3 {
				batch = x.Shape[0]
			}
			xr, xc := x.Shape[r-2], x.Shape[r-1]
			yr, yc := y.Shape[r-2], y.Shape[r-1]
			m, k := xr, xc
			if ta {
				m, k = xc, xr
			}
			n := yc
			if tb {
				n = yr
			}
			for bi := 0; bi < batch; bi++ {
				xo, yo, oo := bi*xr*xc, bi*yr*yc, bi*m*n
				for i := 0; i < m; i++ {
					for j := 0; j < n; j++ {
						s := 0.0
						for l := 0; l < k; l++ {
							var av, bv float64
							if ta {
								av = x.F[xo+l*xc+i]
							} else {
								av = x.F[xo+i*xc+l]
							}
							if tb {
								bv = y.F[yo+j*yc+l]
							} else {
								bv = y.F[yo+l*yc+j]
							}
							s += av * bv
						}
						out.F[oo+i*n+j] = round(out.DType, s)
					}
				}
			}
			return out, nil
		},
		// C = op(A)·op(B): d op(A) = dC·op(B)ᵀ, d op(B) = op(A)ᵀ·dC, each
		// written so that no explicit transpose is materialized.
		VJP: func(b *Builder, v, g *Value) []*Value {
			x, y := v.Args[0], v.Args[1]
			ta, tb := v.Attrs.Bool("transA"), v.Attrs.Bool("transB")
			var dx, dy *Value
			if !ta {
				dx = b.MatMul(g, y, false, !tb)
			} else {
				dx = b.MatMul(y, g, tb, true)
			}
			if !tb {
				dy = b.MatMul(x, g, !ta, false)
			} else {
				dy = b.MatMul(g, x, true, ta)
			}
			return []*Value{dx, dy}
		}})
}

package ir

import "fmt"

// MatMulDims describes a matrix product op(a)·op(b) whose operands have
// the shapes of a and b (rank ≥ 2): the leading dims are batch dims,
// broadcast against each other as NumPy and torch.matmul do (aligned from
// the right, a dim of size 1 or a missing dim stretches to the other).
type MatMulDims struct {
	Batch   Shape // the broadcast batch dims of the result
	M, K, N Dim   // op(a) is [M,K], op(b) is [K,N]
}

// MatMulShapes checks and describes the product of operands of shapes x
// and y with the transpose flags ta and tb.
func MatMulShapes(x, y Shape, ta, tb bool) (MatMulDims, error) {
	if len(x) < 2 || len(y) < 2 {
		return MatMulDims{}, fmt.Errorf("operands must have rank 2 or more (leading dims are batch dims); got %v·%v", x, y)
	}
	rx, ry := len(x), len(y)
	batch, err := Broadcast(x[:rx-2], y[:ry-2])
	if err != nil {
		return MatMulDims{}, fmt.Errorf("batch dims of %v·%v do not broadcast: %v vs %v", x, y, x[:rx-2], y[:ry-2])
	}
	m, k1 := x[rx-2], x[rx-1]
	if ta {
		m, k1 = k1, m
	}
	k2, n := y[ry-2], y[ry-1]
	if tb {
		k2, n = n, k2
	}
	if k1 != k2 {
		return MatMulDims{}, fmt.Errorf("inner dimensions differ: %v·%v needs %v == %v", x, y, k1, k2)
	}
	return MatMulDims{Batch: batch, M: m, K: k1, N: n}, nil
}

func matmulType(args []Type, a Attrs, _ Type) (Type, error) {
	x, y := args[0], args[1]
	if !x.DType.IsFloat() || x.DType != y.DType {
		return Type{}, fmt.Errorf("operands must be floats of one dtype, got %v and %v", x, y)
	}
	md, err := MatMulShapes(x.Shape, y.Shape, a.Bool("transA"), a.Bool("transB"))
	if err != nil {
		return Type{}, err
	}
	s := append(md.Batch.Clone(), md.M, md.N)
	return Type{x.DType, s}, nil
}

// OpMatMul is the matrix product.
var OpMatMul *OpDef

func init() {
	OpMatMul = Register(&OpDef{Name: "matmul", Doc: "matrix product op(a)·op(b), op = transpose if transA/transB; leading dims are batch dims, broadcast as torch.matmul",
		Class: Contraction, Arity: 2,
		Attrs:    []AttrSpec{{Name: "transA", Kind: AttrBool}, {Name: "transB", Kind: AttrBool}},
		TypeRule: matmulType,
		Eval: func(ctx *EvalContext, v *Value, args []*Tensor) (*Tensor, error) {
			x, y := args[0], args[1]
			ta, tb := v.Attrs.Bool("transA"), v.Attrs.Bool("transB")
			shape := ctx.outShape(v)
			out := NewTensor(v.Type.DType, shape...)
			r, rx, ry := len(shape), len(x.Shape), len(y.Shape)
			bshape := shape[:r-2]
			// Strides of the operands' matrices along the batch dims (0 where
			// broadcast), in units of whole matrices.
			xr, xc := x.Shape[rx-2], x.Shape[rx-1]
			yr, yc := y.Shape[ry-2], y.Shape[ry-1]
			xs := broadcastStrides(x.Shape[:rx-2], bshape)
			ys := broadcastStrides(y.Shape[:ry-2], bshape)
			m, k := xr, xc
			if ta {
				m, k = xc, xr
			}
			n := yc
			if tb {
				n = yr
			}
			batch := 1
			for _, d := range bshape {
				batch *= d
			}
			idx := make([]int, len(bshape))
			for bi := 0; bi < batch; bi++ {
				xo, yo, oo := 0, 0, bi*m*n
				for i, j := range idx {
					xo += j * xs[i]
					yo += j * ys[i]
				}
				xo *= xr * xc
				yo *= yr * yc
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
				for i := len(idx) - 1; i >= 0; i-- {
					if idx[i]++; idx[i] < bshape[i] {
						break
					}
					idx[i] = 0
				}
			}
			return out, nil
		},
		// C = op(A)·op(B): d op(A) = dC·op(B)ᵀ, d op(B) = op(A)ᵀ·dC, each
		// written so that no explicit transpose is materialized. Each
		// cotangent has the broadcast batch dims of C; the grad pass sums it
		// over the batch dims its argument was broadcast along.
		JVP: LinearIn(0, 1), VJP: func(b *Builder, v, g *Value) []*Value {
			x, y := v.Args[0], v.Args[1]
			ta, tb := v.Attrs.Bool("transA"), v.Attrs.Bool("transB")
			var dx, dy *Value
			if !ta {
				dx = b.MatMul(g, y, false, !tb)
			} else {
				dx = b.MatMul(y, g, tb, true)
			}
			if dy = foldedRHSGrad(b, x, y, g, ta, tb); dy != nil {
				return []*Value{dx, dy}
			}
			if !tb {
				dy = b.MatMul(x, g, !ta, false)
			} else {
				dy = b.MatMul(g, x, true, ta)
			}
			return []*Value{dx, dy}
		}})
}

// foldedRHSGrad is the cotangent of b in a·b when only a has batch dims
// and is not transposed ([n,s,d]·[d,e]): the sum over the batch of
// a_iᵀ·g_i is one product of a and g with the batch folded into their
// rows, reshaped [n·s,d]ᵀ·[n·s,e] (views), rather than a batched product
// [n,d,e] summed over n. It returns nil in every other case.
func foldedRHSGrad(bl *Builder, x, y, g *Value, ta, tb bool) *Value {
	xs, ys := x.Type.Shape, y.Type.Shape
	if ta || len(xs) == 2 {
		return nil
	}
	for _, d := range ys[:len(ys)-2] {
		if d != Static(1) {
			return nil
		}
	}
	rows := Prod(xs[:len(xs)-1]...)
	x2 := bl.Reshape(x, Shape{rows, xs[len(xs)-1]})
	g2 := bl.Reshape(g, Shape{rows, g.Type.Shape[len(g.Type.Shape)-1]})
	var dy *Value
	if !tb {
		dy = bl.MatMul(x2, g2, true, false)
	} else {
		dy = bl.MatMul(g2, x2, true, false)
	}
	if len(ys) > 2 {
		dy = bl.Reshape(dy, ys)
	}
	return dy
}

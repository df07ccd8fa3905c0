package ir

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// DType is the element type of a value.
type DType uint8

const (
	InvalidDType DType = iota
	F32                // float32
	F64                // float64
	I32                // int32: labels and indices
)

var dtypeNames = [...]string{InvalidDType: "invalid", F32: "f32", F64: "f64", I32: "i32"}

func (d DType) String() string {
	if int(d) < len(dtypeNames) {
		return dtypeNames[d]
	}
	return fmt.Sprintf("dtype(%d)", d)
}

// IsFloat reports whether d is a floating-point type.
func (d DType) IsFloat() bool { return d == F32 || d == F64 }

// Size is the size of one element in bytes.
func (d DType) Size() int {
	switch d {
	case F64:
		return 8
	case F32, I32:
		return 4
	}
	return 0
}

// MarshalText and UnmarshalText make a DType a flag (flag.TextVar):
// "f32", "f64" or "i32" ("float32" and "float64" are accepted too); the
// invalid dtype is "".
func (d DType) MarshalText() ([]byte, error) {
	if d == InvalidDType {
		return nil, nil
	}
	return []byte(d.String()), nil
}

func (d *DType) UnmarshalText(b []byte) error {
	switch s := string(b); s {
	case "":
		*d = InvalidDType
		return nil
	case "float32":
		*d = F32
		return nil
	case "float64":
		*d = F64
		return nil
	default:
		t, err := ParseDType(s)
		if err != nil {
			return err
		}
		*d = t
		return nil
	}
}

// ParseDType parses "f32", "f64" or "i32".
func ParseDType(s string) (DType, error) {
	for d, n := range dtypeNames {
		if n == s && d != 0 {
			return DType(d), nil
		}
	}
	return InvalidDType, fmt.Errorf("unknown dtype %q (want f32, f64 or i32)", s)
}

// A Dim is one dimension of a shape: a static size, or a symbolic size
// bound when the program runs: a named dim (such as the batch "n"), or a
// product of named dims times a static factor ("n*s", "4*n*s", from
// reshaping [n,s,4,d] to [n·s·4,d]).
//
// Dims are compared with ==, so a Dim is kept canonical (Prod builds every
// product): a static dim has Sym "" and its size in N; a symbolic dim has
// its names sorted and joined by "*" in Sym (with repeats: "n*n"), and in
// N its static factor if that is more than 1, else 0.
type Dim struct {
	Sym string // symbolic: the sorted names of the product joined by "*"; "" for a static dim
	N   int    // static dim: its size; symbolic dim: a static factor > 1, or 0
}

// Static returns a static dim of size n.
func Static(n int) Dim { return Dim{N: n} }

// Sym returns a symbolic dim named name.
func Sym(name string) Dim { return Dim{Sym: name} }

// Prod is the product of dims, canonical: static if every dim is (or one
// is 0), else the sorted names of the symbolic ones times the product of
// the static sizes and factors.
func Prod(ds ...Dim) Dim {
	static := 1
	var names []string
	for _, d := range ds {
		f, syms := d.Factors()
		static *= f
		names = append(names, syms...)
	}
	if len(names) == 0 || static == 0 {
		return Static(static)
	}
	sort.Strings(names)
	if static == 1 {
		static = 0
	}
	return Dim{Sym: strings.Join(names, "*"), N: static}
}

// Mul is the product d·e (see Prod).
func (d Dim) Mul(e Dim) Dim { return Prod(d, e) }

// Factors returns the static factor of d (its size, for a static dim) and
// the names of its symbolic factors, sorted (nil for a static dim).
func (d Dim) Factors() (static int, syms []string) {
	if d.Sym == "" {
		return d.N, nil
	}
	static = d.N
	if static == 0 {
		static = 1
	}
	return static, strings.Split(d.Sym, "*")
}

// IsStatic reports whether d has a size known at compile time.
func (d Dim) IsStatic() bool { return d.Sym == "" }

// Eval is the size of d given the symbolic dims' values.
func (d Dim) Eval(dims map[string]int) (int, error) {
	r, syms := d.Factors()
	for _, y := range syms {
		v, ok := dims[y]
		if !ok {
			return 0, fmt.Errorf("symbolic dim %q has no value", y)
		}
		r *= v
	}
	return r, nil
}

// String is the dim in the text format: "784", "n", "n*s" or "4*n*s".
func (d Dim) String() string {
	switch {
	case d.Sym == "":
		return strconv.Itoa(d.N)
	case d.N != 0:
		return strconv.Itoa(d.N) + "*" + d.Sym
	}
	return d.Sym
}

// ParseDim parses a dim in the text format: a size, a name, or a product
// of them joined by "*" (made canonical: "s*n*2" is "2*n*s").
func ParseDim(s string) (Dim, error) {
	fs := strings.Split(s, "*")
	ds := make([]Dim, len(fs))
	for i, f := range fs {
		f = strings.TrimSpace(f)
		if n, err := strconv.Atoi(f); err == nil {
			if n < 0 {
				return Dim{}, fmt.Errorf("negative dim %q", s)
			}
			ds[i] = Static(n)
		} else if isIdent(f) {
			ds[i] = Sym(f)
		} else {
			return Dim{}, fmt.Errorf("bad dim %q", s)
		}
	}
	return Prod(ds...), nil
}

// Shape is a list of dims; the empty shape is a scalar.
type Shape []Dim

// S builds a shape from ints (static dims) and strings (symbolic dims).
func S(dims ...any) Shape {
	s := make(Shape, len(dims))
	for i, d := range dims {
		switch d := d.(type) {
		case int:
			s[i] = Static(d)
		case string:
			s[i] = Sym(d)
		case Dim:
			s[i] = d
		default:
			panic(fmt.Sprintf("ir.S: dim %d has type %T, want int, string or Dim", i, d))
		}
	}
	return s
}

// Rank is the number of dims.
func (s Shape) Rank() int { return len(s) }

// Equal reports whether two shapes are identical.
func (s Shape) Equal(t Shape) bool {
	if len(s) != len(t) {
		return false
	}
	for i := range s {
		if s[i] != t[i] {
			return false
		}
	}
	return true
}

// Clone returns a copy of s.
func (s Shape) Clone() Shape { return append(Shape(nil), s...) }

func (s Shape) String() string {
	var b strings.Builder
	b.WriteByte('[')
	for i, d := range s {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(d.String())
	}
	b.WriteByte(']')
	return b.String()
}

// IsStatic reports whether every dim is static.
func (s Shape) IsStatic() bool {
	for _, d := range s {
		if !d.IsStatic() {
			return false
		}
	}
	return true
}

// Syms lists the names of the symbolic dims of s in order (with repeats;
// the factors of a product dim in their sorted order).
func (s Shape) Syms() []string {
	var r []string
	for _, d := range s {
		_, syms := d.Factors()
		r = append(r, syms...)
	}
	return r
}

// Eval returns the concrete sizes of s given the symbolic dims' values.
func (s Shape) Eval(dims map[string]int) ([]int, error) {
	r := make([]int, len(s))
	for i, d := range s {
		v, err := d.Eval(dims)
		if err != nil {
			return nil, err
		}
		r[i] = v
	}
	return r, nil
}

// NumElements is the product of the static dims and factors and the list
// of the names of the symbolic ones: the element count is static *
// product(syms).
func (s Shape) NumElements() (static int, syms []string) {
	static = 1
	for _, d := range s {
		f, ys := d.Factors()
		static *= f
		syms = append(syms, ys...)
	}
	return static, syms
}

// SameSize reports whether two shapes have provably equal element counts.
func SameSize(a, b Shape) bool {
	sa, ya := a.NumElements()
	sb, yb := b.NumElements()
	if sa != sb || len(ya) != len(yb) {
		return false
	}
	count := map[string]int{}
	for _, y := range ya {
		count[y]++
	}
	for _, y := range yb {
		count[y]--
	}
	for _, c := range count {
		if c != 0 {
			return false
		}
	}
	return true
}

// Broadcast returns the NumPy broadcast of two shapes: aligned from the
// right, a dim of size 1 stretches to the other.
func Broadcast(a, b Shape) (Shape, error) {
	n := max(len(a), len(b))
	r := make(Shape, n)
	for i := range n {
		var da, db Dim = Static(1), Static(1)
		if j := len(a) - n + i; j >= 0 {
			da = a[j]
		}
		if j := len(b) - n + i; j >= 0 {
			db = b[j]
		}
		switch {
		case da == db:
			r[i] = da
		case da == Static(1):
			r[i] = db
		case db == Static(1):
			r[i] = da
		default:
			return nil, fmt.Errorf("shapes %v and %v do not broadcast: dim %d is %v vs %v", a, b, i-n, da, db)
		}
	}
	return r, nil
}

// BroadcastsTo reports whether a broadcasts to exactly t.
func BroadcastsTo(a, t Shape) bool {
	if len(a) > len(t) {
		return false
	}
	off := len(t) - len(a)
	for i, d := range a {
		if d != t[off+i] && d != Static(1) {
			return false
		}
	}
	return true
}

// Type is a value's type: a dtype and a shape.
type Type struct {
	DType DType
	Shape Shape
}

// T is shorthand for Type{d, s}.
func T(d DType, s Shape) Type { return Type{d, s} }

func (t Type) String() string { return t.DType.String() + t.Shape.String() }

// Equal reports whether two types are identical.
func (t Type) Equal(u Type) bool { return t.DType == u.DType && t.Shape.Equal(u.Shape) }

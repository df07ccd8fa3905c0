package ir

import (
	"fmt"
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

// A Dim is one dimension of a shape: a static size, or a named symbolic
// size (such as the batch "n") bound when the program runs.
type Dim struct {
	Sym string // symbolic name; "" for a static dim
	N   int    // static size, when Sym == ""
}

// Static returns a static dim of size n.
func Static(n int) Dim { return Dim{N: n} }

// Sym returns a symbolic dim named name.
func Sym(name string) Dim { return Dim{Sym: name} }

// IsStatic reports whether d has a size known at compile time.
func (d Dim) IsStatic() bool { return d.Sym == "" }

func (d Dim) String() string {
	if d.Sym != "" {
		return d.Sym
	}
	return strconv.Itoa(d.N)
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

// Syms lists the symbolic dims of s in order (with repeats).
func (s Shape) Syms() []string {
	var r []string
	for _, d := range s {
		if d.Sym != "" {
			r = append(r, d.Sym)
		}
	}
	return r
}

// Eval returns the concrete sizes of s given the symbolic dims' values.
func (s Shape) Eval(dims map[string]int) ([]int, error) {
	r := make([]int, len(s))
	for i, d := range s {
		if d.Sym == "" {
			r[i] = d.N
			continue
		}
		v, ok := dims[d.Sym]
		if !ok {
			return nil, fmt.Errorf("symbolic dim %q has no value", d.Sym)
		}
		r[i] = v
	}
	return r, nil
}

// NumElements is the product of the static dims and the list of symbolic
// dims: the element count is static * product(syms).
func (s Shape) NumElements() (static int, syms []string) {
	static = 1
	for _, d := range s {
		if d.Sym == "" {
			static *= d.N
		} else {
			syms = append(syms, d.Sym)
		}
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

package ir

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// AttrKind is the type of an op attribute's value.
type AttrKind uint8

const (
	AttrInt    AttrKind = iota + 1 // int
	AttrFloat                      // float64
	AttrBool                       // bool; printed as a bare key when true, omitted when false
	AttrInts                       // []int
	AttrString                     // string, printed quoted
	AttrShape                      // Shape
	AttrDType                      // DType
)

var attrKindNames = [...]string{AttrInt: "int", AttrFloat: "float", AttrBool: "bool", AttrInts: "[]int", AttrString: "string", AttrShape: "shape", AttrDType: "dtype"}

func (k AttrKind) String() string {
	if int(k) < len(attrKindNames) && attrKindNames[k] != "" {
		return attrKindNames[k]
	}
	return fmt.Sprintf("attrkind(%d)", k)
}

// AttrSpec declares one attribute an op takes.
type AttrSpec struct {
	Name     string
	Kind     AttrKind
	Optional bool // may be absent; bool attributes are always optional (absent = false)
}

// Attrs holds an op's attributes by name. Values have the Go type of their
// AttrKind: int, float64, bool, []int, string, Shape or DType.
type Attrs map[string]any

// Int returns the int attribute name (0 if absent).
func (a Attrs) Int(name string) int { v, _ := a[name].(int); return v }

// Float returns the float attribute name (0 if absent).
func (a Attrs) Float(name string) float64 { v, _ := a[name].(float64); return v }

// Bool returns the bool attribute name (false if absent).
func (a Attrs) Bool(name string) bool { v, _ := a[name].(bool); return v }

// Ints returns the []int attribute name (nil if absent).
func (a Attrs) Ints(name string) []int { v, _ := a[name].([]int); return v }

// Str returns the string attribute name ("" if absent).
func (a Attrs) Str(name string) string { v, _ := a[name].(string); return v }

// Shape returns the shape attribute name (nil if absent).
func (a Attrs) Shape(name string) Shape { v, _ := a[name].(Shape); return v }

// DType returns the dtype attribute name (InvalidDType if absent).
func (a Attrs) DType(name string) DType { v, _ := a[name].(DType); return v }

// Has reports whether the attribute is present.
func (a Attrs) Has(name string) bool { _, ok := a[name]; return ok }

// Clone returns a deep copy.
func (a Attrs) Clone() Attrs {
	if a == nil {
		return nil
	}
	c := make(Attrs, len(a))
	for k, v := range a {
		switch v := v.(type) {
		case []int:
			c[k] = slices.Clone(v)
		case Shape:
			c[k] = v.Clone()
		default:
			c[k] = v
		}
	}
	return c
}

// String prints attributes sorted by name, as in the IR text:
// "[axes=[1] keepdims value=0.5]", or "" if there are none.
func (a Attrs) String() string {
	keys := make([]string, 0, len(a))
	for k, v := range a {
		if b, ok := v.(bool); ok && !b {
			continue
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return ""
	}
	slices.Sort(keys)
	var sb strings.Builder
	sb.WriteByte('[')
	for i, k := range keys {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(k)
		if _, ok := a[k].(bool); ok {
			continue
		}
		sb.WriteByte('=')
		sb.WriteString(formatAttr(a[k]))
	}
	sb.WriteByte(']')
	return sb.String()
}

func formatAttr(v any) string {
	switch v := v.(type) {
	case int:
		return strconv.Itoa(v)
	case float64:
		return FormatFloat(v)
	case []int:
		s := make([]string, len(v))
		for i, x := range v {
			s[i] = strconv.Itoa(x)
		}
		return "[" + strings.Join(s, ",") + "]"
	case string:
		return strconv.Quote(v)
	case Shape:
		return v.String()
	case DType:
		return v.String()
	}
	return fmt.Sprintf("?%T", v)
}

// FormatFloat prints f exactly (shortest representation that parses back
// to the same float64).
func FormatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// checkAttrs validates a against an op's declared specs.
func checkAttrs(op *OpDef, a Attrs) error {
	for _, s := range op.Attrs {
		v, ok := a[s.Name]
		if !ok {
			if s.Optional || s.Kind == AttrBool {
				continue
			}
			return fmt.Errorf("op %s needs attribute %s (%v)", op.Name, s.Name, s.Kind)
		}
		if !attrHasKind(v, s.Kind) {
			return fmt.Errorf("op %s: attribute %s is %T, want %v", op.Name, s.Name, v, s.Kind)
		}
	}
	for k := range a {
		if op.attrSpec(k) == nil {
			return fmt.Errorf("op %s has no attribute %q", op.Name, k)
		}
	}
	return nil
}

func attrHasKind(v any, k AttrKind) bool {
	switch v.(type) {
	case int:
		return k == AttrInt
	case float64:
		return k == AttrFloat
	case bool:
		return k == AttrBool
	case []int:
		return k == AttrInts
	case string:
		return k == AttrString
	case Shape:
		return k == AttrShape
	case DType:
		return k == AttrDType
	}
	return false
}

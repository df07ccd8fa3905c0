package codegen

import (
	"go/token"
	"strconv"
	"strings"
	"unicode"
)

// sanitize turns a DSL name into a Go identifier: characters that cannot
// appear in one become '_', and a leading digit gets a '_' prefix.
func sanitize(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == '_' || unicode.IsLetter(r) || (i > 0 && unicode.IsDigit(r)):
			b.WriteRune(r)
		case unicode.IsDigit(r):
			b.WriteByte('_')
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "_"
	}
	return b.String()
}

// exported capitalizes a DSL name into an exported Go identifier
// (b1 → B1; a name that starts with '_' or a non-Latin letter gets an X
// prefix).
func exported(s string) string {
	id := sanitize(s)
	r := []rune(id)
	if !unicode.IsUpper(unicode.ToUpper(r[0])) {
		return "X" + id // '_', or a letter without case
	}
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

// namer hands out unique identifiers in one scope.
type namer struct{ used map[string]bool }

func newNamer(reserved ...string) *namer {
	n := &namer{used: map[string]bool{}}
	for _, r := range reserved {
		n.used[r] = true
	}
	return n
}

// get returns base if it is free (and not a Go keyword), otherwise base
// with the first free suffix among alt, then _2, _3, ...
func (n *namer) get(base string, alt ...string) string {
	try := func(s string) bool {
		if n.used[s] || token.IsKeyword(s) {
			return false
		}
		n.used[s] = true
		return true
	}
	if try(base) {
		return base
	}
	for _, a := range alt {
		if try(base + "_" + a) {
			return base + "_" + a
		}
	}
	for i := 2; ; i++ {
		s := base + "_" + strconv.Itoa(i)
		if try(s) {
			return s
		}
	}
}

package ir

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// Parse reads IR text as printed by Print. The result is verified. Bad
// text is reported as an error naming the line; Parse never panics.
func Parse(src string) (g *Graph, err error) {
	defer func() {
		if r := recover(); r != nil { // defensive: a parser bug must not crash the caller
			g, err = nil, fmt.Errorf("ir.Parse: internal error: %v", r)
		}
	}()
	p := &textParser{}
	g, err = p.parse(src)
	if err != nil {
		return nil, err
	}
	if err := Verify(g); err != nil {
		return nil, err
	}
	return g, nil
}

type textParser struct {
	line int
	refs map[string]*Value
}

func (p *textParser) errorf(format string, args ...any) error {
	return fmt.Errorf("ir: line %d: %s", p.line, fmt.Sprintf(format, args...))
}

func (p *textParser) parse(src string) (*Graph, error) {
	lines := strings.Split(src, "\n")
	var main, g *Graph
	for i, raw := range lines {
		p.line = i + 1
		line := strings.TrimSpace(raw)
		if line == "" {
			continue
		}
		switch {
		case g == nil:
			// A text holds the main func, then the funcs it calls (custom VJPs).
			h, err := p.header(line)
			if err != nil {
				return nil, err
			}
			p.refs = map[string]*Value{}
			if main == nil {
				main = h
			} else {
				main.Funcs = append(main.Funcs, h)
			}
			g = h
		case line == "}":
			g = nil
		case strings.HasPrefix(line, "out "):
			if err := p.output(g, line); err != nil {
				return nil, err
			}
		case strings.HasPrefix(line, "checkpoint "):
			name := strings.TrimSpace(strings.TrimPrefix(line, "checkpoint "))
			if !isName(name) {
				return nil, p.errorf("bad checkpoint name %q", name)
			}
			g.Checkpoints = append(g.Checkpoints, name)
		case strings.HasPrefix(line, "minimize "):
			ref := strings.TrimSpace(strings.TrimPrefix(line, "minimize "))
			v := p.refs[ref]
			if v == nil {
				return nil, p.errorf("minimize: unknown value %q", ref)
			}
			g.Objective = v
		default:
			if err := p.value(g, line); err != nil {
				return nil, err
			}
		}
	}
	if main == nil {
		return nil, fmt.Errorf("ir: empty text (want \"func name(dims) {\")")
	}
	if g != nil {
		return nil, p.errorf("missing closing }")
	}
	return main, nil
}

func (p *textParser) header(line string) (*Graph, error) {
	rest, ok := strings.CutPrefix(line, "func ")
	if !ok || !strings.HasSuffix(rest, "{") {
		return nil, p.errorf("want \"func name(dims) {\", got %q", line)
	}
	rest = strings.TrimSpace(strings.TrimSuffix(rest, "{"))
	open := strings.IndexByte(rest, '(')
	if open < 0 || !strings.HasSuffix(rest, ")") {
		return nil, p.errorf("want \"func name(dims) {\", got %q", line)
	}
	g := NewGraph(strings.TrimSpace(rest[:open]))
	if !isName(g.Name) {
		return nil, p.errorf("bad graph name %q", g.Name)
	}
	dims := strings.TrimSpace(rest[open+1 : len(rest)-1])
	if dims != "" {
		for _, d := range strings.Split(dims, ",") {
			d = strings.TrimSpace(d)
			if !isIdent(d) || g.HasDim(d) {
				return nil, p.errorf("bad or repeated dim name %q", d)
			}
			g.AddDim(d)
		}
	}
	return g, nil
}

func (p *textParser) output(g *Graph, line string) error {
	f := strings.Fields(strings.TrimPrefix(line, "out "))
	if len(f) != 3 && !(len(f) == 5 && (f[3] == "grad" || f[3] == "state")) || f[1] != "=" {
		return p.errorf("want \"out name = vN [grad param | state name]\", got %q", line)
	}
	v := p.refs[f[2]]
	if v == nil {
		return p.errorf("out %s: unknown value %q", f[0], f[2])
	}
	if !isName(f[0]) {
		return p.errorf("bad output name %q", f[0])
	}
	o := Output{Name: f[0], Value: v}
	switch {
	case len(f) == 5 && f[3] == "grad":
		o.Grad = f[4]
	case len(f) == 5:
		o.State = f[4]
	}
	g.Outputs = append(g.Outputs, o)
	return nil
}

// value parses "vN:type = op args [attrs]  # pos name".
func (p *textParser) value(g *Graph, line string) error {
	code, comment := splitComment(line) // a string attribute may contain '#'
	lhs, rhs, ok := strings.Cut(code, "=")
	if !ok {
		return p.errorf("want \"vN:type = op args\", got %q", line)
	}
	ref, typ, ok := strings.Cut(strings.TrimSpace(lhs), ":")
	if !ok {
		return p.errorf("want \"vN:type\" before =, got %q", lhs)
	}
	if !isRef(ref) {
		return p.errorf("bad value name %q (want v0, v1, ...)", ref)
	}
	if p.refs[ref] != nil {
		return p.errorf("%s is defined twice", ref)
	}
	t, err := parseType(typ)
	if err != nil {
		return p.errorf("%s: %v", ref, err)
	}
	lx := &lexer{s: strings.TrimSpace(rhs)}
	opName := lx.word()
	op := Lookup(opName)
	if op == nil {
		return p.errorf("unknown op %q", opName)
	}
	v := &Value{Op: op, Type: t}
	for {
		lx.skipSpace()
		if lx.done() || lx.peek() == '[' {
			break
		}
		a := lx.word()
		av := p.refs[a]
		if av == nil {
			return p.errorf("%s: unknown argument %q", ref, a)
		}
		v.Args = append(v.Args, av)
	}
	if !lx.done() {
		if v.Attrs, err = parseAttrs(lx, op); err != nil {
			return p.errorf("%s: %v", ref, err)
		}
		lx.skipSpace()
		if !lx.done() {
			return p.errorf("%s: unexpected %q after the attributes", ref, lx.s[lx.i:])
		}
	}
	if err := parseComment(v, strings.TrimSpace(comment)); err != nil {
		return p.errorf("%s: %v", ref, err)
	}
	p.refs[ref] = g.Append(v)
	if v.Ref() != ref {
		return p.errorf("value %s is out of order (want %s)", ref, v.Ref())
	}
	return nil
}

// splitComment splits at the first '#' outside a quoted string.
func splitComment(line string) (code, comment string) {
	inStr := false
	for i := 0; i < len(line); i++ {
		switch line[i] {
		case '\\':
			if inStr {
				i++
			}
		case '"':
			inStr = !inStr
		case '#':
			if !inStr {
				return line[:i], line[i+1:]
			}
		}
	}
	return line, ""
}

func parseComment(v *Value, c string) error {
	if c == "" {
		return nil
	}
	pos, rest := c, ""
	if c[0] == '"' {
		// A quoted file name: "my model.go":12.
		q, err := strconv.QuotedPrefix(c)
		if err != nil {
			return fmt.Errorf("bad position %q (want file:line or -)", c)
		}
		i := len(q) + strings.IndexFunc(c[len(q):], unicode.IsSpace)
		if i < len(q) {
			i = len(c)
		}
		pos, rest = c[:i], c[i:]
	} else if i := strings.IndexFunc(c, unicode.IsSpace); i >= 0 {
		pos, rest = c[:i], c[i:]
	}
	f := strings.Fields(rest)
	if len(f) > 1 {
		return fmt.Errorf("comment %q: want \"# file:line name\"", c)
	}
	if pos != "-" {
		i := strings.LastIndexByte(pos, ':')
		if i <= 0 {
			return fmt.Errorf("bad position %q (want file:line or -)", pos)
		}
		n, err := strconv.Atoi(pos[i+1:])
		if err != nil || n < 0 {
			return fmt.Errorf("bad position %q (want file:line or -)", pos)
		}
		file := pos[:i]
		if file[0] == '"' {
			if file, err = strconv.Unquote(file); err != nil || file == "" {
				return fmt.Errorf("bad position %q (want file:line or -)", pos)
			}
		}
		v.Pos = Pos{File: file, Line: n}
	}
	if len(f) == 1 {
		if !isName(f[0]) {
			return fmt.Errorf("bad name %q", f[0])
		}
		v.Name = f[0]
	}
	return nil
}

func parseType(s string) (Type, error) {
	s = strings.TrimSpace(s)
	i := strings.IndexByte(s, '[')
	if i < 0 {
		return Type{}, fmt.Errorf("bad type %q (want e.g. f32[n,10])", s)
	}
	d, err := ParseDType(s[:i])
	if err != nil {
		return Type{}, err
	}
	sh, err := ParseShape(s[i:])
	if err != nil {
		return Type{}, err
	}
	return Type{d, sh}, nil
}

// ParseShape parses "[n,256]" (dims as ParseDim reads them: "[n*s,256]").
func ParseShape(s string) (Shape, error) {
	if !strings.HasPrefix(s, "[") || !strings.HasSuffix(s, "]") {
		return nil, fmt.Errorf("bad shape %q (want e.g. [n,10])", s)
	}
	body := strings.TrimSpace(s[1 : len(s)-1])
	sh := Shape{}
	if body == "" {
		return sh, nil
	}
	for _, f := range strings.Split(body, ",") {
		f = strings.TrimSpace(f)
		d, err := ParseDim(f)
		if err != nil {
			return nil, fmt.Errorf("%v in %q", err, s)
		}
		sh = append(sh, d)
	}
	return sh, nil
}

func parseAttrs(lx *lexer, op *OpDef) (Attrs, error) {
	if lx.next() != '[' {
		return nil, fmt.Errorf("want [ to start the attributes")
	}
	a := Attrs{}
	for {
		lx.skipSpace()
		if lx.done() {
			return nil, fmt.Errorf("unterminated attributes")
		}
		if lx.peek() == ']' {
			lx.next()
			return a, nil
		}
		name := lx.word()
		spec := op.attrSpec(name)
		if spec == nil {
			return nil, fmt.Errorf("op %s has no attribute %q", op.Name, name)
		}
		if a.Has(name) {
			return nil, fmt.Errorf("attribute %s given twice", name)
		}
		if spec.Kind == AttrBool {
			a[name] = true
			continue
		}
		if lx.next() != '=' {
			return nil, fmt.Errorf("attribute %s needs =value", name)
		}
		val, err := lx.attrValue(spec.Kind)
		if err != nil {
			return nil, fmt.Errorf("attribute %s: %v", name, err)
		}
		a[name] = val
	}
}

type lexer struct {
	s string
	i int
}

func (l *lexer) done() bool { return l.i >= len(l.s) }
func (l *lexer) peek() byte {
	if l.done() {
		return 0
	}
	return l.s[l.i]
}
func (l *lexer) next() byte {
	l.skipSpace()
	if l.done() {
		return 0
	}
	c := l.s[l.i]
	l.i++
	return c
}
func (l *lexer) skipSpace() {
	for !l.done() && (l.s[l.i] == ' ' || l.s[l.i] == '\t') {
		l.i++
	}
}

// word reads a run of characters that are not space, brackets, '=' or ','.
func (l *lexer) word() string {
	l.skipSpace()
	j := l.i
	for !l.done() && !strings.ContainsRune(" \t[]=,", rune(l.s[l.i])) {
		l.i++
	}
	return l.s[j:l.i]
}

// bracketed reads "[...]" including the brackets.
func (l *lexer) bracketed() (string, error) {
	l.skipSpace()
	if l.peek() != '[' {
		return "", fmt.Errorf("want [")
	}
	j := strings.IndexByte(l.s[l.i:], ']')
	if j < 0 {
		return "", fmt.Errorf("unterminated [")
	}
	s := l.s[l.i : l.i+j+1]
	l.i += j + 1
	return s, nil
}

func (l *lexer) attrValue(k AttrKind) (any, error) {
	switch k {
	case AttrInt:
		return strconv.Atoi(l.word())
	case AttrFloat:
		return strconv.ParseFloat(l.word(), 64)
	case AttrDType:
		return ParseDType(l.word())
	case AttrShape:
		s, err := l.bracketed()
		if err != nil {
			return nil, err
		}
		return ParseShape(s)
	case AttrInts:
		s, err := l.bracketed()
		if err != nil {
			return nil, err
		}
		body := strings.TrimSpace(s[1 : len(s)-1])
		r := []int{}
		if body == "" {
			return r, nil
		}
		for _, f := range strings.Split(body, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				return nil, err
			}
			r = append(r, n)
		}
		return r, nil
	case AttrString:
		l.skipSpace()
		if l.peek() != '"' {
			return nil, fmt.Errorf("want a quoted string")
		}
		j := l.i + 1
		for j < len(l.s) && l.s[j] != '"' {
			if l.s[j] == '\\' {
				j++
			}
			j++
		}
		if j >= len(l.s) {
			return nil, fmt.Errorf("unterminated string")
		}
		s, err := strconv.Unquote(l.s[l.i : j+1])
		l.i = j + 1
		return s, err
	}
	return nil, fmt.Errorf("bad attribute kind")
}

func isRef(s string) bool {
	if len(s) < 2 || s[0] != 'v' {
		return false
	}
	n, err := strconv.Atoi(s[1:])
	return err == nil && n >= 0 && strconv.Itoa(n) == s[1:]
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (i > 0 && c >= '0' && c <= '9') {
			continue
		}
		return false
	}
	return true
}

// isName reports whether s can be a user name, output or graph name in IR
// text: an identifier, optionally with '.', '/' or '-' separated parts.
func isName(s string) bool {
	if s == "" {
		return false
	}
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == '.' || r == '/' }) {
		if !isIdent(part) {
			return false
		}
	}
	return !strings.HasPrefix(s, ".") && !strings.HasSuffix(s, ".") && !strings.Contains(s, "..") &&
		!strings.HasPrefix(s, "/") && !strings.HasSuffix(s, "/") && !strings.Contains(s, "//")
}

// IsName reports whether s is a valid name for a value, output or graph.
func IsName(s string) bool { return isName(s) }

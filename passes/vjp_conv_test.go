package passes_test

import "github.com/bpgen/bpgen/ir"

// Gradient cases of the convolution ops, added to vjpCases: each op in
// geometries covering stride, padding, dilation and groups, with unequal
// height and width parameters. Every argument is a param, so both
// arguments' gradients (built from the other two convolution ops) are
// checked against finite differences.

func init() {
	type geom struct {
		name    string
		n, c, h int
		w, o    int
		kh, kw  int
		p       ir.ConvParams
		ho, wo  int // output size
	}
	cp := func(sh, sw, ph, pw, dh, dw, groups int) ir.ConvParams {
		return ir.ConvParams{Stride: [2]int{sh, sw}, Padding: [2]int{ph, pw}, Dilation: [2]int{dh, dw}, Groups: groups}
	}
	geoms := []geom{
		{name: "plain", n: 2, c: 2, h: 4, w: 5, o: 3, kh: 3, kw: 2, p: cp(1, 1, 0, 0, 1, 1, 1), ho: 2, wo: 4},
		{name: "stride-padding", n: 2, c: 2, h: 5, w: 4, o: 2, kh: 3, kw: 3, p: cp(2, 1, 1, 2, 1, 1, 1), ho: 3, wo: 6},
		{name: "dilation", n: 1, c: 2, h: 6, w: 5, o: 2, kh: 2, kw: 2, p: cp(1, 1, 1, 0, 2, 3, 1), ho: 6, wo: 2},
		{name: "groups", n: 2, c: 4, h: 4, w: 4, o: 4, kh: 2, kw: 3, p: cp(2, 1, 1, 1, 1, 1, 2), ho: 3, wo: 4},
		{name: "depthwise-stride-dilation", n: 1, c: 3, h: 6, w: 5, o: 3, kh: 2, kw: 2, p: cp(2, 2, 1, 0, 2, 1, 3), ho: 3, wo: 2},
	}
	for _, g := range geoms {
		a := g.p.Attrs()
		vjpCases["conv2d"] = append(vjpCases["conv2d"], vjpCase{name: g.name,
			args: []argSpec{p(g.n, g.c, g.h, g.w), p(g.o, g.c/g.p.Groups, g.kh, g.kw)}, attrs: a})
		ai := g.p.Attrs()
		ai["input"] = []int{g.h, g.w}
		vjpCases["conv2d_input_grad"] = append(vjpCases["conv2d_input_grad"], vjpCase{name: g.name,
			args: []argSpec{p(g.n, g.o, g.ho, g.wo), p(g.o, g.c/g.p.Groups, g.kh, g.kw)}, attrs: ai})
		aw := g.p.Attrs()
		aw["kernel"] = []int{g.kh, g.kw}
		vjpCases["conv2d_weight_grad"] = append(vjpCases["conv2d_weight_grad"], vjpCase{name: g.name,
			args: []argSpec{p(g.n, g.c, g.h, g.w), p(g.n, g.o, g.ho, g.wo)}, attrs: aw})
	}
}

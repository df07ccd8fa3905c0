package passes_test

import "github.com/bpgen/bpgen/ir"

// Pooling: cases for TestVJPRegistry. Every differentiable element is a
// distinct grid point, so no window of max pooling has a tie and the
// finite differences see the same argmax as the rule.

func init() {
	geoms := []struct {
		name  string
		in    []int
		attrs ir.Attrs
	}{
		{"k2/default", []int{2, 3, 4, 4}, ir.Attrs{"kernel": []int{2, 2}}},
		// Overlapping rows, skipped columns, padding.
		{"k3x2/s2x3/p1x1", []int{1, 2, 5, 7}, ir.Attrs{"kernel": []int{3, 2}, "stride": []int{2, 3}, "padding": []int{1, 1}}},
		{"k3/s1/p1", []int{2, 1, 4, 3}, ir.Attrs{"kernel": []int{3, 3}, "stride": []int{1, 1}, "padding": []int{1, 1}}},
	}
	pooled := func(in []int, a ir.Attrs) []int {
		p, err := ir.PoolGeomOf(a)
		if err != nil {
			panic(err)
		}
		oh, ow := p.Out(in[2], in[3])
		return []int{in[0], in[1], oh, ow}
	}
	for _, c := range geoms {
		out := pooled(c.in, c.attrs)
		grad := c.attrs.Clone()
		grad["size"] = []int{c.in[2], c.in[3]}
		vjpCases["max_pool2d"] = append(vjpCases["max_pool2d"], vjpCase{name: c.name, args: []argSpec{p(c.in...)}, attrs: c.attrs})
		vjpCases["avg_pool2d"] = append(vjpCases["avg_pool2d"], vjpCase{name: c.name, args: []argSpec{p(c.in...)}, attrs: c.attrs})
		// The backward ops are linear in their cotangent; x only selects
		// (piecewise constant: no gradient, and none by finite differences).
		vjpCases["max_pool2d_grad"] = append(vjpCases["max_pool2d_grad"],
			vjpCase{name: c.name, args: []argSpec{p(c.in...), p(out...)}, attrs: c.attrs, unused: []string{"a0"}})
		vjpCases["max_pool2d_gather"] = append(vjpCases["max_pool2d_gather"],
			vjpCase{name: c.name, args: []argSpec{p(c.in...), p(c.in...)}, attrs: c.attrs, unused: []string{"a0"}})
		vjpCases["avg_pool2d_grad"] = append(vjpCases["avg_pool2d_grad"], vjpCase{name: c.name, args: []argSpec{p(out...)}, attrs: grad})
	}
}

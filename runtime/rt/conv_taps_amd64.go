//go:build amd64

package rt

import "github.com/bpgen/bpgen/runtime/kernels"

// tapArgs is the argument block of the tap kernels; conv_taps_amd64.s
// reads its fields at fixed offsets (in its header comment).
type tapArgs struct {
	x, w, acc *float32    // a window's top-left input; forward weights [6][nt]; partial sums
	off       *int        // nt byte offsets of the taps from x
	out       [6]*float32 // first output row (forward) or output-gradient row (weight gradient) of the block's channels
	nt8, ntb  int         // 8·nt (the end of off), 4·nt (between weight rows)
	rsx, rso  int         // bytes between the windows of consecutive output rows, between output rows
	roEnd     int         // rows·rso
	k1, k2    int         // lane masks of the two 16-lane vectors (AVX-512)
	mask      *uint32     // 16 lanes of all ones or zeros (AVX2 weight gradient)
}

//go:noescape
func tapConvF32(a *tapArgs)

//go:noescape
func tapWGradF32(a *tapArgs)

//go:noescape
func tapConvF32AVX2(a *tapArgs)

//go:noescape
func tapWGradF32AVX2(a *tapArgs)

// tapsOn reports whether the tap path runs s: float32, a shape it suits,
// and AVX-512, or AVX2 with at least 16 output columns (its blocks of 16
// columns never reach past a row: see tapPlan.block).
func tapsOn[T Float](s ConvShape) bool {
	var z T
	_, f32 := any(z).(float32)
	if !f32 || !s.taps() {
		return false
	}
	switch kernels.CurrentBackend() {
	case kernels.BackendAVX512:
		return true
	case kernels.BackendAVX2:
		return s.WO >= 16
	}
	return false
}

// tapsFwd and tapsDW are the tap products of sample n on a slot's working
// space ws (first: the slot's first sample), as a convJob calls them.
func tapsFwd[T Float](s ConvShape, out, x, w, ws []T, n int, first bool) {
	tapConv(s, any(out).([]float32), any(x).([]float32), any(w).([]float32), any(ws).([]float32), n, first)
}

func tapsDW[T Float](s ConvShape, x, g, ws []T, n int, first bool) {
	tapWGrad(s, any(x).([]float32), any(g).([]float32), any(ws).([]float32), n, first)
}

// tapPlan is the geometry shared by the two tap products.
type tapPlan struct {
	s          ConvShape
	cg, og, nt int
	hp, wp     int  // rows and columns of the planes the kernels read
	pad        bool // the planes are padded copies in the working space
	p          int  // output positions per channel
	args       tapArgs
	off        [maxTaps]int
	avx2       bool       // 16-column blocks (else 32)
	mask       [16]uint32 // the AVX2 weight gradient's lanes of the current block
}

// newTapPlan checks the lengths of the operands (the kernels read and
// write without bounds checks) and sets up the tap offsets and strides;
// the caller points args.off at off (a plan stays on the caller's stack).
func newTapPlan(s ConvShape, ylen, xlen, wlen, collen int) tapPlan {
	t := tapPlan{s: s, cg: s.C / s.Groups, og: s.O / s.Groups, p: s.HO * s.WO}
	t.nt = t.cg * s.KH * s.KW
	t.pad = s.PH != 0 || s.PW != 0
	t.hp, t.wp = s.H, s.W
	if t.pad {
		t.hp, t.wp = s.padded()
	}
	if ylen < s.N*s.O*t.p || xlen < s.N*s.C*s.H*s.W || wlen < s.O*t.nt || collen < s.tapLen() {
		panic("rt: convolution operand or working space too short")
	}
	k := 0
	for c := range t.cg {
		for i := range s.KH {
			for j := range s.KW {
				t.off[k] = 4 * ((c*t.hp+i*s.DH)*t.wp + j*s.DW)
				k++
			}
		}
	}
	t.args = tapArgs{nt8: 8 * t.nt, ntb: 4 * t.nt, rsx: 4 * s.SH * t.wp, rso: 4 * s.WO, roEnd: 4 * s.WO * s.HO}
	t.avx2 = kernels.CurrentBackend() != kernels.BackendAVX512
	return t
}

// planes returns the input planes of sample n, group g as the kernels
// read them: x's own, or copied into xp (cleared beforehand, so its
// padding is zeros) with the padding around them.
func (t *tapPlan) planes(x, xp []float32, n, g int) []float32 {
	s := t.s
	hw := s.H * s.W
	src := x[(n*s.C+g*t.cg)*hw:][:t.cg*hw]
	if !t.pad {
		return src
	}
	for c := range t.cg {
		for r := range s.H {
			copy(xp[(c*t.hp+r+s.PH)*t.wp+s.PW:][:s.W], src[(c*s.H+r)*s.W:][:s.W])
		}
	}
	return xp
}

// width is the output columns of one call of a kernel: 32 on AVX-512, 16
// on AVX2.
func (t *tapPlan) width() int { return 32 - 16*b2i(t.avx2) }

// block returns the first output column of the kernel call for the
// columns [col0, col0+width) ∩ [0, WO) and sets up its lanes. The AVX-512
// kernels mask the lanes past WO (k1, k2). The AVX2 kernels have no lane
// masks on loads and stores, so the last block of a row starts at WO − 16
// instead, overlapping the one before: the forward writes the overlapped
// columns again with the same values, and the weight gradient's mask
// leaves them out of its sums (lanes of columns before col0 are zeros).
func (t *tapPlan) block(col0 int) int {
	if !t.avx2 {
		width := min(32, t.s.WO-col0)
		t.args.k1 = 1<<min(width, 16) - 1
		t.args.k2 = 1<<max(width-16, 0) - 1
		return col0
	}
	c := min(col0, t.s.WO-16)
	for l := range t.mask {
		t.mask[l] = uint32(-b2i(c+l >= col0))
	}
	return c
}

// conv and wgrad run the forward and weight-gradient kernels of the
// plan's backend on args.
func (t *tapPlan) conv() {
	if t.avx2 {
		tapConvF32AVX2(&t.args)
		return
	}
	tapConvF32(&t.args)
}

func (t *tapPlan) wgrad() {
	if t.avx2 {
		tapWGradF32AVX2(&t.args)
		return
	}
	tapWGradF32(&t.args)
}

// tapConv is Conv2D of sample n on the tap path, with the working space
// ws of a slot: the sink, then the padded planes (cleared if first).
func tapConv(s ConvShape, out, x, w, ws []float32, n int, first bool) {
	t := newTapPlan(s, len(out), len(x), len(w), len(ws))
	t.args.off, t.args.mask = &t.off[0], &t.mask[0]
	sink := ws[:t.p] // the output rows of a block's channels past og
	xp := ws[t.p:][:t.cg*t.hp*t.wp*b2i(t.pad)]
	if first {
		clear(xp)
	}
	var wb [tapBlock * maxTaps]float32 // the weights of a short block, zero-padded
	for g := range s.Groups {
		planes := t.planes(x, xp, n, g)
		for ob := 0; ob < t.og; ob += tapBlock {
			m := min(tapBlock, t.og-ob)
			wr := w[(g*t.og+ob)*t.nt:][:m*t.nt]
			t.args.w = &wr[0]
			if m < tapBlock {
				copy(wb[:], wr)
				clear(wb[m*t.nt : tapBlock*t.nt])
				t.args.w = &wb[0]
			}
			for col0 := 0; col0 < s.WO; col0 += t.width() {
				c := t.block(col0)
				t.args.x = &planes[c]
				for o := range tapBlock {
					t.args.out[o] = &sink[c]
					if o < m {
						t.args.out[o] = &out[(n*s.O+g*t.og+ob+o)*t.p+c]
					}
				}
				t.conv()
			}
		}
	}
}

// tapAcc returns the slot's partial sums in its working space ws.
func (t *tapPlan) tapAcc(ws []float32) []float32 {
	blocks := (t.og + tapBlock - 1) / tapBlock
	return ws[t.p+t.cg*t.hp*t.wp*b2i(t.pad):][:t.s.Groups*blocks*t.nt*tapAccLen]
}

// tapWGrad adds sample n's weight gradient, on the tap path, to the lanes'
// partial sums of each block of channels in the working space ws of a
// slot (cleared first if first, with the padded planes).
func tapWGrad(s ConvShape, x, g, ws []float32, n int, first bool) {
	t := newTapPlan(s, len(g), len(x), s.O*s.C/s.Groups*s.KH*s.KW, len(ws))
	t.args.off, t.args.mask = &t.off[0], &t.mask[0]
	xp := ws[t.p:][:t.cg*t.hp*t.wp*b2i(t.pad)]
	acc := t.tapAcc(ws)
	if first {
		clear(xp)
		clear(acc)
	}
	blocks := (t.og + tapBlock - 1) / tapBlock
	for gr := range s.Groups {
		planes := t.planes(x, xp, n, gr)
		for b := range blocks {
			ob := b * tapBlock
			m := min(tapBlock, t.og-ob)
			t.args.acc = &acc[(gr*blocks+b)*t.nt*tapAccLen]
			for col0 := 0; col0 < s.WO; col0 += t.width() {
				c := t.block(col0)
				t.args.x = &planes[c]
				for o := range tapBlock {
					// Channels past og read the last one's rows again; their sums are not used.
					t.args.out[o] = &g[(n*s.O+gr*t.og+ob+min(o, m-1))*t.p+c]
				}
				t.wgrad()
			}
		}
	}
}

// tapsSum sets dw to the sums of the partial sums of the first slots
// slots (col is the whole working space), each weight's lanes and slots
// added in order in float64.
func tapsSum[T Float](s ConvShape, dw, col []T, slots int) {
	dw32, col32 := any(dw).([]float32), any(col).([]float32)
	t := newTapPlan(s, s.N*s.O*s.HO*s.WO, s.N*s.C*s.H*s.W, len(dw32), s.slotLen())
	blocks := (t.og + tapBlock - 1) / tapBlock
	for gr := range s.Groups {
		for b := range blocks {
			ob := b * tapBlock
			for o := range min(tapBlock, t.og-ob) {
				for k := range t.nt {
					var sum float64
					for sl := range slots {
						acc := t.tapAcc(col32[sl*s.slotLen():])
						for _, v := range acc[((gr*blocks+b)*t.nt+k)*tapAccLen+o*32:][:32] {
							sum += float64(v)
						}
					}
					dw32[(gr*t.og+ob+o)*t.nt+k] = float32(sum)
				}
			}
		}
	}
}

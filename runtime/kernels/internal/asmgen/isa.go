package main

import (
	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// isa emits element-type- and vector-width-specific instructions.
type isa struct {
	ctx  *build.Context
	elem int  // 4 or 8
	zmm  bool // zmm (AVX-512) or ymm (AVX2)
}

func newISA(ctx *build.Context, elem int, zmm bool) isa { return isa{ctx, elem, zmm} }

func (i isa) f32() bool { return i.elem == 4 }

// goType is the Go element type, for signatures.
func (i isa) goType() string {
	if i.f32() {
		return "float32"
	}
	return "float64"
}

// vecBytes is the width of one vector register.
func (i isa) vecBytes() int {
	if i.zmm {
		return 64
	}
	return 32
}

func (i isa) vec() reg.VecVirtual {
	if i.zmm {
		return i.ctx.ZMM()
	}
	return i.ctx.YMM()
}

func (i isa) zero(r reg.VecVirtual) {
	if i.zmm {
		i.ctx.VPXORD(r, r, r)
	} else {
		i.ctx.VXORPS(r, r, r)
	}
}

func (i isa) bcast(m operand.Op, r reg.VecVirtual) {
	if i.f32() {
		i.ctx.VBROADCASTSS(m, r)
	} else {
		i.ctx.VBROADCASTSD(m, r)
	}
}

// fma: acc += x*y (x may be memory).
func (i isa) fma(x operand.Op, y, acc reg.VecVirtual) {
	if i.f32() {
		i.ctx.VFMADD231PS(x, y, acc)
	} else {
		i.ctx.VFMADD231PD(x, y, acc)
	}
}

func (i isa) load(m operand.Mem, r reg.VecVirtual) {
	if i.f32() {
		i.ctx.VMOVUPS(m, r)
	} else {
		i.ctx.VMOVUPD(m, r)
	}
}

func (i isa) store(r reg.VecVirtual, m operand.Mem) {
	if i.f32() {
		i.ctx.VMOVUPS(r, m)
	} else {
		i.ctx.VMOVUPD(r, m)
	}
}

// mul: dst = x*y (x may be memory).
func (i isa) mul(x operand.Op, y, dst reg.VecVirtual) {
	if i.f32() {
		i.ctx.VMULPS(x, y, dst)
	} else {
		i.ctx.VMULPD(x, y, dst)
	}
}

// Scalar forms operate on the low lane (the XMM view of the registers).
func (i isa) loadScalar(m operand.Mem, r reg.VecVirtual) {
	if i.f32() {
		i.ctx.VMOVSS(m, r.AsX())
	} else {
		i.ctx.VMOVSD(m, r.AsX())
	}
}

func (i isa) storeScalar(r reg.VecVirtual, m operand.Mem) {
	if i.f32() {
		i.ctx.VMOVSS(r.AsX(), m)
	} else {
		i.ctx.VMOVSD(r.AsX(), m)
	}
}

func xop(o operand.Op) operand.Op {
	if v, ok := o.(reg.VecVirtual); ok {
		return v.AsX()
	}
	return o
}

func (i isa) fmaScalar(x operand.Op, y, acc reg.VecVirtual) {
	if i.f32() {
		i.ctx.VFMADD231SS(xop(x), y.AsX(), acc.AsX())
	} else {
		i.ctx.VFMADD231SD(xop(x), y.AsX(), acc.AsX())
	}
}

func (i isa) mulScalar(x operand.Op, y, dst reg.VecVirtual) {
	if i.f32() {
		i.ctx.VMULSS(xop(x), y.AsX(), dst.AsX())
	} else {
		i.ctx.VMULSD(xop(x), y.AsX(), dst.AsX())
	}
}

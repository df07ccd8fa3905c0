// Command asmgen generates the amd64 GEMM micro-kernels of package kernels
// (gemm_amd64.s and its Go declarations gemm_stub_amd64.go) with avo.
//
// Run it through go generate in runtime/kernels:
//
//	go run ./internal/asmgen -out gemm_amd64.s -stubs gemm_stub_amd64.go
//
// The output does not depend on the output paths, so the freshness test can
// regenerate into a temporary directory and compare bytes.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"

	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/ir"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/pass"
	"github.com/mmcloughlin/avo/printer"
	"github.com/mmcloughlin/avo/reg"
)

// kernelSpec describes one register-blocked micro-kernel computing an
// mr × (nv·lanes) tile of C from packed panels (see kernelSet in gemm.go).
type kernelSpec struct {
	name   string
	elem   int  // element size in bytes: 4 (float32) or 8 (float64)
	zmm    bool // AVX-512 (zmm, 32 registers) or AVX2+FMA (ymm, 16 registers)
	mr     int  // rows of C
	nv     int  // vectors per row of C
	unroll int  // k-loop unroll factor
	// astride is the packed A panel's elements per k step, if not mr: an
	// edge kernel computes the first mr rows of a wider set's panel.
	astride int
}

// Kernels generated. Register budget per k step: mr·nv accumulators, nv B
// vectors and 2 broadcast temporaries (≤ 32 zmm, ≤ 16 ymm).
var specs = []kernelSpec{
	{name: "sgemmKernelAVX512", elem: 4, zmm: true, mr: 12, nv: 2, unroll: 4}, // 12×32
	{name: "dgemmKernelAVX512", elem: 8, zmm: true, mr: 12, nv: 2, unroll: 4}, // 12×16
	{name: "sgemmKernelAVX2", elem: 4, zmm: false, mr: 6, nv: 2, unroll: 4},   // 6×16
	{name: "dgemmKernelAVX2", elem: 8, zmm: false, mr: 6, nv: 2, unroll: 4},   // 6×8
	// Edge kernels of sgemmKernelAVX512: the first 4 or 8 rows of its
	// 12-row panels, for a last row panel that holds no more (the 16
	// output channels of a convolution: 12 + 4 rows).
	{name: "sgemmKernelAVX512Edge4", elem: 4, zmm: true, mr: 4, nv: 2, unroll: 4, astride: 12},
	{name: "sgemmKernelAVX512Edge8", elem: 4, zmm: true, mr: 8, nv: 2, unroll: 4, astride: 12},
}

func main() {
	// avo's build package registers its own flags on flag.CommandLine, so use
	// a separate FlagSet.
	fs := flag.NewFlagSet("asmgen", flag.ExitOnError)
	out := fs.String("out", "", "assembly output file")
	stubs := fs.String("stubs", "", "Go stub output file")
	_ = fs.Parse(os.Args[1:])
	if *out == "" || *stubs == "" {
		log.Fatal("usage: asmgen -out FILE.s -stubs FILE.go")
	}

	ctx := build.NewContext()
	ctx.ConstraintExpr("amd64")
	for _, s := range specs {
		genKernel(ctx, s)
	}
	for _, s := range smallSpecs {
		genSmall(ctx, s)
	}
	genPackRows(ctx, 12, 4) // A panels, float32 AVX-512 (mr 12)
	genPackRows(ctx, 32, 4) // transposed-B panels, float32 AVX-512 (nr 32)
	genPackRows(ctx, 12, 8) // A panels, float64 AVX-512 (mr 12)
	genPackRows(ctx, 16, 8) // transposed-B panels, float64 AVX-512 (nr 16)
	genPackRows(ctx, 16, 4) // transposed-B panels, float32 AVX2 (nr 16)
	genPackRows(ctx, 8, 8)  // transposed-B panels, float64 AVX2 (nr 8)
	genPackRows(ctx, 6, 4)  // A panels, float32 AVX2 (mr 6)
	genPackRows(ctx, 6, 8)  // A panels, float64 AVX2 (mr 6)
	// Row copies: B panels (nr) and transposed-A panels (mr) of each set.
	for _, c := range []struct{ w, elem int }{{32, 4}, {12, 4}, {16, 4}, {6, 4}, {16, 8}, {12, 8}, {8, 8}, {6, 8}} {
		genPackCopy(ctx, c.w, c.elem)
	}
	f, err := ctx.Result()
	if err != nil {
		log.Fatal(err)
	}
	if err := pass.Compile.Execute(f); err != nil {
		log.Fatal(err)
	}
	cfg := printer.Config{
		Argv: []string{"go", "run", "./internal/asmgen", "-out", "gemm_amd64.s", "-stubs", "gemm_stub_amd64.go"},
		Pkg:  "kernels",
	}
	write(*out, printer.NewGoAsm(cfg), f)
	write(*stubs, printer.NewStubs(cfg), f)
}

func write(path string, p printer.Printer, f *ir.File) {
	b, err := p.Print(f)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		log.Fatal(err)
	}
}

func genKernel(ctx *build.Context, s kernelSpec) {
	x := newISA(ctx, s.elem, s.zmm)
	as := s.astride
	if as == 0 {
		as = s.mr
	}
	typ, vecBytes := x.goType(), x.vecBytes()
	nr := s.nv * vecBytes / s.elem

	ctx.Function(s.name)
	ctx.Attributes(attr.NOSPLIT)
	ctx.SignatureExpr(fmt.Sprintf("func(kc int, a, b, c *%s, ldc int, alpha, beta %s, accum int)", typ, typ))
	from := fmt.Sprintf("from packed panels Â (kc×%d) and B̂ (kc×%d); C has row stride ldc elements.", as, nr)
	if as != s.mr {
		from = fmt.Sprintf("from the first %d rows of packed panels Â (kc×%d) and B̂ (kc×%d); C has row stride ldc elements.", s.mr, as, nr)
	}
	ctx.Doc(fmt.Sprintf("%s computes the %d×%d tile C = alpha*Â·B̂ + beta*C (C = alpha*Â·B̂ if accum == 0)", s.name, s.mr, nr), from)

	kc := ctx.Load(ctx.Param("kc"), ctx.GP64())
	pa := ctx.Load(ctx.Param("a"), ctx.GP64())
	pb := ctx.Load(ctx.Param("b"), ctx.GP64())

	acc := make([][]reg.VecVirtual, s.mr)
	for i := range acc {
		acc[i] = make([]reg.VecVirtual, s.nv)
		for v := range acc[i] {
			acc[i][v] = x.vec()
			x.zero(acc[i][v])
		}
	}
	bv := make([]reg.VecVirtual, s.nv)
	for v := range bv {
		bv[v] = x.vec()
	}
	tmp := []reg.VecVirtual{x.vec(), x.vec()}

	step := func(p int) { // one k step at offset p within the unrolled body
		for v := range bv {
			x.load(operand.Mem{Base: pb, Disp: (p*s.nv + v) * vecBytes}, bv[v])
		}
		for i := 0; i < s.mr; i++ {
			t := tmp[i%2]
			x.bcast(operand.Mem{Base: pa, Disp: (p*as + i) * s.elem}, t)
			for v := range bv {
				x.fma(bv[v], t, acc[i][v])
			}
		}
	}

	// Prefetch the C tile (read in the accumulate case, written always) so
	// its lines arrive while the k loop runs.
	{
		pc := ctx.Load(ctx.Param("c"), ctx.GP64())
		ldc := ctx.Load(ctx.Param("ldc"), ctx.GP64())
		ctx.SHLQ(operand.U8(log2(s.elem)), ldc)
		for i := 0; i < s.mr; i++ {
			for off := 0; off < s.nv*vecBytes; off += 64 {
				ctx.PREFETCHT0(operand.Mem{Base: pc, Disp: off})
			}
			ctx.PREFETCHT0(operand.Mem{Base: pc, Disp: s.nv*vecBytes - 1})
			if i < s.mr-1 {
				ctx.ADDQ(ldc, pc)
			}
		}
	}

	n := ctx.GP64()
	ctx.MOVQ(kc, n)
	ctx.SHRQ(operand.U8(log2(s.unroll)), n)
	ctx.JZ(operand.LabelRef(s.name + "_tail"))
	ctx.Label(s.name + "_loop")
	for p := 0; p < s.unroll; p++ {
		step(p)
	}
	ctx.ADDQ(operand.U32(s.unroll*as*s.elem), pa)
	ctx.ADDQ(operand.U32(s.unroll*s.nv*vecBytes), pb)
	ctx.DECQ(n)
	ctx.JNZ(operand.LabelRef(s.name + "_loop"))

	ctx.Label(s.name + "_tail")
	ctx.ANDQ(operand.U8(s.unroll-1), kc)
	ctx.JZ(operand.LabelRef(s.name + "_store"))
	ctx.Label(s.name + "_tailloop")
	step(0)
	ctx.ADDQ(operand.U32(as*s.elem), pa)
	ctx.ADDQ(operand.U32(s.nv*vecBytes), pb)
	ctx.DECQ(kc)
	ctx.JNZ(operand.LabelRef(s.name + "_tailloop"))

	ctx.Label(s.name + "_store")
	pc := ctx.Load(ctx.Param("c"), ctx.GP64())
	ldc := ctx.Load(ctx.Param("ldc"), ctx.GP64())
	ctx.SHLQ(operand.U8(log2(s.elem)), ldc)
	alphaV := x.vec()
	x.bcast(paramAddr(ctx, "alpha"), alphaV)
	accum := ctx.Load(ctx.Param("accum"), ctx.GP64())
	ctx.TESTQ(accum, accum)
	ctx.JNZ(operand.LabelRef(s.name + "_beta"))

	// C = alpha*acc
	for i := 0; i < s.mr; i++ {
		for v := 0; v < s.nv; v++ {
			x.mul(alphaV, acc[i][v], acc[i][v])
			x.store(acc[i][v], operand.Mem{Base: pc, Disp: v * vecBytes})
		}
		if i < s.mr-1 {
			ctx.ADDQ(ldc, pc)
		}
	}
	ctx.VZEROUPPER()
	ctx.RET()

	// C = alpha*acc + beta*C
	ctx.Label(s.name + "_beta")
	betaV := x.vec()
	x.bcast(paramAddr(ctx, "beta"), betaV)
	for i := 0; i < s.mr; i++ {
		for v := 0; v < s.nv; v++ {
			t := tmp[v%2]
			x.mul(operand.Mem{Base: pc, Disp: v * vecBytes}, betaV, t)
			x.fma(alphaV, acc[i][v], t)
			x.store(t, operand.Mem{Base: pc, Disp: v * vecBytes})
		}
		if i < s.mr-1 {
			ctx.ADDQ(ldc, pc)
		}
	}
	ctx.VZEROUPPER()
	ctx.RET()
}

func paramAddr(ctx *build.Context, name string) operand.Mem {
	b, err := ctx.Param(name).Resolve()
	if err != nil {
		log.Fatal(err)
	}
	return b.Addr
}

func log2(x int) int {
	n := 0
	for 1<<n < x {
		n++
	}
	if 1<<n != x {
		panic("not a power of two")
	}
	return n
}

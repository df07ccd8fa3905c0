package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/bpgen/bpgen/examples/models"
	"github.com/bpgen/bpgen/generated/curvefit"
	"github.com/bpgen/bpgen/generated/rosenbrock"
	"gonum.org/v1/gonum/diff/fd"
	"gonum.org/v1/gonum/optimize"
)

// shared evaluates f and ∇f together for gonum. optimize.Problem asks Func
// and Grad separately, at the same x; one ValueAndGrad (one forward and
// one backward pass) serves both, and a second call at the same x is
// answered from the cache.
type shared struct {
	valueAndGrad func(x, grad []float64) (float64, error)
	x, grad      []float64
	f            float64
	valid        bool
	err          error // the first error of valueAndGrad: the run is then invalid
	// Passes counts the calls of valueAndGrad: forward (and backward)
	// passes of the generated model.
	Passes int
}

func newShared(n int, vg func(x, grad []float64) (float64, error)) *shared {
	return &shared{valueAndGrad: vg, x: make([]float64, n), grad: make([]float64, n)}
}

func (s *shared) eval(x []float64) {
	if s.valid && slices.Equal(x, s.x) {
		return
	}
	f, err := s.valueAndGrad(x, s.grad)
	s.Passes++
	if err != nil {
		if s.err == nil {
			s.err = err
		}
		f = math.NaN()
	}
	copy(s.x, x)
	s.f, s.valid = f, true
}

func (s *shared) problem() optimize.Problem {
	return optimize.Problem{
		Func: func(x []float64) float64 { s.eval(x); return s.f },
		Grad: func(grad, x []float64) { s.eval(x); copy(grad, s.grad) },
	}
}

// fdProblem is the problem with gonum's central finite differences for
// the gradient: 2·len(x) evaluations of f per gradient.
func fdProblem(f func(x []float64) float64) optimize.Problem {
	return optimize.Problem{
		Func: f,
		Grad: func(grad, x []float64) { fd.Gradient(grad, f, x, &fd.Settings{Formula: fd.Central}) },
	}
}

// run is one minimization: its result and how many forward passes of the
// generated model it took.
type run struct {
	Name     string
	Result   *optimize.Result
	Passes   int // forward passes of the generated model (bpgen gradients)
	FuncOnly int // evaluations of f alone (finite differences)
	Elapsed  time.Duration
	Err      error
}

func (r run) String() string {
	if r.Err != nil {
		return fmt.Sprintf("%-28s error: %v", r.Name, r.Err)
	}
	s := r.Result.Stats
	evals := fmt.Sprintf("%d forward passes", r.Passes)
	if r.FuncOnly > 0 {
		evals = fmt.Sprintf("%d calls of f by fd", r.FuncOnly)
	}
	return fmt.Sprintf("%-28s %-12v f = %-9.3g %4d iterations, %4d evaluations of f, %4d of ∇f, %s, %v",
		r.Name, r.Result.Status, r.Result.F, s.MajorIterations, s.FuncEvaluations, s.GradEvaluations, evals, r.Elapsed.Round(10*time.Microsecond))
}

// settings stop at a gradient norm of gradTol (gonum's default
// threshold is 1e-12, below what finite differences reach).
func settings() *optimize.Settings {
	return &optimize.Settings{GradientThreshold: gradTol, MajorIterations: 10000}
}

// gradTol is the gradient norm at which the runs stop: far below the
// accuracy the examples print, above the noise of central differences
// (about 1e-7 relative at the step fd chooses).
const gradTol = 1e-6

// rosenbrockStart is the classic starting point (−1.2, 1, −1.2, 1, …).
func rosenbrockStart() []float64 {
	x := make([]float64, models.RosenbrockN)
	for i := range x {
		x[i] = 1
		if i%2 == 0 {
			x[i] = -1.2
		}
	}
	return x
}

// Rosenbrock minimizes the generated Rosenbrock function from
// rosenbrockStart with method, on bpgen's gradient (fdGrad false) or on
// finite differences of the generated f.
func Rosenbrock(method optimize.Method, name string, fdGrad bool) run {
	m, err := rosenbrock.New(rosenbrock.Config{})
	if err != nil {
		return run{Name: name, Err: err}
	}
	sh := newShared(models.RosenbrockN, func(x, g []float64) (float64, error) {
		return m.ValueAndGrad(x, g, rosenbrock.Inputs{})
	})
	p := sh.problem()
	funcOnly := 0
	if fdGrad {
		p = fdProblem(func(x []float64) float64 {
			funcOnly++
			if err := m.SetParams(x); err != nil {
				panic(err)
			}
			f, err := m.Forward(rosenbrock.Inputs{})
			if err != nil {
				panic(err)
			}
			return f
		})
	}
	start := time.Now()
	res, err := optimize.Minimize(p, rosenbrockStart(), settings(), method)
	r := run{Name: name, Result: res, Passes: sh.Passes, FuncOnly: funcOnly, Elapsed: time.Since(start), Err: err}
	if r.Err == nil {
		r.Err = sh.err
	}
	return r
}

// The curve y = a·exp(−b·t) + c that CurveFit's data come from, and the
// noise on them.
const (
	trueA, trueB, trueC = 2.5, 1.3, 0.5
	noise               = 0.02
	points              = 50
)

// curveData returns points samples of the true curve on t ∈ [0, 4] with
// Gaussian noise (a fixed seed).
func curveData() (t, y []float64) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range points {
		ti := 4 * float64(i) / (points - 1)
		t = append(t, ti)
		y = append(y, trueA*math.Exp(-trueB*ti)+trueC+noise*r.NormFloat64())
	}
	return t, y
}

// CurveFit fits (a, b, c) to curveData from (1, 1, 0) with method.
func CurveFit(method optimize.Method, name string, fdGrad bool) (run, []float64) {
	t, y := curveData()
	m, err := curvefit.New(curvefit.Config{MaxN: points})
	if err != nil {
		return run{Name: name, Err: err}, nil
	}
	in := curvefit.Inputs{T: t, Y: y, N: points}
	sh := newShared(3, func(x, g []float64) (float64, error) { return m.ValueAndGrad(x, g, in) })
	p := sh.problem()
	funcOnly := 0
	if fdGrad {
		p = fdProblem(func(x []float64) float64 {
			funcOnly++
			if err := m.SetParams(x); err != nil {
				panic(err)
			}
			f, err := m.Forward(in)
			if err != nil {
				panic(err)
			}
			return f
		})
	}
	start := time.Now()
	res, err := optimize.Minimize(p, []float64{1, 1, 0}, settings(), method)
	r := run{Name: name, Result: res, Passes: sh.Passes, FuncOnly: funcOnly, Elapsed: time.Since(start), Err: err}
	if r.Err == nil {
		r.Err = sh.err
	}
	if res == nil {
		return r, nil
	}
	return r, res.X
}

// The test driver of codegen's equivalence harness.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/bpgen/bpgen/codegen/testdata/gen-658981516/op_neg"
	"github.com/bpgen/bpgen/codegen/testdata/gen-658981516/op_abs"
	"github.com/bpgen/bpgen/codegen/testdata/gen-658981516/op_sign"
	"github.com/bpgen/bpgen/codegen/testdata/gen-658981516/op_exp"
	"github.com/bpgen/bpgen/codegen/testdata/gen-658981516/op_log"
	"github.com/bpgen/bpgen/codegen/testdata/gen-658981516/op_log1p"
	"github.com/bpgen/bpgen/codegen/testdata/gen-658981516/op_sqrt"
	"github.com/bpgen/bpgen/codegen/testdata/gen-658981516/op_square"
	"github.com/bpgen/bpgen/codegen/testdata/gen-658981516/op_reciprocal"
	"github.com/bpgen/bpgen/codegen/testdata/gen-658981516/op_tanh"
	"github.com/bpgen/bpgen/codegen/testdata/gen-658981516/op_sigmoid"
	"github.com/bpgen/bpgen/codegen/testdata/gen-658981516/op_relu"
	"github.com/bpgen/bpgen/codegen/testdata/gen-658981516/op_leaky_relu"
	"github.com/bpgen/bpgen/codegen/testdata/gen-658981516/op_softplus"
	"github.com/bpgen/bpgen/codegen/testdata/gen-658981516/op_sin"
	"github.com/bpgen/bpgen/codegen/testdata/gen-658981516/op_cos"
	"github.com/bpgen/bpgen/codegen/testdata/gen-658981516/op_powc"
	"github.com/bpgen/bpgen/codegen/testdata/gen-658981516/op_stop_gradient"
	"github.com/bpgen/bpgen/codegen/testdata/gen-658981516/op_convert"
	"github.com/bpgen/bpgen/codegen/testdata/gen-658981516/op_add"
	"github.com/bpgen/bpgen/codegen/testdata/gen-658981516/op_sub"
	"github.com/bpgen/bpgen/codegen/testdata/gen-658981516/op_mul"
	"github.com/bpgen/bpgen/codegen/testdata/gen-658981516/op_div"
	"github.com/bpgen/bpgen/codegen/testdata/gen-658981516/op_maximum"
	"github.com/bpgen/bpgen/codegen/testdata/gen-658981516/op_minimum"
	"github.com/bpgen/bpgen/codegen/testdata/gen-658981516/op_pow"
	"github.com/bpgen/bpgen/codegen/testdata/gen-658981516/op_eq"
	"github.com/bpgen/bpgen/codegen/testdata/gen-658981516/op_ne"
	"github.com/bpgen/bpgen/codegen/testdata/gen-658981516/op_lt"
	"github.com/bpgen/bpgen/codegen/testdata/gen-658981516/op_le"
	"github.com/bpgen/bpgen/codegen/testdata/gen-658981516/op_gt"
	"github.com/bpgen/bpgen/codegen/testdata/gen-658981516/op_ge"
	"github.com/bpgen/bpgen/codegen/testdata/gen-658981516/op_select"
	"github.com/bpgen/bpgen/codegen/testdata/gen-658981516/op_bce_logits"
	"github.com/bpgen/bpgen/codegen/testdata/gen-658981516/op_sum"
	"github.com/bpgen/bpgen/codegen/testdata/gen-658981516/op_mean"
	"github.com/bpgen/bpgen/codegen/testdata/gen-658981516/op_max"
	"github.com/bpgen/bpgen/codegen/testdata/gen-658981516/op_min"
	"github.com/bpgen/bpgen/codegen/testdata/gen-658981516/op_logsumexp"
	"github.com/bpgen/bpgen/codegen/testdata/gen-658981516/op_softmax"
	"github.com/bpgen/bpgen/codegen/testdata/gen-658981516/op_log_softmax"
	"github.com/bpgen/bpgen/codegen/testdata/gen-658981516/op_argmax"
	"github.com/bpgen/bpgen/codegen/testdata/gen-658981516/op_softmax_xent"
	"github.com/bpgen/bpgen/codegen/testdata/gen-658981516/op_matmul"
	"github.com/bpgen/bpgen/codegen/testdata/gen-658981516/op_bmm"
	"github.com/bpgen/bpgen/codegen/testdata/gen-658981516/op_movement"
	"github.com/bpgen/bpgen/codegen/testdata/gen-658981516/op_pad"
	"github.com/bpgen/bpgen/codegen/testdata/gen-658981516/op_gather"
	"github.com/bpgen/bpgen/codegen/testdata/gen-658981516/op_misc"
	"github.com/bpgen/bpgen/codegen/testdata/gen-658981516/mlp64"
	"github.com/bpgen/bpgen/codegen/testdata/gen-658981516/mlp32"
	"github.com/bpgen/bpgen/codegen/testdata/gen-658981516/deep32"
	"github.com/bpgen/bpgen/codegen/testdata/gen-658981516/deep64"
	"github.com/bpgen/bpgen/codegen/testdata/gen-658981516/composite64"
	"github.com/bpgen/bpgen/codegen/testdata/gen-658981516/composite32"
)

type entry struct {
	newFn  reflect.Value
	allocs func(cfg, in any) map[string]float64
}

var models = map[string]entry{
	"op_neg": {reflect.ValueOf(op_neg.New), allocs_op_neg},
	"op_abs": {reflect.ValueOf(op_abs.New), allocs_op_abs},
	"op_sign": {reflect.ValueOf(op_sign.New), allocs_op_sign},
	"op_exp": {reflect.ValueOf(op_exp.New), allocs_op_exp},
	"op_log": {reflect.ValueOf(op_log.New), allocs_op_log},
	"op_log1p": {reflect.ValueOf(op_log1p.New), allocs_op_log1p},
	"op_sqrt": {reflect.ValueOf(op_sqrt.New), allocs_op_sqrt},
	"op_square": {reflect.ValueOf(op_square.New), allocs_op_square},
	"op_reciprocal": {reflect.ValueOf(op_reciprocal.New), allocs_op_reciprocal},
	"op_tanh": {reflect.ValueOf(op_tanh.New), allocs_op_tanh},
	"op_sigmoid": {reflect.ValueOf(op_sigmoid.New), allocs_op_sigmoid},
	"op_relu": {reflect.ValueOf(op_relu.New), allocs_op_relu},
	"op_leaky_relu": {reflect.ValueOf(op_leaky_relu.New), allocs_op_leaky_relu},
	"op_softplus": {reflect.ValueOf(op_softplus.New), allocs_op_softplus},
	"op_sin": {reflect.ValueOf(op_sin.New), allocs_op_sin},
	"op_cos": {reflect.ValueOf(op_cos.New), allocs_op_cos},
	"op_powc": {reflect.ValueOf(op_powc.New), allocs_op_powc},
	"op_stop_gradient": {reflect.ValueOf(op_stop_gradient.New), allocs_op_stop_gradient},
	"op_convert": {reflect.ValueOf(op_convert.New), allocs_op_convert},
	"op_add": {reflect.ValueOf(op_add.New), allocs_op_add},
	"op_sub": {reflect.ValueOf(op_sub.New), allocs_op_sub},
	"op_mul": {reflect.ValueOf(op_mul.New), allocs_op_mul},
	"op_div": {reflect.ValueOf(op_div.New), allocs_op_div},
	"op_maximum": {reflect.ValueOf(op_maximum.New), allocs_op_maximum},
	"op_minimum": {reflect.ValueOf(op_minimum.New), allocs_op_minimum},
	"op_pow": {reflect.ValueOf(op_pow.New), allocs_op_pow},
	"op_eq": {reflect.ValueOf(op_eq.New), allocs_op_eq},
	"op_ne": {reflect.ValueOf(op_ne.New), allocs_op_ne},
	"op_lt": {reflect.ValueOf(op_lt.New), allocs_op_lt},
	"op_le": {reflect.ValueOf(op_le.New), allocs_op_le},
	"op_gt": {reflect.ValueOf(op_gt.New), allocs_op_gt},
	"op_ge": {reflect.ValueOf(op_ge.New), allocs_op_ge},
	"op_select": {reflect.ValueOf(op_select.New), allocs_op_select},
	"op_bce_logits": {reflect.ValueOf(op_bce_logits.New), allocs_op_bce_logits},
	"op_sum": {reflect.ValueOf(op_sum.New), allocs_op_sum},
	"op_mean": {reflect.ValueOf(op_mean.New), allocs_op_mean},
	"op_max": {reflect.ValueOf(op_max.New), allocs_op_max},
	"op_min": {reflect.ValueOf(op_min.New), allocs_op_min},
	"op_logsumexp": {reflect.ValueOf(op_logsumexp.New), allocs_op_logsumexp},
	"op_softmax": {reflect.ValueOf(op_softmax.New), allocs_op_softmax},
	"op_log_softmax": {reflect.ValueOf(op_log_softmax.New), allocs_op_log_softmax},
	"op_argmax": {reflect.ValueOf(op_argmax.New), allocs_op_argmax},
	"op_softmax_xent": {reflect.ValueOf(op_softmax_xent.New), allocs_op_softmax_xent},
	"op_matmul": {reflect.ValueOf(op_matmul.New), allocs_op_matmul},
	"op_bmm": {reflect.ValueOf(op_bmm.New), allocs_op_bmm},
	"op_movement": {reflect.ValueOf(op_movement.New), allocs_op_movement},
	"op_pad": {reflect.ValueOf(op_pad.New), allocs_op_pad},
	"op_gather": {reflect.ValueOf(op_gather.New), allocs_op_gather},
	"op_misc": {reflect.ValueOf(op_misc.New), allocs_op_misc},
	"mlp64": {reflect.ValueOf(mlp64.New), allocs_mlp64},
	"mlp32": {reflect.ValueOf(mlp32.New), allocs_mlp32},
	"deep32": {reflect.ValueOf(deep32.New), allocs_deep32},
	"deep64": {reflect.ValueOf(deep64.New), allocs_deep64},
	"composite64": {reflect.ValueOf(composite64.New), allocs_composite64},
	"composite32": {reflect.ValueOf(composite32.New), allocs_composite32},
}

type driverCase struct {
	Model  string
	Seed   uint64
	Cap    int
	Dims   map[string]int
	Inputs map[string][]float64
	Opt    map[string]any
	Allocs bool
	Probe  bool   // only report the errors of Backward (first), Forward, Predict and TrainStep
	Save   string // also save, load into a model with another seed, and compare
}

type driverResult struct {
	Init     map[string][]float64
	Loss     float64
	Outputs  map[string][]float64
	Grads    map[string][]float64
	Predict  map[string][]float64
	Stepped  map[string][]float64
	StepLoss float64
	Allocs   map[string]float64
	Err      string
	Errors   []string // Probe
}

func main() {
	data, err := os.ReadFile(os.Args[1])
	if err != nil {
		panic(err)
	}
	var cases []driverCase
	if err := json.Unmarshal(data, &cases); err != nil {
		panic(err)
	}
	var res []driverResult
	for _, c := range cases {
		res = append(res, run(c))
	}
	out, err := json.Marshal(res)
	if err != nil {
		panic(err)
	}
	os.Stdout.Write(out)
}

func fail(r driverResult, format string, args ...any) driverResult {
	r.Err = fmt.Sprintf(format, args...)
	return r
}

func callErr(out []reflect.Value) error {
	e := out[len(out)-1]
	if e.IsNil() {
		return nil
	}
	return e.Interface().(error)
}

// floats converts a slice or scalar field to []float64.
func floats(v reflect.Value) []float64 {
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		return []float64{v.Float()}
	case reflect.Int32:
		return []float64{float64(v.Int())}
	case reflect.Slice:
		r := make([]float64, v.Len())
		for i := range r {
			e := v.Index(i)
			if e.Kind() == reflect.Int32 {
				r[i] = float64(e.Int())
			} else {
				r[i] = e.Float()
			}
		}
		return r
	}
	panic("floats: " + v.Kind().String())
}

func fields(v reflect.Value) map[string][]float64 {
	m := map[string][]float64{}
	for i := 0; i < v.NumField(); i++ {
		m[v.Type().Field(i).Name] = floats(v.Field(i))
	}
	return m
}

func run(c driverCase) (r driverResult) {
	defer func() {
		if e := recover(); e != nil {
			r.Err = fmt.Sprint("panic: ", e)
		}
	}()
	e, ok := models[c.Model]
	if !ok {
		return fail(r, "no model %s", c.Model)
	}
	cfg := reflect.New(e.newFn.Type().In(0)).Elem()
	for i := 0; i < cfg.NumField(); i++ {
		if strings.HasPrefix(cfg.Type().Field(i).Name, "Max") {
			cfg.Field(i).SetInt(int64(c.Cap))
		}
	}
	cfg.FieldByName("Seed").SetUint(c.Seed)
	opt := cfg.FieldByName("Optimizer")
	for k, v := range c.Opt {
		f := opt.FieldByName(k)
		switch v := v.(type) {
		case string:
			f.SetString(v)
		case float64:
			f.SetFloat(v)
		case bool:
			f.SetBool(v)
		}
	}
	out := e.newFn.Call([]reflect.Value{cfg})
	if err := callErr(out); err != nil {
		return fail(r, "New: %v", err)
	}
	m := out[0]
	r.Init = fields(m.Elem().FieldByName("Params"))
	if c.Save != "" {
		if err := callErr(m.MethodByName("Save").Call([]reflect.Value{reflect.ValueOf(c.Save)})); err != nil {
			return fail(r, "Save: %v", err)
		}
		cfg.FieldByName("Seed").SetUint(c.Seed + 1)
		out := e.newFn.Call([]reflect.Value{cfg})
		m2 := out[0]
		if reflect.DeepEqual(fields(m2.Elem().FieldByName("Params")), r.Init) {
			return fail(r, "another seed gives the same params")
		}
		if err := callErr(m2.MethodByName("Load").Call([]reflect.Value{reflect.ValueOf(c.Save)})); err != nil {
			return fail(r, "Load: %v", err)
		}
		if !reflect.DeepEqual(fields(m2.Elem().FieldByName("Params")), r.Init) {
			return fail(r, "Load did not restore the saved params")
		}
		cfg.FieldByName("Seed").SetUint(c.Seed)
	}
	in := reflect.New(m.MethodByName("Forward").Type().In(0)).Elem()
	for k, n := range c.Dims {
		in.FieldByName(k).SetInt(int64(n))
	}
	for k, xs := range c.Inputs {
		f := in.FieldByName(k)
		s := reflect.MakeSlice(f.Type(), len(xs), len(xs))
		for i, x := range xs {
			if s.Index(i).Kind() == reflect.Int32 {
				s.Index(i).SetInt(int64(x))
			} else {
				s.Index(i).SetFloat(x)
			}
		}
		f.Set(s)
	}
	if c.Probe {
		errText := func(out []reflect.Value) string {
			if err := callErr(out); err != nil {
				return err.Error()
			}
			return ""
		}
		r.Errors = append(r.Errors,
			errText(m.MethodByName("Backward").Call(nil)),
			errText(m.MethodByName("Forward").Call([]reflect.Value{in})),
			errText(m.MethodByName("Predict").Call([]reflect.Value{in})),
			errText(m.MethodByName("TrainStep").Call([]reflect.Value{in})))
		return r
	}
	out = m.MethodByName("Forward").Call([]reflect.Value{in})
	if err := callErr(out); err != nil {
		return fail(r, "Forward: %v", err)
	}
	r.Loss = out[0].Float()
	r.Outputs = fields(m.MethodByName("Outputs").Call(nil)[0])
	if err := callErr(m.MethodByName("Backward").Call(nil)); err != nil {
		return fail(r, "Backward: %v", err)
	}
	r.Grads = fields(m.Elem().FieldByName("Grads"))
	pin := reflect.New(in.Type()).Elem()
	pin.Set(in)
	out = m.MethodByName("Predict").Call([]reflect.Value{pin})
	if err := callErr(out); err != nil {
		return fail(r, "Predict: %v", err)
	}
	r.Predict = fields(out[0])
	out = m.MethodByName("TrainStep").Call([]reflect.Value{in})
	if err := callErr(out); err != nil {
		return fail(r, "TrainStep: %v", err)
	}
	r.StepLoss = out[0].Float()
	r.Stepped = fields(m.Elem().FieldByName("Params"))
	if c.Allocs {
		r.Allocs = e.allocs(cfg.Interface(), in.Interface())
	}
	return r
}

func allocs_op_neg(cfg, in any) map[string]float64 {
	m, err := op_neg.New(cfg.(op_neg.Config))
	if err != nil {
		panic(err)
	}
	x := in.(op_neg.Inputs)
	r := map[string]float64{}
	r["TrainStep"] = testing.AllocsPerRun(5, func() { m.TrainStep(x) })
	r["ForwardBackward"] = testing.AllocsPerRun(5, func() { m.Forward(x); m.Backward() })
	r["Predict"] = testing.AllocsPerRun(5, func() { m.Predict(x) })
	return r
}

func allocs_op_abs(cfg, in any) map[string]float64 {
	m, err := op_abs.New(cfg.(op_abs.Config))
	if err != nil {
		panic(err)
	}
	x := in.(op_abs.Inputs)
	r := map[string]float64{}
	r["TrainStep"] = testing.AllocsPerRun(5, func() { m.TrainStep(x) })
	r["ForwardBackward"] = testing.AllocsPerRun(5, func() { m.Forward(x); m.Backward() })
	r["Predict"] = testing.AllocsPerRun(5, func() { m.Predict(x) })
	return r
}

func allocs_op_sign(cfg, in any) map[string]float64 {
	m, err := op_sign.New(cfg.(op_sign.Config))
	if err != nil {
		panic(err)
	}
	x := in.(op_sign.Inputs)
	r := map[string]float64{}
	r["TrainStep"] = testing.AllocsPerRun(5, func() { m.TrainStep(x) })
	r["ForwardBackward"] = testing.AllocsPerRun(5, func() { m.Forward(x); m.Backward() })
	r["Predict"] = testing.AllocsPerRun(5, func() { m.Predict(x) })
	return r
}

func allocs_op_exp(cfg, in any) map[string]float64 {
	m, err := op_exp.New(cfg.(op_exp.Config))
	if err != nil {
		panic(err)
	}
	x := in.(op_exp.Inputs)
	r := map[string]float64{}
	r["TrainStep"] = testing.AllocsPerRun(5, func() { m.TrainStep(x) })
	r["ForwardBackward"] = testing.AllocsPerRun(5, func() { m.Forward(x); m.Backward() })
	r["Predict"] = testing.AllocsPerRun(5, func() { m.Predict(x) })
	return r
}

func allocs_op_log(cfg, in any) map[string]float64 {
	m, err := op_log.New(cfg.(op_log.Config))
	if err != nil {
		panic(err)
	}
	x := in.(op_log.Inputs)
	r := map[string]float64{}
	r["TrainStep"] = testing.AllocsPerRun(5, func() { m.TrainStep(x) })
	r["ForwardBackward"] = testing.AllocsPerRun(5, func() { m.Forward(x); m.Backward() })
	r["Predict"] = testing.AllocsPerRun(5, func() { m.Predict(x) })
	return r
}

func allocs_op_log1p(cfg, in any) map[string]float64 {
	m, err := op_log1p.New(cfg.(op_log1p.Config))
	if err != nil {
		panic(err)
	}
	x := in.(op_log1p.Inputs)
	r := map[string]float64{}
	r["TrainStep"] = testing.AllocsPerRun(5, func() { m.TrainStep(x) })
	r["ForwardBackward"] = testing.AllocsPerRun(5, func() { m.Forward(x); m.Backward() })
	r["Predict"] = testing.AllocsPerRun(5, func() { m.Predict(x) })
	return r
}

func allocs_op_sqrt(cfg, in any) map[string]float64 {
	m, err := op_sqrt.New(cfg.(op_sqrt.Config))
	if err != nil {
		panic(err)
	}
	x := in.(op_sqrt.Inputs)
	r := map[string]float64{}
	r["TrainStep"] = testing.AllocsPerRun(5, func() { m.TrainStep(x) })
	r["ForwardBackward"] = testing.AllocsPerRun(5, func() { m.Forward(x); m.Backward() })
	r["Predict"] = testing.AllocsPerRun(5, func() { m.Predict(x) })
	return r
}

func allocs_op_square(cfg, in any) map[string]float64 {
	m, err := op_square.New(cfg.(op_square.Config))
	if err != nil {
		panic(err)
	}
	x := in.(op_square.Inputs)
	r := map[string]float64{}
	r["TrainStep"] = testing.AllocsPerRun(5, func() { m.TrainStep(x) })
	r["ForwardBackward"] = testing.AllocsPerRun(5, func() { m.Forward(x); m.Backward() })
	r["Predict"] = testing.AllocsPerRun(5, func() { m.Predict(x) })
	return r
}

func allocs_op_reciprocal(cfg, in any) map[string]float64 {
	m, err := op_reciprocal.New(cfg.(op_reciprocal.Config))
	if err != nil {
		panic(err)
	}
	x := in.(op_reciprocal.Inputs)
	r := map[string]float64{}
	r["TrainStep"] = testing.AllocsPerRun(5, func() { m.TrainStep(x) })
	r["ForwardBackward"] = testing.AllocsPerRun(5, func() { m.Forward(x); m.Backward() })
	r["Predict"] = testing.AllocsPerRun(5, func() { m.Predict(x) })
	return r
}

func allocs_op_tanh(cfg, in any) map[string]float64 {
	m, err := op_tanh.New(cfg.(op_tanh.Config))
	if err != nil {
		panic(err)
	}
	x := in.(op_tanh.Inputs)
	r := map[string]float64{}
	r["TrainStep"] = testing.AllocsPerRun(5, func() { m.TrainStep(x) })
	r["ForwardBackward"] = testing.AllocsPerRun(5, func() { m.Forward(x); m.Backward() })
	r["Predict"] = testing.AllocsPerRun(5, func() { m.Predict(x) })
	return r
}

func allocs_op_sigmoid(cfg, in any) map[string]float64 {
	m, err := op_sigmoid.New(cfg.(op_sigmoid.Config))
	if err != nil {
		panic(err)
	}
	x := in.(op_sigmoid.Inputs)
	r := map[string]float64{}
	r["TrainStep"] = testing.AllocsPerRun(5, func() { m.TrainStep(x) })
	r["ForwardBackward"] = testing.AllocsPerRun(5, func() { m.Forward(x); m.Backward() })
	r["Predict"] = testing.AllocsPerRun(5, func() { m.Predict(x) })
	return r
}

func allocs_op_relu(cfg, in any) map[string]float64 {
	m, err := op_relu.New(cfg.(op_relu.Config))
	if err != nil {
		panic(err)
	}
	x := in.(op_relu.Inputs)
	r := map[string]float64{}
	r["TrainStep"] = testing.AllocsPerRun(5, func() { m.TrainStep(x) })
	r["ForwardBackward"] = testing.AllocsPerRun(5, func() { m.Forward(x); m.Backward() })
	r["Predict"] = testing.AllocsPerRun(5, func() { m.Predict(x) })
	return r
}

func allocs_op_leaky_relu(cfg, in any) map[string]float64 {
	m, err := op_leaky_relu.New(cfg.(op_leaky_relu.Config))
	if err != nil {
		panic(err)
	}
	x := in.(op_leaky_relu.Inputs)
	r := map[string]float64{}
	r["TrainStep"] = testing.AllocsPerRun(5, func() { m.TrainStep(x) })
	r["ForwardBackward"] = testing.AllocsPerRun(5, func() { m.Forward(x); m.Backward() })
	r["Predict"] = testing.AllocsPerRun(5, func() { m.Predict(x) })
	return r
}

func allocs_op_softplus(cfg, in any) map[string]float64 {
	m, err := op_softplus.New(cfg.(op_softplus.Config))
	if err != nil {
		panic(err)
	}
	x := in.(op_softplus.Inputs)
	r := map[string]float64{}
	r["TrainStep"] = testing.AllocsPerRun(5, func() { m.TrainStep(x) })
	r["ForwardBackward"] = testing.AllocsPerRun(5, func() { m.Forward(x); m.Backward() })
	r["Predict"] = testing.AllocsPerRun(5, func() { m.Predict(x) })
	return r
}

func allocs_op_sin(cfg, in any) map[string]float64 {
	m, err := op_sin.New(cfg.(op_sin.Config))
	if err != nil {
		panic(err)
	}
	x := in.(op_sin.Inputs)
	r := map[string]float64{}
	r["TrainStep"] = testing.AllocsPerRun(5, func() { m.TrainStep(x) })
	r["ForwardBackward"] = testing.AllocsPerRun(5, func() { m.Forward(x); m.Backward() })
	r["Predict"] = testing.AllocsPerRun(5, func() { m.Predict(x) })
	return r
}

func allocs_op_cos(cfg, in any) map[string]float64 {
	m, err := op_cos.New(cfg.(op_cos.Config))
	if err != nil {
		panic(err)
	}
	x := in.(op_cos.Inputs)
	r := map[string]float64{}
	r["TrainStep"] = testing.AllocsPerRun(5, func() { m.TrainStep(x) })
	r["ForwardBackward"] = testing.AllocsPerRun(5, func() { m.Forward(x); m.Backward() })
	r["Predict"] = testing.AllocsPerRun(5, func() { m.Predict(x) })
	return r
}

func allocs_op_powc(cfg, in any) map[string]float64 {
	m, err := op_powc.New(cfg.(op_powc.Config))
	if err != nil {
		panic(err)
	}
	x := in.(op_powc.Inputs)
	r := map[string]float64{}
	r["TrainStep"] = testing.AllocsPerRun(5, func() { m.TrainStep(x) })
	r["ForwardBackward"] = testing.AllocsPerRun(5, func() { m.Forward(x); m.Backward() })
	r["Predict"] = testing.AllocsPerRun(5, func() { m.Predict(x) })
	return r
}

func allocs_op_stop_gradient(cfg, in any) map[string]float64 {
	m, err := op_stop_gradient.New(cfg.(op_stop_gradient.Config))
	if err != nil {
		panic(err)
	}
	x := in.(op_stop_gradient.Inputs)
	r := map[string]float64{}
	r["TrainStep"] = testing.AllocsPerRun(5, func() { m.TrainStep(x) })
	r["ForwardBackward"] = testing.AllocsPerRun(5, func() { m.Forward(x); m.Backward() })
	r["Predict"] = testing.AllocsPerRun(5, func() { m.Predict(x) })
	return r
}

func allocs_op_convert(cfg, in any) map[string]float64 {
	m, err := op_convert.New(cfg.(op_convert.Config))
	if err != nil {
		panic(err)
	}
	x := in.(op_convert.Inputs)
	r := map[string]float64{}
	r["TrainStep"] = testing.AllocsPerRun(5, func() { m.TrainStep(x) })
	r["ForwardBackward"] = testing.AllocsPerRun(5, func() { m.Forward(x); m.Backward() })
	r["Predict"] = testing.AllocsPerRun(5, func() { m.Predict(x) })
	return r
}

func allocs_op_add(cfg, in any) map[string]float64 {
	m, err := op_add.New(cfg.(op_add.Config))
	if err != nil {
		panic(err)
	}
	x := in.(op_add.Inputs)
	r := map[string]float64{}
	r["TrainStep"] = testing.AllocsPerRun(5, func() { m.TrainStep(x) })
	r["ForwardBackward"] = testing.AllocsPerRun(5, func() { m.Forward(x); m.Backward() })
	r["Predict"] = testing.AllocsPerRun(5, func() { m.Predict(x) })
	return r
}

func allocs_op_sub(cfg, in any) map[string]float64 {
	m, err := op_sub.New(cfg.(op_sub.Config))
	if err != nil {
		panic(err)
	}
	x := in.(op_sub.Inputs)
	r := map[string]float64{}
	r["TrainStep"] = testing.AllocsPerRun(5, func() { m.TrainStep(x) })
	r["ForwardBackward"] = testing.AllocsPerRun(5, func() { m.Forward(x); m.Backward() })
	r["Predict"] = testing.AllocsPerRun(5, func() { m.Predict(x) })
	return r
}

func allocs_op_mul(cfg, in any) map[string]float64 {
	m, err := op_mul.New(cfg.(op_mul.Config))
	if err != nil {
		panic(err)
	}
	x := in.(op_mul.Inputs)
	r := map[string]float64{}
	r["TrainStep"] = testing.AllocsPerRun(5, func() { m.TrainStep(x) })
	r["ForwardBackward"] = testing.AllocsPerRun(5, func() { m.Forward(x); m.Backward() })
	r["Predict"] = testing.AllocsPerRun(5, func() { m.Predict(x) })
	return r
}

func allocs_op_div(cfg, in any) map[string]float64 {
	m, err := op_div.New(cfg.(op_div.Config))
	if err != nil {
		panic(err)
	}
	x := in.(op_div.Inputs)
	r := map[string]float64{}
	r["TrainStep"] = testing.AllocsPerRun(5, func() { m.TrainStep(x) })
	r["ForwardBackward"] = testing.AllocsPerRun(5, func() { m.Forward(x); m.Backward() })
	r["Predict"] = testing.AllocsPerRun(5, func() { m.Predict(x) })
	return r
}

func allocs_op_maximum(cfg, in any) map[string]float64 {
	m, err := op_maximum.New(cfg.(op_maximum.Config))
	if err != nil {
		panic(err)
	}
	x := in.(op_maximum.Inputs)
	r := map[string]float64{}
	r["TrainStep"] = testing.AllocsPerRun(5, func() { m.TrainStep(x) })
	r["ForwardBackward"] = testing.AllocsPerRun(5, func() { m.Forward(x); m.Backward() })
	r["Predict"] = testing.AllocsPerRun(5, func() { m.Predict(x) })
	return r
}

func allocs_op_minimum(cfg, in any) map[string]float64 {
	m, err := op_minimum.New(cfg.(op_minimum.Config))
	if err != nil {
		panic(err)
	}
	x := in.(op_minimum.Inputs)
	r := map[string]float64{}
	r["TrainStep"] = testing.AllocsPerRun(5, func() { m.TrainStep(x) })
	r["ForwardBackward"] = testing.AllocsPerRun(5, func() { m.Forward(x); m.Backward() })
	r["Predict"] = testing.AllocsPerRun(5, func() { m.Predict(x) })
	return r
}

func allocs_op_pow(cfg, in any) map[string]float64 {
	m, err := op_pow.New(cfg.(op_pow.Config))
	if err != nil {
		panic(err)
	}
	x := in.(op_pow.Inputs)
	r := map[string]float64{}
	r["TrainStep"] = testing.AllocsPerRun(5, func() { m.TrainStep(x) })
	r["ForwardBackward"] = testing.AllocsPerRun(5, func() { m.Forward(x); m.Backward() })
	r["Predict"] = testing.AllocsPerRun(5, func() { m.Predict(x) })
	return r
}

func allocs_op_eq(cfg, in any) map[string]float64 {
	m, err := op_eq.New(cfg.(op_eq.Config))
	if err != nil {
		panic(err)
	}
	x := in.(op_eq.Inputs)
	r := map[string]float64{}
	r["TrainStep"] = testing.AllocsPerRun(5, func() { m.TrainStep(x) })
	r["ForwardBackward"] = testing.AllocsPerRun(5, func() { m.Forward(x); m.Backward() })
	r["Predict"] = testing.AllocsPerRun(5, func() { m.Predict(x) })
	return r
}

func allocs_op_ne(cfg, in any) map[string]float64 {
	m, err := op_ne.New(cfg.(op_ne.Config))
	if err != nil {
		panic(err)
	}
	x := in.(op_ne.Inputs)
	r := map[string]float64{}
	r["TrainStep"] = testing.AllocsPerRun(5, func() { m.TrainStep(x) })
	r["ForwardBackward"] = testing.AllocsPerRun(5, func() { m.Forward(x); m.Backward() })
	r["Predict"] = testing.AllocsPerRun(5, func() { m.Predict(x) })
	return r
}

func allocs_op_lt(cfg, in any) map[string]float64 {
	m, err := op_lt.New(cfg.(op_lt.Config))
	if err != nil {
		panic(err)
	}
	x := in.(op_lt.Inputs)
	r := map[string]float64{}
	r["TrainStep"] = testing.AllocsPerRun(5, func() { m.TrainStep(x) })
	r["ForwardBackward"] = testing.AllocsPerRun(5, func() { m.Forward(x); m.Backward() })
	r["Predict"] = testing.AllocsPerRun(5, func() { m.Predict(x) })
	return r
}

func allocs_op_le(cfg, in any) map[string]float64 {
	m, err := op_le.New(cfg.(op_le.Config))
	if err != nil {
		panic(err)
	}
	x := in.(op_le.Inputs)
	r := map[string]float64{}
	r["TrainStep"] = testing.AllocsPerRun(5, func() { m.TrainStep(x) })
	r["ForwardBackward"] = testing.AllocsPerRun(5, func() { m.Forward(x); m.Backward() })
	r["Predict"] = testing.AllocsPerRun(5, func() { m.Predict(x) })
	return r
}

func allocs_op_gt(cfg, in any) map[string]float64 {
	m, err := op_gt.New(cfg.(op_gt.Config))
	if err != nil {
		panic(err)
	}
	x := in.(op_gt.Inputs)
	r := map[string]float64{}
	r["TrainStep"] = testing.AllocsPerRun(5, func() { m.TrainStep(x) })
	r["ForwardBackward"] = testing.AllocsPerRun(5, func() { m.Forward(x); m.Backward() })
	r["Predict"] = testing.AllocsPerRun(5, func() { m.Predict(x) })
	return r
}

func allocs_op_ge(cfg, in any) map[string]float64 {
	m, err := op_ge.New(cfg.(op_ge.Config))
	if err != nil {
		panic(err)
	}
	x := in.(op_ge.Inputs)
	r := map[string]float64{}
	r["TrainStep"] = testing.AllocsPerRun(5, func() { m.TrainStep(x) })
	r["ForwardBackward"] = testing.AllocsPerRun(5, func() { m.Forward(x); m.Backward() })
	r["Predict"] = testing.AllocsPerRun(5, func() { m.Predict(x) })
	return r
}

func allocs_op_select(cfg, in any) map[string]float64 {
	m, err := op_select.New(cfg.(op_select.Config))
	if err != nil {
		panic(err)
	}
	x := in.(op_select.Inputs)
	r := map[string]float64{}
	r["TrainStep"] = testing.AllocsPerRun(5, func() { m.TrainStep(x) })
	r["ForwardBackward"] = testing.AllocsPerRun(5, func() { m.Forward(x); m.Backward() })
	r["Predict"] = testing.AllocsPerRun(5, func() { m.Predict(x) })
	return r
}

func allocs_op_bce_logits(cfg, in any) map[string]float64 {
	m, err := op_bce_logits.New(cfg.(op_bce_logits.Config))
	if err != nil {
		panic(err)
	}
	x := in.(op_bce_logits.Inputs)
	r := map[string]float64{}
	r["TrainStep"] = testing.AllocsPerRun(5, func() { m.TrainStep(x) })
	r["ForwardBackward"] = testing.AllocsPerRun(5, func() { m.Forward(x); m.Backward() })
	r["Predict"] = testing.AllocsPerRun(5, func() { m.Predict(x) })
	return r
}

func allocs_op_sum(cfg, in any) map[string]float64 {
	m, err := op_sum.New(cfg.(op_sum.Config))
	if err != nil {
		panic(err)
	}
	x := in.(op_sum.Inputs)
	r := map[string]float64{}
	r["TrainStep"] = testing.AllocsPerRun(5, func() { m.TrainStep(x) })
	r["ForwardBackward"] = testing.AllocsPerRun(5, func() { m.Forward(x); m.Backward() })
	r["Predict"] = testing.AllocsPerRun(5, func() { m.Predict(x) })
	return r
}

func allocs_op_mean(cfg, in any) map[string]float64 {
	m, err := op_mean.New(cfg.(op_mean.Config))
	if err != nil {
		panic(err)
	}
	x := in.(op_mean.Inputs)
	r := map[string]float64{}
	r["TrainStep"] = testing.AllocsPerRun(5, func() { m.TrainStep(x) })
	r["ForwardBackward"] = testing.AllocsPerRun(5, func() { m.Forward(x); m.Backward() })
	r["Predict"] = testing.AllocsPerRun(5, func() { m.Predict(x) })
	return r
}

func allocs_op_max(cfg, in any) map[string]float64 {
	m, err := op_max.New(cfg.(op_max.Config))
	if err != nil {
		panic(err)
	}
	x := in.(op_max.Inputs)
	r := map[string]float64{}
	r["TrainStep"] = testing.AllocsPerRun(5, func() { m.TrainStep(x) })
	r["ForwardBackward"] = testing.AllocsPerRun(5, func() { m.Forward(x); m.Backward() })
	r["Predict"] = testing.AllocsPerRun(5, func() { m.Predict(x) })
	return r
}

func allocs_op_min(cfg, in any) map[string]float64 {
	m, err := op_min.New(cfg.(op_min.Config))
	if err != nil {
		panic(err)
	}
	x := in.(op_min.Inputs)
	r := map[string]float64{}
	r["TrainStep"] = testing.AllocsPerRun(5, func() { m.TrainStep(x) })
	r["ForwardBackward"] = testing.AllocsPerRun(5, func() { m.Forward(x); m.Backward() })
	r["Predict"] = testing.AllocsPerRun(5, func() { m.Predict(x) })
	return r
}

func allocs_op_logsumexp(cfg, in any) map[string]float64 {
	m, err := op_logsumexp.New(cfg.(op_logsumexp.Config))
	if err != nil {
		panic(err)
	}
	x := in.(op_logsumexp.Inputs)
	r := map[string]float64{}
	r["TrainStep"] = testing.AllocsPerRun(5, func() { m.TrainStep(x) })
	r["ForwardBackward"] = testing.AllocsPerRun(5, func() { m.Forward(x); m.Backward() })
	r["Predict"] = testing.AllocsPerRun(5, func() { m.Predict(x) })
	return r
}

func allocs_op_softmax(cfg, in any) map[string]float64 {
	m, err := op_softmax.New(cfg.(op_softmax.Config))
	if err != nil {
		panic(err)
	}
	x := in.(op_softmax.Inputs)
	r := map[string]float64{}
	r["TrainStep"] = testing.AllocsPerRun(5, func() { m.TrainStep(x) })
	r["ForwardBackward"] = testing.AllocsPerRun(5, func() { m.Forward(x); m.Backward() })
	r["Predict"] = testing.AllocsPerRun(5, func() { m.Predict(x) })
	return r
}

func allocs_op_log_softmax(cfg, in any) map[string]float64 {
	m, err := op_log_softmax.New(cfg.(op_log_softmax.Config))
	if err != nil {
		panic(err)
	}
	x := in.(op_log_softmax.Inputs)
	r := map[string]float64{}
	r["TrainStep"] = testing.AllocsPerRun(5, func() { m.TrainStep(x) })
	r["ForwardBackward"] = testing.AllocsPerRun(5, func() { m.Forward(x); m.Backward() })
	r["Predict"] = testing.AllocsPerRun(5, func() { m.Predict(x) })
	return r
}

func allocs_op_argmax(cfg, in any) map[string]float64 {
	m, err := op_argmax.New(cfg.(op_argmax.Config))
	if err != nil {
		panic(err)
	}
	x := in.(op_argmax.Inputs)
	r := map[string]float64{}
	r["TrainStep"] = testing.AllocsPerRun(5, func() { m.TrainStep(x) })
	r["ForwardBackward"] = testing.AllocsPerRun(5, func() { m.Forward(x); m.Backward() })
	r["Predict"] = testing.AllocsPerRun(5, func() { m.Predict(x) })
	return r
}

func allocs_op_softmax_xent(cfg, in any) map[string]float64 {
	m, err := op_softmax_xent.New(cfg.(op_softmax_xent.Config))
	if err != nil {
		panic(err)
	}
	x := in.(op_softmax_xent.Inputs)
	r := map[string]float64{}
	r["TrainStep"] = testing.AllocsPerRun(5, func() { m.TrainStep(x) })
	r["ForwardBackward"] = testing.AllocsPerRun(5, func() { m.Forward(x); m.Backward() })
	r["Predict"] = testing.AllocsPerRun(5, func() { m.Predict(x) })
	return r
}

func allocs_op_matmul(cfg, in any) map[string]float64 {
	m, err := op_matmul.New(cfg.(op_matmul.Config))
	if err != nil {
		panic(err)
	}
	x := in.(op_matmul.Inputs)
	r := map[string]float64{}
	r["TrainStep"] = testing.AllocsPerRun(5, func() { m.TrainStep(x) })
	r["ForwardBackward"] = testing.AllocsPerRun(5, func() { m.Forward(x); m.Backward() })
	r["Predict"] = testing.AllocsPerRun(5, func() { m.Predict(x) })
	return r
}

func allocs_op_bmm(cfg, in any) map[string]float64 {
	m, err := op_bmm.New(cfg.(op_bmm.Config))
	if err != nil {
		panic(err)
	}
	x := in.(op_bmm.Inputs)
	r := map[string]float64{}
	r["TrainStep"] = testing.AllocsPerRun(5, func() { m.TrainStep(x) })
	r["ForwardBackward"] = testing.AllocsPerRun(5, func() { m.Forward(x); m.Backward() })
	r["Predict"] = testing.AllocsPerRun(5, func() { m.Predict(x) })
	return r
}

func allocs_op_movement(cfg, in any) map[string]float64 {
	m, err := op_movement.New(cfg.(op_movement.Config))
	if err != nil {
		panic(err)
	}
	x := in.(op_movement.Inputs)
	r := map[string]float64{}
	r["TrainStep"] = testing.AllocsPerRun(5, func() { m.TrainStep(x) })
	r["ForwardBackward"] = testing.AllocsPerRun(5, func() { m.Forward(x); m.Backward() })
	r["Predict"] = testing.AllocsPerRun(5, func() { m.Predict(x) })
	return r
}

func allocs_op_pad(cfg, in any) map[string]float64 {
	m, err := op_pad.New(cfg.(op_pad.Config))
	if err != nil {
		panic(err)
	}
	x := in.(op_pad.Inputs)
	r := map[string]float64{}
	r["TrainStep"] = testing.AllocsPerRun(5, func() { m.TrainStep(x) })
	r["ForwardBackward"] = testing.AllocsPerRun(5, func() { m.Forward(x); m.Backward() })
	r["Predict"] = testing.AllocsPerRun(5, func() { m.Predict(x) })
	return r
}

func allocs_op_gather(cfg, in any) map[string]float64 {
	m, err := op_gather.New(cfg.(op_gather.Config))
	if err != nil {
		panic(err)
	}
	x := in.(op_gather.Inputs)
	r := map[string]float64{}
	r["TrainStep"] = testing.AllocsPerRun(5, func() { m.TrainStep(x) })
	r["ForwardBackward"] = testing.AllocsPerRun(5, func() { m.Forward(x); m.Backward() })
	r["Predict"] = testing.AllocsPerRun(5, func() { m.Predict(x) })
	return r
}

func allocs_op_misc(cfg, in any) map[string]float64 {
	m, err := op_misc.New(cfg.(op_misc.Config))
	if err != nil {
		panic(err)
	}
	x := in.(op_misc.Inputs)
	r := map[string]float64{}
	r["TrainStep"] = testing.AllocsPerRun(5, func() { m.TrainStep(x) })
	r["ForwardBackward"] = testing.AllocsPerRun(5, func() { m.Forward(x); m.Backward() })
	r["Predict"] = testing.AllocsPerRun(5, func() { m.Predict(x) })
	return r
}

func allocs_mlp64(cfg, in any) map[string]float64 {
	m, err := mlp64.New(cfg.(mlp64.Config))
	if err != nil {
		panic(err)
	}
	x := in.(mlp64.Inputs)
	r := map[string]float64{}
	r["TrainStep"] = testing.AllocsPerRun(5, func() { m.TrainStep(x) })
	r["ForwardBackward"] = testing.AllocsPerRun(5, func() { m.Forward(x); m.Backward() })
	r["Predict"] = testing.AllocsPerRun(5, func() { m.Predict(x) })
	return r
}

func allocs_mlp32(cfg, in any) map[string]float64 {
	m, err := mlp32.New(cfg.(mlp32.Config))
	if err != nil {
		panic(err)
	}
	x := in.(mlp32.Inputs)
	r := map[string]float64{}
	r["TrainStep"] = testing.AllocsPerRun(5, func() { m.TrainStep(x) })
	r["ForwardBackward"] = testing.AllocsPerRun(5, func() { m.Forward(x); m.Backward() })
	r["Predict"] = testing.AllocsPerRun(5, func() { m.Predict(x) })
	return r
}

func allocs_deep32(cfg, in any) map[string]float64 {
	m, err := deep32.New(cfg.(deep32.Config))
	if err != nil {
		panic(err)
	}
	x := in.(deep32.Inputs)
	r := map[string]float64{}
	r["TrainStep"] = testing.AllocsPerRun(5, func() { m.TrainStep(x) })
	r["ForwardBackward"] = testing.AllocsPerRun(5, func() { m.Forward(x); m.Backward() })
	r["Predict"] = testing.AllocsPerRun(5, func() { m.Predict(x) })
	return r
}

func allocs_deep64(cfg, in any) map[string]float64 {
	m, err := deep64.New(cfg.(deep64.Config))
	if err != nil {
		panic(err)
	}
	x := in.(deep64.Inputs)
	r := map[string]float64{}
	r["TrainStep"] = testing.AllocsPerRun(5, func() { m.TrainStep(x) })
	r["ForwardBackward"] = testing.AllocsPerRun(5, func() { m.Forward(x); m.Backward() })
	r["Predict"] = testing.AllocsPerRun(5, func() { m.Predict(x) })
	return r
}

func allocs_composite64(cfg, in any) map[string]float64 {
	m, err := composite64.New(cfg.(composite64.Config))
	if err != nil {
		panic(err)
	}
	x := in.(composite64.Inputs)
	r := map[string]float64{}
	r["TrainStep"] = testing.AllocsPerRun(5, func() { m.TrainStep(x) })
	r["ForwardBackward"] = testing.AllocsPerRun(5, func() { m.Forward(x); m.Backward() })
	r["Predict"] = testing.AllocsPerRun(5, func() { m.Predict(x) })
	return r
}

func allocs_composite32(cfg, in any) map[string]float64 {
	m, err := composite32.New(cfg.(composite32.Config))
	if err != nil {
		panic(err)
	}
	x := in.(composite32.Inputs)
	r := map[string]float64{}
	r["TrainStep"] = testing.AllocsPerRun(5, func() { m.TrainStep(x) })
	r["ForwardBackward"] = testing.AllocsPerRun(5, func() { m.Forward(x); m.Backward() })
	r["Predict"] = testing.AllocsPerRun(5, func() { m.Predict(x) })
	return r
}

// Package bench holds codegen's train-step benchmarks (BenchmarkTrainStep,
// BenchmarkTrainStepGemm, BenchmarkTrainStepAccumulate,
// BenchmarkTrainStepLeNet, BenchmarkTransformerBlock), their hand-written
// baselines, and the packages generated from the models of
// codegen/internal/benchmodels that they time (s, m, l, …, lenet, t, t0;
// checked in, and kept fresh by codegen's TestBenchModelsFresh,
// TestBenchLeNetFresh and TestTransformerBenchModelsFresh).
//
// It is a module of its own (go.mod: a replace directive to the
// repository) under testdata, so that `go vet ./...` and `go test ./...` of
// the repository do not compile about 20k lines of generated code. Run its
// benchmarks from the repository's root with -C (the first flag):
//
//	go test -C codegen/testdata/bench -run='^$' -bench='TrainStep$/(M|L)/passes=on' .
//	go test -C codegen/testdata/bench ./...   # the baselines' tests, distbench's
//
// and build the data-parallel benchmark with
//
//	go build -C codegen/testdata/bench -tags mpi -o /tmp/distbench ./distbench
package bench

package benchmodels

//go:generate go test -C ../.. -run ^TestBenchLeNetFresh$ -update

// LeNetBatch is the batch of the LeNet benchmark: the LeNet-5 of
// examples/models (D2L §7.6 with ReLU and max-pooling, float32), whose
// packages generated with every pass on and every optional pass off are
// checked in under codegen/testdata/bench/lenet and lenet0
// (TestBenchLeNetFresh in codegen).
const LeNetBatch = 256

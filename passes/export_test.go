package passes

// Test hooks for the external test package (passes_test), whose random
// graph generator feeds the pipeline fuzzer (fuzz_test.go).

// SameSemantics compares two joint graphs under the interpreter on random
// inputs, in training and inference mode.
var SameSemantics = sameSemantics

// ProgramSemantics runs a lowered program kernel by kernel in its planned
// arena and compares it with the joint graph want.
var ProgramSemantics = programSemantics

// PassCombos are the subsets of optional passes the pipeline tests turn off.
var PassCombos = passCombos

// CountOps is the number of values of a graph computed by an op.
var CountOps = countOps

// Package cputime reads the CPU time of the process, which benchmarks on a
// shared, loaded machine report next to wall time (runtime/kernels'
// BenchmarkGemmTable, codegen's BenchmarkCompile): it does not count time
// spent waiting for a core.
package cputime

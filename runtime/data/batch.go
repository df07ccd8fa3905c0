package data

import (
	"fmt"
	"math/rand/v2"
)

// Batcher iterates over the indices 0…n-1 of a data set in mini-batches,
// one epoch at a time. With shuffle on, each epoch visits the examples in a
// permutation derived only from the seed and the epoch number (PCG from
// math/rand/v2), so runs are reproducible. Next does not allocate.
type Batcher struct {
	// DropLast skips the final batch of an epoch when it has fewer than
	// batchSize examples.
	DropLast bool

	n, batchSize int
	shuffle      bool
	seed         uint64
	epoch        int
	pos          int
	perm         []int
	pcg          rand.PCG
	rng          *rand.Rand
}

// NewBatcher returns a Batcher over n examples in batches of batchSize,
// positioned at the start of epoch 0. It panics if n < 0 or batchSize < 1.
func NewBatcher(n, batchSize int, shuffle bool, seed uint64) *Batcher {
	if n < 0 {
		panic(fmt.Sprintf("data.NewBatcher: n must be >= 0, found %d", n))
	}
	if batchSize < 1 {
		panic(fmt.Sprintf("data.NewBatcher: batchSize must be >= 1, found %d", batchSize))
	}
	b := &Batcher{n: n, batchSize: batchSize, shuffle: shuffle, seed: seed, perm: make([]int, n)}
	b.rng = rand.New(&b.pcg)
	b.permute()
	return b
}

func (b *Batcher) permute() {
	for i := range b.perm {
		b.perm[i] = i
	}
	if b.shuffle {
		b.pcg.Seed(b.seed, uint64(b.epoch))
		b.rng.Shuffle(len(b.perm), func(i, j int) { b.perm[i], b.perm[j] = b.perm[j], b.perm[i] })
	}
	b.pos = 0
}

// Next returns the indices of the next batch of the current epoch, and
// false when the epoch is over. The returned slice is owned by the Batcher
// and valid until Reset; do not modify it. The last batch may be shorter
// than batchSize unless DropLast is set.
func (b *Batcher) Next() (idx []int, ok bool) {
	rest := b.n - b.pos
	if rest <= 0 || (b.DropLast && rest < b.batchSize) {
		return nil, false
	}
	k := min(rest, b.batchSize)
	idx = b.perm[b.pos : b.pos+k : b.pos+k]
	b.pos += k
	return idx, true
}

// Reset starts the next epoch, with a new permutation when shuffling.
func (b *Batcher) Reset() {
	b.epoch++
	b.permute()
}

// Epoch returns the current epoch number, starting at 0.
func (b *Batcher) Epoch() int { return b.epoch }

// NumBatches returns how many batches Next yields per epoch.
func (b *Batcher) NumBatches() int {
	if b.DropLast {
		return b.n / b.batchSize
	}
	return (b.n + b.batchSize - 1) / b.batchSize
}

// GatherRows copies rows idx[0], idx[1], … of the row-major matrix src
// (rows of rowLen elements) into consecutive rows of dst. It panics if dst
// holds fewer than len(idx) rows or an index is out of range.
func GatherRows[T any](dst, src []T, rowLen int, idx []int) {
	if len(dst) < len(idx)*rowLen {
		panic(fmt.Sprintf("data.GatherRows: dst has %d elements, expected at least %d (%d rows of %d)", len(dst), len(idx)*rowLen, len(idx), rowLen))
	}
	rows := 0
	if rowLen > 0 {
		rows = len(src) / rowLen
	}
	for k, i := range idx {
		if i < 0 || i >= rows {
			panic(fmt.Sprintf("data.GatherRows: index %d is out of range; src has %d rows of %d", i, rows, rowLen))
		}
		copy(dst[k*rowLen:(k+1)*rowLen], src[i*rowLen:(i+1)*rowLen])
	}
}

// GatherLabels sets dst[k] = src[idx[k]] for every k. It panics if dst is
// shorter than idx or an index is out of range.
func GatherLabels(dst, src []int32, idx []int) {
	if len(dst) < len(idx) {
		panic(fmt.Sprintf("data.GatherLabels: dst has %d elements, expected at least %d (len(idx))", len(dst), len(idx)))
	}
	for k, i := range idx {
		if i < 0 || i >= len(src) {
			panic(fmt.Sprintf("data.GatherLabels: index %d is out of range; src has %d labels", i, len(src)))
		}
		dst[k] = src[i]
	}
}

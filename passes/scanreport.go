package passes

import (
	"fmt"
	"math"
	"strings"

	"github.com/bpgen/bpgen/ir"
)

// ScanMemory is what the backward of one differentiated scan keeps of its
// forward: the carries entering the steps (the backward body recomputes
// the rest of each step from them). Without checkpointing they are all T
// of them, a sequence saved by a forward loop; checkpointed every k
// steps, ⌈T/k⌉ checkpoints and one segment of min(k, T) recomputed
// carries, in the backward scan's scratch.
type ScanMemory struct {
	Body       string // the scan body func
	Pos        string // where the scan is in the model
	Length     ir.Dim // T
	Checkpoint int    // k; 0 if every carry is saved
	// Carry is one step's carries' bytes.
	Carry Size
	// Formula is the bytes kept as a function of T and the other dims;
	// Bytes that at the capacity. Plain and PlainBytes are the same
	// without checkpointing (T carries), for comparison.
	Formula, Plain    string
	Bytes, PlainBytes int64
	// Suggest is the k nearest √T at the capacity, and SuggestBytes the
	// bytes it would keep (for a scan without checkpointing).
	Suggest      int
	SuggestBytes int64
}

// scanMemory measures the saved carries of p's differentiated scans: the
// remat-form backward scans (checkpointed) and the saving loops (their
// func is ir.ScanSavedFunc of the body).
func scanMemory(p *Program) []ScanMemory {
	g := p.Graph
	capacity := p.Plan.Capacity
	var r []ScanMemory
	seen := map[string]bool{}
	for _, v := range g.Values {
		if v.Op != ir.OpScan {
			continue
		}
		var m ScanMemory
		switch {
		case v.Attrs.Int("saved") > 0:
			m.Body, m.Checkpoint = v.Attrs.Str("remat"), v.Attrs.Int("checkpoint")
			nc := v.Attrs.Int("carries")
			for _, c := range v.Args[nc : nc+v.Attrs.Int("saved")] {
				m.Carry = m.Carry.Add(ValueBytes(c))
			}
		case strings.HasSuffix(v.Attrs.Str("fn"), ir.ScanSavedSuffix):
			m.Body = strings.TrimSuffix(v.Attrs.Str("fn"), ir.ScanSavedSuffix)
			for i := range v.Attrs.Int("carries") {
				m.Carry = m.Carry.Add(ValueBytes(v.Args[i]))
			}
		default:
			continue
		}
		if seen[m.Body] {
			continue
		}
		seen[m.Body] = true
		m.Pos, m.Length = v.Pos.String(), ir.ScanLength(v)
		T := int64(dimCapacityOf(m.Length, capacity))
		c := m.Carry.Eval(capacity)
		kept := func(k int64) int64 { return ((T+k-1)/k + min(k, T)) * c }
		t := m.Length.String()
		m.Plain, m.PlainBytes = scaled(t, m.Carry), T*c
		if k := m.Checkpoint; k > 0 {
			m.Formula, m.Bytes = scaled(fmt.Sprintf("(⌈%s/%d⌉ + %s)", t, k, minText(k, m.Length)), m.Carry), kept(int64(k))
		} else {
			m.Formula, m.Bytes = m.Plain, m.PlainBytes
			m.Suggest = max(1, int(math.Round(math.Sqrt(float64(T)))))
			m.SuggestBytes = kept(int64(m.Suggest))
		}
		r = append(r, m)
	}
	return r
}

// dimCapacityOf is d's size at the capacity.
func dimCapacityOf(d ir.Dim, capacity map[string]int) int {
	n, syms := d.Factors()
	for _, s := range syms {
		n *= dimCapacity(capacity, s)
	}
	return n
}

// minText is min(k, T) as text: k when T is static and at least k.
func minText(k int, T ir.Dim) string {
	if T.IsStatic() {
		return fmt.Sprint(min(k, T.N))
	}
	return fmt.Sprintf("min(%d, %s)", k, T)
}

// scaled is count × size as text.
func scaled(count string, size Size) string { return count + " × " + size.String() }

func (m ScanMemory) String() string {
	s := fmt.Sprintf("scan %s (%s), %v steps: ", m.Body, m.Pos, m.Length)
	if m.Checkpoint > 0 {
		return s + fmt.Sprintf("checkpointed every %d steps, keeps carries of %s bytes (%d B at capacity); every carry would be %s bytes (%d B)",
			m.Checkpoint, m.Formula, m.Bytes, m.Plain, m.PlainBytes)
	}
	return s + fmt.Sprintf("saves carries of %s bytes (%d B at capacity); checkpointing every k steps (dsl.Checkpoint, -scan-checkpoint) keeps (⌈%v/k⌉ + min(k, %v)) × %s: %d B at k = %d",
		m.Formula, m.Bytes, m.Length, m.Length, m.Carry, m.SuggestBytes, m.Suggest)
}

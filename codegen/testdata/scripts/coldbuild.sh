#!/bin/bash
# coldbuild.sh REPO LAYERS TAG: issue 14's cold-build measurement. It writes
# the deep, narrow model of issue 14 (LAYERS layers of a 16×16 matmul, bias,
# tanh, scale and residual add) into the checkout REPO, compiles it with that
# checkout's bpgen (timed), and times a cold `go build` of the generated
# package: runtime packages pre-built, a fresh GOCACHE. It removes what it
# wrote. Compare two checkouts (e.g. a `git worktree add` of an older commit
# and this one) with the same LAYERS:
#
#	codegen/testdata/scripts/coldbuild.sh /path/to/old 1700 old
#	codegen/testdata/scripts/coldbuild.sh "$PWD" 1700 new
set -e
REPO=$1; L=$2; TAG=$3
cd $REPO
mkdir -p examples/cbdeep
cat > examples/cbdeep/deep.go <<EOG
package cbdeep

import (
	"fmt"

	"github.com/bpgen/bpgen/dsl"
)

func Deep(g *dsl.Graph) {
	n := g.Dim("n")
	x := g.Input("x", dsl.Float32, n, 16)
	y := g.Labels("y", n)
	h := x
	for i := range $L {
		W := g.Param(fmt.Sprintf("W%d", i), 16, 16)
		b := g.Param(fmt.Sprintf("b%d", i), 16)
		h = h.Add(dsl.Tanh(h.MatMul(W).Add(b)).Mul(0.5))
	}
	L := dsl.SoftmaxCrossEntropy(h, y).Mean()
	g.Output("loss", L)
	g.Minimize(L)
}
EOG
rm -rf /tmp/cbout-$TAG
go build -o /tmp/bpgen-$TAG ./cmd/bpgen
/usr/bin/time -f "bpgen %e s wall %U user" /tmp/bpgen-$TAG -func Deep -out /tmp/cbout-$TAG/deep ./examples/cbdeep 2>&1 | tail -2
mkdir -p $REPO/examples/cbdeepgen && rm -rf $REPO/examples/cbdeepgen/* && cp /tmp/cbout-$TAG/deep/*.go $REPO/examples/cbdeepgen/
echo "bytes: $(cat $REPO/examples/cbdeepgen/*.go | wc -c)"
export GOCACHE=/tmp/gocache-$TAG; rm -rf $GOCACHE
go build ./runtime/... 
/usr/bin/time -f "cold build %e s wall %U user %S sys" go build ./examples/cbdeepgen 2>&1 | tail -1
rm -rf examples/cbdeep examples/cbdeepgen $GOCACHE

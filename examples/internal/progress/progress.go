// Package progress is what the training examples show while they run and
// draw when they end: a progress bar per epoch on a terminal, and the loss
// and test-error curves as a PNG.
package progress

import (
	"fmt"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// Bar is a progress bar of steps batches for one epoch on stderr, or nil
// (which Step accepts) when quiet or when stderr is not a terminal.
type Bar struct{ b *progressbar.ProgressBar }

// NewBar starts the bar of epoch (of epochs) with steps batches.
func NewBar(epoch, epochs, steps int, quiet bool) *Bar {
	if quiet || !IsTerminal(os.Stderr) {
		return nil
	}
	return &Bar{progressbar.NewOptions(steps,
		progressbar.OptionSetWriter(os.Stderr), progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetDescription(fmt.Sprintf("epoch %2d/%d", epoch, epochs)),
		progressbar.OptionShowCount(), progressbar.OptionSetWidth(30), progressbar.OptionClearOnFinish())}
}

// Step advances the bar by one batch.
func (b *Bar) Step() {
	if b != nil {
		b.b.Add(1)
	}
}

// PlotCurves draws the training loss, the validation loss (if valLoss is
// not nil) and the test error (1 − accuracy) by epoch, on a log scale, to
// the PNG file path.
func PlotCurves(path, title string, loss, valLoss, acc plotter.XYs) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "epoch"
	p.Y.Label.Text = "loss / test error"
	errPts := make(plotter.XYs, len(acc))
	for i, a := range acc {
		errPts[i] = plotter.XY{X: a.X, Y: 1 - a.Y}
	}
	l1, err := plotter.NewLine(loss)
	if err != nil {
		return err
	}
	l1.Color = plotter.DefaultLineStyle.Color
	l2, err := plotter.NewLine(errPts)
	if err != nil {
		return err
	}
	l2.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(l1, l2, plotter.NewGrid())
	p.Legend.Add("train loss", l1)
	if valLoss != nil {
		l3, err := plotter.NewLine(valLoss)
		if err != nil {
			return err
		}
		l3.Color = plotutil.Color(1)
		p.Add(l3)
		p.Legend.Add("validation loss (Evaluate)", l3)
	}
	p.Legend.Add("test error (1 − accuracy)", l2)
	p.Legend.Top = true
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{}
	return p.Save(6*vg.Inch, 4*vg.Inch, path)
}

// IsTerminal reports whether f is a character device (a terminal): the
// progress bar redraws itself with \r, which only makes sense there.
func IsTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

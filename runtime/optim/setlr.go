package optim

import (
	"fmt"
	"math"
)

// SetLR sets the learning rate of the steps to come (a schedule calls it
// between steps); the optimizer's state (momentum, Adam's moments and
// step count) is kept. lr must be positive and finite; otherwise SetLR
// returns an error naming where and changes nothing.
func (o *Flat[T]) SetLR(where string, lr float64) error {
	if math.IsNaN(lr) || math.IsInf(lr, 0) || lr <= 0 {
		return fmt.Errorf("%s: learning rate %v; it must be positive and finite", where, lr)
	}
	o.cfg.LR = lr
	o.sgdU.LR = T(lr)
	o.adamU.LR = T(lr)
	return nil
}

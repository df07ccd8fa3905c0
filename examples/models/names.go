package models

import "strconv"

// layerName is p followed by the layer number i (W1, …, W10, …). It lives
// in a file of its own so that the model file's lines, which generated code
// and goldens cite, do not move.
func layerName(p string, i int) string { return p + strconv.Itoa(i) }

//go:build !amd64

package rt

// There are no pooling kernels on this architecture: the Go loops run.
func pool2x2Asm[T Float](p *Pool) bool { return false }

func maxPool2x2Plane[T Float](out, x []T, p *Pool) { panic("rt: no pooling kernel") }

func maxPool2x2GradPlane[T Float](dst, x, g []T, p *Pool) { panic("rt: no pooling kernel") }

package dsl

// ParamOption is an option of Graph.Param other than its dims, its Init
// and its DType.
type ParamOption struct{ attr string }

// NoDecay excludes a param from the optimizer's weight decay
// (Config.Optimizer.WeightDecay of the generated model), as a PyTorch
// parameter group with weight_decay=0 does; biases and normalization
// scales usually are:
//
//	b := g.Param("b1", 256, dsl.NoDecay)
//
// The model's objective is unchanged (an explicit penalty term in the
// objective is the model's own); only the optimizer's decay skips it.
// The generated Config can also exclude params by name at run time
// (optim.Config.NoDecay).
var NoDecay = ParamOption{"no_decay"}

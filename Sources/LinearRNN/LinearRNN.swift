@_exported import LRNNLinearAlgebra
@_exported import LRNNKernels
@_exported import LRNNModels

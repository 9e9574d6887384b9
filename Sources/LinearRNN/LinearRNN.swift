@_exported import LRNNKernels
@_exported import LRNNLinearAlgebra
@_exported import LRNNModels
@_exported import LRNNTokenizers
@_exported import LRNNTraining

import ComplexModule
import LRNNLinearAlgebra

extension S5 {
    /// Everything an S5 call differentiates: the input sequence, the layer's parameters and the
    /// initial state; returned by the backward pass, their gradients (the same fields).
    ///
    /// Shapes: `u` `[B, T, H]`; ``S5Parameters`` (`lambdaRe, lambdaIm, logStep [P]`, `bRe, bIm
    /// [P, H]`, `cRe, cIm [H, P]`, `d [H]`; `conjugateSymmetric` is a constant); `initialState`
    /// `[N, P]` complex (N = B, or the number of ``/LRNNLinearAlgebra/SequenceBoundaries`` sequences), or nil for zeros.
    /// As a gradient, every parameter field holds the real partial derivative with respect to that
    /// real input (`logStep` in log space), and `initialState` holds dL/d(Re x0) + i·dL/d(Im x0),
    /// present exactly when it was in the inputs.
    ///
    /// `Sendable`: a value of tensors.
    ///
    /// Source: S5 (Smith et al. 2023), the diagonalised MIMO layer's parameters.
    public struct Inputs<T: LRNNScalar>: Sendable {
        /// The input sequence `[B, T, H]` (a gradient: dL/du).
        public var u: Tensor<T>
        /// The layer's parameters (a gradient: dL/d of each parameter tensor).
        public var parameters: S5Parameters<T>
        /// Initial states `[N, P]`, or nil for zeros (a gradient: dL/dRe + i·dL/dIm).
        public var initialState: Tensor<Complex<T>>?

        /// The inputs (or gradients) of one call.
        public init(u: Tensor<T>, parameters: S5Parameters<T>, initialState: Tensor<Complex<T>>? = nil) {
            self.u = u
            self.parameters = parameters
            self.initialState = initialState
        }
    }
}

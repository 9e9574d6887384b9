import ComplexModule
import LRNNLinearAlgebra

extension S4D {
    /// Everything an S4D convolution differentiates: the input sequence, the layer's parameters
    /// and the initial state; returned by the backward pass, their gradients (the same fields).
    ///
    /// Shapes: `u` `[B, T, H]`; ``S4DParameters`` (`logDt [H]`, `aRe, aIm, bRe, bIm, cRe, cIm
    /// [H, N2]`, `d [H]`); `initialState` `[N, H, N2]` complex (N = B, or the number of
    /// ``/LRNNLinearAlgebra/SequenceBoundaries`` sequences), or nil for zeros. As a gradient, every parameter field holds
    /// the real partial derivative with respect to that real input (dL/d(A_re), dL/d(A_im), …;
    /// `logDt` in log space), and `initialState` holds dL/d(Re x0) + i·dL/d(Im x0), present exactly
    /// when it was in the inputs.
    ///
    /// `Sendable`: a value of tensors.
    ///
    /// Source: S4D (Gu et al. 2022), the diagonal state-space layer's parameters.
    public struct Inputs<T: LRNNScalar>: Sendable {
        /// The input sequence `[B, T, H]` (a gradient: dL/du).
        public var u: Tensor<T>
        /// The layer's parameters (a gradient: dL/d of each parameter tensor).
        public var parameters: S4DParameters<T>
        /// Initial states `[N, H, N2]`, or nil for zeros (a gradient: dL/dRe + i·dL/dIm).
        public var initialState: Tensor<Complex<T>>?

        /// The inputs (or gradients) of one call.
        public init(u: Tensor<T>, parameters: S4DParameters<T>, initialState: Tensor<Complex<T>>? = nil) {
            self.u = u
            self.parameters = parameters
            self.initialState = initialState
        }
    }
}

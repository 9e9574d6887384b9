import LRNNLinearAlgebra

extension Tensor where Scalar: AdditiveArithmetic {
    /// Overwrites every element with the matching element of `initial`, or with zero when `initial`
    /// is nil: how a kernel's `output:finalState:` form starts its caller-owned state buffer.
    /// - Precondition: `initial`, when given, has as many elements (callers check its shape first).
    mutating func resetState(from initial: Tensor<Scalar>?) {
        withUnsafeMutableBufferPointer { state in
            if let initial {
                precondition(initial.count == state.count, "resetState: \(initial.count) elements for \(state.count)")
                initial.withUnsafeBufferPointer { source in _ = state.update(fromContentsOf: source) }
            } else {
                state.update(repeating: .zero)
            }
        }
    }
}

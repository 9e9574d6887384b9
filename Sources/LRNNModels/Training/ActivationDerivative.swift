import LRNNLinearAlgebra
import RealModule

extension Activation {
    /// The derivative at one point: silu′ = σ(x)·(1 + x·(1 − σ(x))), σ′ = σ(1 − σ),
    /// relu′ = [x > 0], (elu + 1)′ = 1 for x > 0 else eˣ, tanh′ = 1 − tanh², gelu′ = Φ(x) + x·φ(x)
    /// (PyTorch's derivatives; relu′(0) = 0 as PyTorch takes it).
    ///
    /// - Parameter x: the argument (the pre-activation value).
    @inlinable
    func derivative<T: LRNNScalar>(_ x: T) -> T {
        switch self {
        case .identity: return 1
        case .silu:
            let s = 1 / (1 + T.exp(-x))
            return s * (1 + x * (1 - s))
        case .sigmoid:
            let s = 1 / (1 + T.exp(-x))
            return s * (1 - s)
        case .relu: return x > 0 ? 1 : 0
        case .eluPlusOne: return x > 0 ? 1 : T.exp(x)
        case .tanh:
            let t = T.tanh(x)
            return 1 - t * t
        case .gelu:
            let phi = T.exp(-x * x / 2) / (2 * T.pi).squareRoot()
            return (1 + T.erf(x / T(2).squareRoot())) / 2 + x * phi
        }
    }

    /// `dz = dy ⊙ act′(z)` elementwise, split over the workers when large.
    ///
    /// - Parameters:
    ///   - z: the pre-activation values.
    ///   - dy: the gradient of the activation's output, same count as `z`.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func backward<T: LRNNScalar>(preActivation z: Tensor<T>, outputGradient dy: Tensor<T>) -> Tensor<T> {
        precondition(z.count == dy.count, "Activation backward: z \(z.shape) vs dy \(dy.shape)")
        if self == .identity { return dy }
        var dz = dy
        let n = z.count
        z.withUnsafeBufferPointer { zb in
            dz.withUnsafeMutableBufferPointer { db in
                let zp = zb.baseAddress!
                let dp = db.baseAddress!
                parallelRanges(n, unitCost: 20) { range in
                    for i in range { dp[i] *= self.derivative(zp[i]) }
                }
            }
        }
        return dz
    }
}

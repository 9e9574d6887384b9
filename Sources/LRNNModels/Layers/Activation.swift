import LRNNLinearAlgebra
import RealModule

/// The pointwise functions the layers use, each applied in place to a buffer.
public enum Activation: String, Sendable, Equatable, CaseIterable {
    /// `x`.
    case identity
    /// `silu(x) = x·σ(x)` (fla's `swish`).
    case silu
    /// `σ(x) = 1 / (1 + e^{−x})`.
    case sigmoid
    /// `max(x, 0)`.
    case relu
    /// `elu(x) + 1` (fla's `elu_p1`: `x + 1` for x > 0, `e^x` otherwise).
    case eluPlusOne
    /// `tanh(x)`.
    case tanh
    /// `gelu(x) = x·Φ(x) = x·(1 + erf(x/√2))/2` (exact form).
    case gelu

    /// The function at one point.
    ///
    /// - Parameter x: the argument.
    @inlinable
    public func callAsFunction<T: LRNNScalar>(_ x: T) -> T {
        switch self {
        case .identity: x
        case .silu: x / (1 + T.exp(-x))
        case .sigmoid: 1 / (1 + T.exp(-x))
        case .relu: x > 0 ? x : 0
        case .eluPlusOne: x > 0 ? x + 1 : T.exp(x)
        case .tanh: T.tanh(x)
        case .gelu: x * ((1 + T.erf(x / T(2).squareRoot())) / 2)  // Φ first: x·2 overflows near the largest finite x
        }
    }

    /// Applies the function in place to `n` elements (split over the workers when large).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    @usableFromInline
    func apply<T: LRNNScalar>(_ x: UnsafeMutablePointer<T>, count n: Int) {
        if self == .identity { return }
        parallelRanges(n, unitCost: 20) { range in
            switch self {
            case .identity: return
            case .silu: for i in range { x[i] = x[i] / (1 + T.exp(-x[i])) }
            case .sigmoid: for i in range { x[i] = 1 / (1 + T.exp(-x[i])) }
            default: for i in range { x[i] = self(x[i]) }
            }
        }
    }

    /// Applies the function in place to every element of `x`.
    ///
    /// - Parameter x: the tensor, overwritten with the results.
    @inlinable
    public func apply<T: LRNNScalar>(_ x: inout Tensor<T>) {
        let n = x.count
        x.withUnsafeMutableBufferPointer { apply($0.baseAddress!, count: n) }
    }
}

/// `softplus(x) = log(1 + e^x)`, evaluated without overflow.
@inlinable
func softplus<T: LRNNScalar>(_ x: T) -> T {
    x > 0 ? x + T.log(onePlus: T.exp(-x)) : T.log(onePlus: T.exp(x))
}

/// `log(softplus(x))`, finite for every finite x: below −20, softplus(x) = e^x·(1 − e^x/2 + …)
/// underflows for very negative x while its logarithm is x − e^x/2 to well below one ulp.
@inlinable
func logSoftplus<T: LRNNScalar>(_ x: T) -> T {
    x < -20 ? x - T.exp(x) / 2 : T.log(softplus(x))
}

/// The log decay `g = −exp(aLog)·softplus(x)` of Gated DeltaNet and DeltaProduct, without 0·∞.
///
/// The product is taken directly when exp(aLog) is finite and softplus(x) is normal (the form fla
/// computes); otherwise in log space, `−exp(aLog + log softplus(x))`, which is the same number without
/// the intermediate overflow or underflow: a huge rate times a tiny softplus gives the (small) product
/// that Float64 gives, and a huge rate times a moderate softplus gives −∞ — a decay that is 0, which the
/// kernels take as a reset of the state, as they take Float64's very negative finite value.
@inlinable
func gatedLogDecay<T: LRNNScalar>(aLog: T, _ x: T) -> T {
    let rate = T.exp(aLog)
    let sp = softplus(x)
    if rate.isFinite && sp >= T.leastNormalMagnitude { return -(rate * sp) }
    return -T.exp(aLog + logSoftplus(x))
}

/// `logsigmoid(x) = −softplus(−x)`.
@inlinable
func logSigmoid<T: LRNNScalar>(_ x: T) -> T { -softplus(-x) }

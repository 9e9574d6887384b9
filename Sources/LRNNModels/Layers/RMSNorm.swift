import LRNNLinearAlgebra

/// Root-mean-square normalisation over the last dimension:
/// `y = x / √(mean(x²) + ε) · w` (checkpoint keys `…norm.weight`).
///
/// A ``ParameterContainer`` with the parameter `weight` (ones when built in code), when present.
public struct RMSNorm<T: LRNNScalar>: Sendable, ParameterContainer {
    /// `weight [d]`, or nil for a norm without an elementwise weight.
    public internal(set) var weight: Tensor<T>?
    /// The normalised width.
    public let dimension: Int
    /// ε inside the square root.
    public let eps: T

    /// Creates a norm over `dimension` features.
    /// - Parameters:
    ///   - weight: the per-feature gain `[dimension]`, or nil for none.
    ///   - dimension: the number of features normalised together.
    ///   - eps: ε added to the mean square.
    /// - Precondition: a weight, when given, has shape `[dimension]`.
    public init(weight: Tensor<T>?, dimension: Int, eps: T) {
        precondition(weight == nil || weight!.shape == [dimension], "RMSNorm: weight \(weight!.shape) vs \(dimension)")
        self.weight = weight
        self.dimension = dimension
        self.eps = eps
    }

    /// A norm whose weight (when it has one) a ``ParameterWalk`` supplies (empty until then).
    init(dimension: Int, eps: T, hasWeight: Bool = true) {
        self.weight = hasWeight ? Tensor(zeros: [0]) : nil
        self.dimension = dimension
        self.eps = eps
    }

    /// `weight [dimension]`, when the norm has one.
    ///
    /// - Parameter walk: the walk.
    /// - Throws: as ``ParameterWalk/parameter(_:_:shape:initializer:)``.
    public mutating func walkParameters(_ walk: inout ParameterWalk<T>) throws(ModelLoadError) {
        if weight != nil { try walk.parameter("weight", &weight!, shape: [dimension], initializer: .ones) }
    }

    /// Normalises every row of `x [rows, …, d]` (groups of `dimension` consecutive elements).
    ///
    /// - Parameter x: a tensor whose element count is a multiple of `dimension`.
    public func callAsFunction(_ x: Tensor<T>) -> Tensor<T> {
        var y = x
        apply(&y)
        return y
    }

    /// Normalises in place every group of `dimension` consecutive elements.
    ///
    /// - Parameter x: a tensor whose element count is a multiple of `dimension`.
    public func apply(_ x: inout Tensor<T>) {
        precondition(dimension > 0 && x.count % dimension == 0, "RMSNorm: \(x.shape) not in groups of \(dimension)")
        let rows = x.count / dimension
        x.withUnsafeMutableBufferPointer { xb in apply(xb.baseAddress!, rows: rows) }
    }

    /// Normalises in place `rows` contiguous groups of `dimension` elements.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func apply(_ x: UnsafeMutablePointer<T>, rows: Int) {
        let d = dimension
        withWeight { w in
            parallelRanges(rows, unitCost: 3 * d) { range in self.normalize(x, rows: range, weight: w) }
        }
    }

    /// Normalises the given rows in place (one work item of ``apply(_:rows:)``).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func normalize(_ x: UnsafeMutablePointer<T>, rows: Range<Int>, weight w: UnsafePointer<T>?) {
        let d = dimension
        let invD = 1 / T(d)
        for r in rows {
            let p = x + r * d
            let (ss, scale) = sumOfSquares(p, d)
            if let m = scale {
                // Σx² overflowed T (|x| ≳ 1.8e19 in Float32): normalise x/m, with ε/m² in place of ε.
                let s = 1 / (ss * invD + eps / (m * m)).squareRoot()
                if let w {
                    for i in 0..<d { p[i] = (p[i] / m) * s * w[i] }
                } else {
                    for i in 0..<d { p[i] = (p[i] / m) * s }
                }
                continue
            }
            let s = 1 / (ss * invD + eps).squareRoot()
            if let w {
                for i in 0..<d { p[i] = p[i] * s * w[i] }
            } else {
                for i in 0..<d { p[i] *= s }
            }
        }
    }

    func withWeight<R>(_ body: (UnsafePointer<T>?) -> R) -> R {
        if let weight {
            return weight.withUnsafeBufferPointer { body($0.baseAddress!) }
        }
        return body(nil)
    }
}

/// The gated output norm of the delta-rule and GLA mixers (fla's `FusedRMSNormGated`), per
/// head over the head's value dimension: `y = RMSNorm(o_h)·w·act(g_h)` with act = silu or sigmoid.
public struct GatedRMSNorm<T: LRNNScalar>: Sendable {
    /// The plain norm (weight `[head_v_dim]`, ε).
    public internal(set) var norm: RMSNorm<T>
    /// The gate activation (silu or sigmoid).
    public let activation: Activation

    /// Creates a gated norm.
    ///
    /// - Parameters:
    ///   - norm: the norm applied to the output.
    ///   - activation: the activation applied to the gate.
    public init(norm: RMSNorm<T>, activation: Activation) {
        self.norm = norm
        self.activation = activation
    }

    /// Normalises `o` in place and multiplies by `act(gate)`; both hold groups of `norm.dimension`.
    /// - Parameters:
    ///   - o: the output, normalised and gated in place.
    ///   - gate: the gate, with as many elements as `o`.
    /// - Precondition: `o` and `gate` have equal element counts.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func apply(_ o: inout Tensor<T>, gate: Tensor<T>) {
        precondition(o.count == gate.count, "GatedRMSNorm: output \(o.shape) vs gate \(gate.shape)")
        norm.apply(&o)
        let n = o.count
        let act = activation
        gate.withUnsafeBufferPointer { g in
            o.withUnsafeMutableBufferPointer { ob in
                let op = ob.baseAddress!
                let gp = g.baseAddress!
                parallelRanges(n, unitCost: 20) { range in
                    switch act {
                    case .silu: for i in range { op[i] *= gp[i] / (1 + T.exp(-gp[i])) }
                    case .sigmoid: for i in range { op[i] *= 1 / (1 + T.exp(-gp[i])) }
                    default: for i in range { op[i] *= act(gp[i]) }
                    }
                }
            }
        }
    }
}

/// `Σ x²` over `d` elements, computed so that it cannot overflow for finite x: when the plain sum
/// is not finite, the elements are divided by `m = max|x|` first and `(Σ (x/m)², m)` is returned
/// (`scale` is nil otherwise). The norms use it so that Float32 gives Float64's answer for
/// activations whose squares overflow Float32 (|x| ≳ 1.8e19); the usual case costs nothing extra.
@inline(__always)
func sumOfSquares<T: LRNNScalar>(_ p: UnsafePointer<T>, _ d: Int) -> (sum: T, scale: T?) {
    var ss: T = 0
    for i in 0..<d { ss += p[i] * p[i] }
    if ss.isFinite { return (ss, nil) }
    var m: T = 0
    for i in 0..<d { m = Swift.max(m, Swift.abs(p[i])) }
    guard m.isFinite, m > 0 else { return (ss, nil) }
    var scaled: T = 0
    for i in 0..<d {
        let v = p[i] / m
        scaled += v * v
    }
    return (scaled, m)
}

import ComplexModule
import LRNNKernels
import LRNNLinearAlgebra

/// The decoding state of one token mixer for N sequences: its short-convolution windows and its
/// recurrent state, or a softmax-attention layer's key/value cache.
///
/// A `Sendable` value the caller owns: it may move between threads or tasks, and `inout` access
/// keeps two calls from advancing one state at the same time.
public struct MixerState<T: LRNNScalar>: Sendable {
    /// The convolution windows, one `[N, W − 1, D]` tensor per convolution (q, k, v order).
    public var conv: [Tensor<T>]
    /// The recurrent state `[N, H, K, V]` (empty for mixers without one).
    public var recurrent: Tensor<T>
    /// A complex recurrent state (S4D: `[N, H, N/2]`), nil for the real-state mixers.
    public var complex: Tensor<Complex<T>>?
    /// The key/value cache of a softmax-attention layer (``AttentionMixer``), nil for the other mixers.
    public var attention: AttentionCache<T>?

    /// Creates a state from its parts.
    ///
    /// - Parameters:
    ///   - conv: the convolution windows, one `[N, W − 1, D]` tensor per convolution.
    ///   - recurrent: the recurrent state (empty for mixers without one).
    ///   - complex: a complex recurrent state, or nil.
    ///   - attention: a softmax-attention layer's key/value cache, or nil.
    public init(
        conv: [Tensor<T>], recurrent: Tensor<T>, complex: Tensor<Complex<T>>? = nil,
        attention: AttentionCache<T>? = nil
    ) {
        self.conv = conv
        self.recurrent = recurrent
        self.complex = complex
        self.attention = attention
    }
}

/// The sequence-mixing half of a block: maps `[tokens, hidden]` to `[tokens, hidden]`, causally
/// within each sequence, carrying a ``MixerState`` across calls.
///
/// A mixer is a ``ParameterContainer``: it names its parameters and children once, by their
/// fla key components under the block's `attn` (`q_proj`, `A_log`, …), in
/// ``ParameterContainer/walkParameters(_:)``.
public protocol TokenMixer<Scalar>: Sendable, ParameterContainer {
    /// The model width the mixer reads and writes.
    var hiddenSize: Int { get }

    /// A zero state for `sequences` sequences.
    ///
    /// - Parameter sequences: the number of sequences.
    func makeState(sequences: Int) -> MixerState<Scalar>

    /// Mixes `x [tokens, hidden]` laid out as `layout` (the prefill path, through the chunked
    /// kernels). With a state, it starts from it and leaves the final state in it; without, it
    /// starts from zeros.
    /// - Parameters:
    ///   - x: the normalised hidden states `[tokens, hidden]`.
    ///   - layout: how the tokens split into sequences.
    ///   - state: the state to start from and update, or nil for zeros.
    /// - Returns: the mixer's output `[tokens, hidden]`.
    /// - Throws: ``/LRNNKernels/KernelError`` when the kernel refuses its inputs (e.g. non-finite values).
    func forward(
        _ x: Tensor<Scalar>, layout: SequenceLayout, state: inout MixerState<Scalar>?
    ) throws(KernelError) -> Tensor<Scalar>

    /// Mixes one token per sequence, `x [B, hidden]`, updating `state` in place (the decoding
    /// path, through the kernels' step functions).
    /// - Parameters:
    ///   - x: one token's normalised hidden state per sequence, `[B, hidden]`.
    ///   - state: the state, advanced by one token.
    /// - Returns: the mixer's output `[B, hidden]`.
    /// - Throws: ``/LRNNKernels/KernelError`` when the kernel refuses its inputs.
    func step(_ x: Tensor<Scalar>, state: inout MixerState<Scalar>) throws(KernelError) -> Tensor<Scalar>
}

/// Divides every group of `d` consecutive elements by `√(Σx² + 1e-6)` (fla's in-kernel L2 norm);
/// a group whose Σx² overflows T is scaled by its largest magnitude first (``sumOfSquares(_:_:)``).
@_specialize(where T == Float)
@_specialize(where T == Double)
func l2Normalize<T: LRNNScalar>(_ x: inout Tensor<T>, groupSize d: Int) {
    let groups = x.count / d
    x.withUnsafeMutableBufferPointer { b in
        let p = b.baseAddress!
        parallelRanges(groups, unitCost: 3 * d) { range in
            for gi in range {
                let q = p + gi * d
                let (ss, scale) = sumOfSquares(q, d)
                if let m = scale {
                    // Σx² overflowed T: divide by m first, with 1e-6/m² in place of 1e-6.
                    let s = 1 / (ss + T(1e-6) / (m * m)).squareRoot()
                    for i in 0..<d { q[i] = (q[i] / m) * s }
                    continue
                }
                let s = 1 / (ss + T(1e-6)).squareRoot()
                for i in 0..<d { q[i] *= s }
            }
        }
    }
}

/// Divides every group of `d` consecutive elements by `max(Σ|x|, 1e-6)` (fla's `sum_norm`).
@_specialize(where T == Float)
@_specialize(where T == Double)
func sumNormalize<T: LRNNScalar>(_ x: inout Tensor<T>, groupSize d: Int) {
    let groups = x.count / d
    x.withUnsafeMutableBufferPointer { b in
        let p = b.baseAddress!
        for gi in 0..<groups {
            let q = p + gi * d
            var s: T = 0
            for i in 0..<d { s += abs(q[i]) }
            let inv = 1 / Swift.max(s, T(1e-6))
            for i in 0..<d { q[i] *= inv }
        }
    }
}

/// Repeats each of the `heads` groups of `d` features `times` times per row:
/// `[rows, heads·d] → [rows, heads·times·d]`, output head `h·times + i` = input head h.
@_specialize(where T == Float)
@_specialize(where T == Double)
func repeatHeads<T: LRNNScalar>(_ x: Tensor<T>, heads: Int, headDim d: Int, times: Int) -> Tensor<T> {
    if times == 1 { return x }
    let rows = x.count / (heads * d)
    var y = Tensor<T>.zeros([rows, heads * times * d])
    x.withUnsafeBufferPointer { xb in
        y.withUnsafeMutableBufferPointer { yb in
            for r in 0..<rows {
                for h in 0..<heads {
                    let src = xb.baseAddress! + (r * heads + h) * d
                    for i in 0..<times {
                        (yb.baseAddress! + ((r * heads + h) * times + i) * d).update(from: src, count: d)
                    }
                }
            }
        }
    }
    return y
}

/// `σ(x)·factor` elementwise in place.
@_specialize(where T == Float)
@_specialize(where T == Double)
func sigmoidScaled<T: LRNNScalar>(_ x: inout Tensor<T>, factor: T) {
    let n = x.count
    x.withUnsafeMutableBufferPointer { b in
        for i in 0..<n { b[i] = factor / (1 + T.exp(-b[i])) }
    }
}

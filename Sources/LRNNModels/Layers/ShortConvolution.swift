import LRNNLinearAlgebra

/// fla's short convolution: depthwise and causal over time, kernel width W, optional silu.
///
/// `y_t[d] = Σ_{j<W} w[d, 0, j] · x_{t−W+1+j}[d]` with zeros (or the carried state) before a
/// sequence's first token (checkpoint key `…_conv1d.weight`, shape `[D, 1, W]`).
///
/// The decoding state of one sequence is its last `W − 1` inputs, `[W − 1, D]` time-major; a
/// batch of states is `[N, W − 1, D]`.
///
/// A ``ParameterContainer`` with the parameter `weight` (U(±1/√W) when built in code).
public struct ShortConvolution<T: LRNNScalar>: Sendable, ParameterContainer {
    /// The checkpoint weight `[D, 1, W]`.
    public internal(set) var weight: Tensor<T>
    /// The weight transposed to `[W, D]` for contiguous per-tap rows.
    private(set) var taps: Tensor<T>
    /// The number of channels D.
    public let channels: Int
    /// The kernel width W.
    public let width: Int
    /// Whether silu follows the convolution.
    public let activation: Activation

    /// Creates the convolution.
    /// - Parameters:
    ///   - weight: the depthwise kernel `[D, 1, W]`.
    ///   - activation: applied after the convolution.
    /// - Precondition: `weight` is `[D, 1, W]` with W ≥ 1.
    public init(weight: Tensor<T>, activation: Activation) {
        precondition(
            weight.rank == 3 && weight.shape[1] == 1 && weight.shape[2] >= 1,
            "ShortConvolution: weight \(weight.shape) is not [D, 1, W]")
        self.weight = weight
        self.activation = activation
        channels = weight.shape[0]
        width = weight.shape[2]
        taps = Tensor(zeros: [0])
        parametersDidChange()
    }

    /// A convolution of the given extents whose weight a ``ParameterWalk`` supplies.
    init(channels: Int, width: Int, activation: Activation) {
        precondition(width >= 1, "ShortConvolution: width \(width)")
        self.channels = channels
        self.width = width
        self.activation = activation
        weight = Tensor(zeros: [0])
        taps = Tensor(zeros: [0])
    }

    /// `weight [D, 1, W]`.
    ///
    /// - Parameter walk: the walk.
    /// - Throws: as ``ParameterWalk/parameter(_:_:shape:initializer:)``.
    public mutating func walkParameters(_ walk: inout ParameterWalk<T>) throws(ModelLoadError) {
        try walk.parameter(
            "weight", &weight, shape: [channels, 1, width],
            initializer: .uniform(bound: 1 / Double(width).squareRoot()))
    }

    /// Recomputes the transposed taps `[W, D]` from the weight.
    public mutating func parametersDidChange() {
        let d = channels
        let w = width
        var t = Tensor<T>(zeros: [w, d])
        weight.withUnsafeBufferPointer { wb in
            t.withUnsafeMutableBufferPointer { tb in
                for c in 0..<d { for j in 0..<w { tb[j * d + c] = wb[c * w + j] } }
            }
        }
        taps = t
    }

    /// A zero state for `n` sequences, `[n, W − 1, D]`.
    ///
    /// - Parameter n: the number of sequences.
    public func zeroState(sequences n: Int) -> Tensor<T> { Tensor(zeros: [n, width - 1, channels]) }

    /// Convolves `x [tokens, D]` sequence by sequence (`layout` gives the boundaries), reading
    /// and then updating `state [N, W − 1, D]` when given (zeros before each start otherwise).
    ///
    /// - Parameters:
    ///   - x: `[tokens, D]`.
    ///   - layout: how the tokens split into sequences.
    ///   - state: the last W − 1 inputs of each sequence `[N, W − 1, D]`, read and updated; nil for zeros.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func callAsFunction(_ x: Tensor<T>, layout: SequenceLayout, state: inout Tensor<T>?) -> Tensor<T> {
        let d = channels
        let w = width
        precondition(x.count == layout.tokenCount * d, "ShortConvolution: input \(x.shape) for \(layout)")
        if let s = state {
            precondition(
                s.shape == [layout.sequenceCount, w - 1, d],
                "ShortConvolution: state \(s.shape), expected \([layout.sequenceCount, w - 1, d])")
        }
        var y = Tensor<T>.zeros([layout.tokenCount, d])
        let bounds = layout.boundaries
        let act = activation
        x.withUnsafeBufferPointer { xb in
            taps.withUnsafeBufferPointer { tb in
                y.withUnsafeMutableBufferPointer { yb in
                    let xp = xb.baseAddress!
                    let tp = tb.baseAddress!
                    let yp = yb.baseAddress!
                    func body(_ sp: UnsafeMutablePointer<T>?) {
                        // Channel blocks in parallel: each work item convolves its channels over every token.
                        parallelRanges(d, unitCost: 3 * w * layout.tokenCount) { cr in
                            let c0 = cr.lowerBound
                            let n = cr.count
                            for s in 0..<(bounds.count - 1) {
                                let start = bounds[s]
                                let len = bounds[s + 1] - start
                                let st = sp.map { $0 + s * (w - 1) * d }
                                for t in 0..<len {
                                    let out = yp + (start + t) * d + c0
                                    for j in 0..<w {
                                        let src = t - (w - 1) + j
                                        let row: UnsafePointer<T>
                                        if src >= 0 {
                                            row = xp + (start + src) * d + c0
                                        } else if let st {
                                            row = UnsafePointer(st + (w - 1 + src) * d + c0)
                                        } else {
                                            continue
                                        }
                                        let tap = tp + j * d + c0
                                        for c in 0..<n { out[c] += tap[c] * row[c] }
                                    }
                                    act.apply(out, count: n)
                                }
                            }
                        }
                        // New states: the last W − 1 inputs of [old state; x_seg].
                        guard let sp, w > 1 else { return }
                        for s in 0..<(bounds.count - 1) {
                            let start = bounds[s]
                            let len = bounds[s + 1] - start
                            let st = sp + s * (w - 1) * d
                            if len >= w - 1 {
                                st.update(from: xp + (start + len - (w - 1)) * d, count: (w - 1) * d)
                            } else if len > 0 {
                                let keep = (w - 1) - len
                                for i in 0..<(keep * d) { st[i] = st[len * d + i] }
                                (st + keep * d).update(from: xp + start * d, count: len * d)
                            }
                        }
                    }
                    if state != nil && w > 1 {
                        state!.withUnsafeMutableBufferPointer { body($0.baseAddress!) }
                    } else {
                        body(nil)
                    }
                }
            }
        }
        return y
    }
}

import LRNNKernels
import LRNNLinearAlgebra
import LRNNTestSupport

/// One GLA backward problem: inputs, constants and cotangents.
struct GLABackwardCase<T: LRNNScalar> {
    var inputs: GLA.Inputs<T>
    var scale: T?
    var sequences: SequenceBoundaries?
    var outputGradient: Tensor<T>?
    var finalStateGradient: Tensor<T>?

    /// Random inputs `[B, T, H, K]` / `[B, T, H, V]` with log-decays from `decay`, an initial state
    /// when `withInitialState`, and cotangents as asked.
    init(
        _ rng: inout SeededRandom, b: Int, t: Int, h: Int, dk: Int, dv: Int, lengths: [Int]? = nil,
        decay: (inout SeededRandom) -> Double, withInitialState: Bool = true, withOutputGradient: Bool = true,
        withFinalStateGradient: Bool = true
    ) throws {
        let n = lengths?.count ?? b
        var gk = [T]()
        for _ in 0..<(b * t * h * dk) { gk.append(T(decay(&rng))) }
        inputs = GLA.Inputs(
            q: rng.tensor([b, t, h, dk]), k: rng.tensor([b, t, h, dk]), v: rng.tensor([b, t, h, dv]),
            gk: Tensor(shape: [b, t, h, dk], scalars: gk),
            initialState: withInitialState ? rng.tensor([n, h, dk, dv]) : nil)
        scale = T(rng.uniform(0.3...1.2))
        sequences = try lengths.map { try SequenceBoundaries(lengths: $0) }
        outputGradient = withOutputGradient ? rng.tensor([b, t, h, dv]) : nil
        finalStateGradient = withFinalStateGradient ? rng.tensor([n, h, dk, dv]) : nil
    }

    /// The loss `Σ output ⊙ outputGradient + Σ finalState ⊙ finalStateGradient` of the reference forward.
    func loss(_ x: GLA.Inputs<T>) throws -> Double {
        let r = try GLA.reference(
            q: x.q, k: x.k, v: x.v, gk: x.gk, scale: scale, initialState: x.initialState,
            cuSeqlens: sequences?.offsets)
        var l = 0.0
        if let dO = outputGradient { for (a, b) in zip(r.output.scalars, dO.scalars) { l += Double(a * b) } }
        if let dht = finalStateGradient { for (a, b) in zip(r.finalState.scalars, dht.scalars) { l += Double(a * b) } }
        return l
    }

    /// The chunked backward.
    func backward(chunkSize: Int = GLA.defaultChunkSize, subChunkSize: Int = GLA.defaultSubChunkSize) throws
        -> GLA.Inputs<T>
    {
        try GLA.backward(
            inputs, scale: scale, sequences: sequences, chunkSize: chunkSize, subChunkSize: subChunkSize,
            outputGradient: outputGradient, finalStateGradient: finalStateGradient)
    }

    /// The reference backward.
    func referenceBackward() throws -> GLA.Inputs<T> {
        try GLA.referenceBackward(
            inputs, scale: scale, sequences: sequences, outputGradient: outputGradient,
            finalStateGradient: finalStateGradient)
    }
}

/// The largest relative error `max|x − ref| / max|ref|` over the five gradient fields (dh0 only when both
/// have one; its presence must agree, else the result is infinite).
func glaGradientError<T: LRNNScalar>(_ x: GLA.Inputs<T>, _ reference: GLA.Inputs<Double>) -> Double {
    var worst = Swift.max(
        x.q.converted(to: Double.self).relativeError(to: reference.q),
        x.k.converted(to: Double.self).relativeError(to: reference.k),
        x.v.converted(to: Double.self).relativeError(to: reference.v),
        x.gk.converted(to: Double.self).relativeError(to: reference.gk))
    switch (x.initialState, reference.initialState) {
    case let (a?, b?): worst = Swift.max(worst, a.converted(to: Double.self).relativeError(to: b))
    case (nil, nil): break
    default: return .infinity
    }
    return worst
}

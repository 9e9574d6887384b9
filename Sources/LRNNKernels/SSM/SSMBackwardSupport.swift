import ComplexModule
import LRNNLinearAlgebra
import RealModule

/// The derivatives of one mode's discretisation (Float64): the pole `dA`, the input scale
/// `s = dB/b`, and their derivatives with respect to the continuous eigenvalue a (complex, both
/// holomorphic in a) and to `log Δ` (real).
///
/// zoh (`z = Δa`, `φ(z) = (e^z − 1)/z`): `dA = e^z`, `s = Δ·φ(z)`, `∂dA/∂a = Δ·dA`,
/// `∂dA/∂log Δ = z·dA`, `∂s/∂a = Δ²·φ'(z)`, `∂s/∂log Δ = Δ·dA` (since `φ + z·φ' = e^z`).
/// bilinear (`δ = 1 − z/2`): `dA = (1 + z/2)/δ`, `s = Δ/δ`, `∂dA/∂a = Δ/δ²`, `∂dA/∂log Δ = z/δ²`,
/// `∂s/∂a = Δ²/(2δ²)`, `∂s/∂log Δ = Δ/δ²`.
struct DiscretizationJacobian {
    var pole: Complex<Double>
    var scale: Complex<Double>
    var poleByA: Complex<Double>
    var poleByLogStep: Complex<Double>
    var scaleByA: Complex<Double>
    var scaleByLogStep: Complex<Double>

    init(_ discretization: SSMDiscretization, a: Complex<Double>, logStep: Double) {
        let step = Double.exp(logStep)
        let z = a * step
        switch discretization {
        case .zoh:
            let (pole, _, scale) = discretization.discretize(a, step: step)
            self.pole = pole
            self.scale = scale
            poleByA = pole * step
            poleByLogStep = z * pole
            scaleByA = DiscretizationJacobian.phiPrime(z) * (step * step)
            scaleByLogStep = pole * step
        case .bilinear:
            let (pole, _, scale) = discretization.discretize(a, step: step)
            self.pole = pole
            self.scale = scale
            let den = Complex<Double>.one - z * 0.5
            let inv2 = Complex<Double>.one / (den * den)
            poleByA = inv2 * step
            poleByLogStep = z * inv2
            scaleByA = inv2 * (step * step * 0.5)
            scaleByLogStep = inv2 * step
        }
    }

    /// `φ'(z) = (e^z − φ(z))/z`, by its Taylor series `Σ_{k≥1} k·z^(k−1)/(k+1)!` for |z| < 1
    /// (21 terms, truncation below 1e-18 relative), removable at z = 0 (φ'(0) = ½).
    static func phiPrime(_ z: Complex<Double>) -> Complex<Double> {
        if z.length < 1 {
            var sum = Complex<Double>.zero
            var power = Complex<Double>.one  // z^(k−1)
            var factorial = 2.0  // (k+1)!
            for k in 1...22 {
                sum = sum + power * (Double(k) / factorial)
                power = power * z
                factorial *= Double(k + 2)
            }
            return sum
        }
        return (Complex.exp(z) - SSMDiscretization.expm1OverZ(z)) / z
    }

    /// The chain rule through `dA(a, log Δ)` and `dB = s(a, log Δ)·b` for one mode, given the
    /// gradient of the pole `gPole` and `gScale = Σ conj(b)·g_dB` (the gradient of s), in the
    /// `dRe + i·dIm` form: returns the gradient of a and the real partial of log Δ.
    func chain(gPole: Complex<Double>, gScale: Complex<Double>) -> (a: Complex<Double>, logStep: Double) {
        let ga = poleByA.conjugate * gPole + scaleByA.conjugate * gScale
        let gl = (gPole.conjugate * poleByLogStep).real + (gScale.conjugate * scaleByLogStep).real
        return (ga, gl)
    }
}

/// How a `[B, T, H]` call splits into sequences over the flattened token axis `[B·T]`, and those
/// into chunks of at most C tokens (each sequence's chunks start at its first token; only its
/// last chunk may be shorter).
struct SSMChunkLayout: Sendable {
    /// Sequence s owns flattened tokens `sequenceStart[s] ..< sequenceStart[s] + sequenceLength[s]`.
    var sequenceStart: [Int]
    var sequenceLength: [Int]
    /// Sequence s owns chunks `firstChunk[s] ..< firstChunk[s + 1]` (none when empty).
    var firstChunk: [Int]
    /// Chunk m: flattened tokens `chunkStart[m] ..< chunkStart[m] + chunkLength[m]`.
    var chunkStart: [Int]
    var chunkLength: [Int]
    /// The chunk size C (≥ 1).
    var chunk: Int

    var sequences: Int { sequenceStart.count }
    var chunks: Int { chunkStart.count }

    /// Validates `sequences` against `u`'s batch and length, and lays out the chunks.
    ///
    /// - Throws: ``KernelError/invalidSequenceBoundaries(reason:)`` for B ≠ 1 with sequences, or
    ///   boundaries that do not end at T; ``KernelError/invalidArgument(name:reason:)`` for a
    ///   chunk size below 1.
    init(batch: Int, length: Int, sequences: SequenceBoundaries?, chunkSize: Int) throws(KernelError) {
        guard chunkSize >= 1 else {
            throw .invalidArgument(name: "chunkSize", reason: "must be ≥ 1, got \(chunkSize)")
        }
        if let sequences {
            guard batch == 1 else {
                throw .invalidSequenceBoundaries(reason: "requires batch size B = 1, got B = \(batch)")
            }
            do { try sequences.requireTotal(length) } catch { throw KernelError(error) }
            sequenceStart = Array(sequences.offsets.dropLast())
            sequenceLength = (0..<sequences.count).map { sequences.length($0) }
        } else {
            sequenceStart = (0..<batch).map { $0 * length }
            sequenceLength = [Int](repeating: length, count: batch)
        }
        let longest = sequenceLength.max() ?? 0
        chunk = Swift.max(1, Swift.min(chunkSize, longest))
        firstChunk = [0]
        chunkStart = []
        chunkLength = []
        for s in sequenceStart.indices {
            var t = 0
            while t < sequenceLength[s] {
                chunkStart.append(sequenceStart[s] + t)
                chunkLength.append(Swift.min(chunk, sequenceLength[s] - t))
                t += chunk
            }
            firstChunk.append(chunkStart.count)
        }
    }
}

extension SSMChunkLayout {
    /// Validates the arguments of an S4D or S5 backward call and lays out its sequences and chunks.
    ///
    /// Order: `u` (shape `[B, T, channels]`, finiteness), the sequence boundaries and chunk size,
    /// `initialState` (`[N] + stateTail`), `outputGradient` (the shape of `u`, finiteness),
    /// `finalStateGradient` (`[N] + stateTail`).
    ///
    /// - Throws: ``KernelError`` naming the first offending tensor or argument.
    static func validateBackward<T: LRNNScalar>(
        u: Tensor<T>, channels h: Int, stateTail: [Int], initialState: Tensor<Complex<T>>?,
        sequences: SequenceBoundaries?, chunkSize: Int, outputGradient: Tensor<T>?,
        finalStateGradient: Tensor<Complex<T>>?
    ) throws(KernelError) -> SSMChunkLayout {
        guard u.rank == 3, u.shape[2] == h else {
            throw .shapeMismatch(tensor: "u", shape: u.shape, expected: "[B, T, \(h)]")
        }
        try KernelError.requireFinite(u, "u")
        let layout = try SSMChunkLayout(
            batch: u.shape[0], length: u.shape[1], sequences: sequences, chunkSize: chunkSize)
        let stateShape = [layout.sequences] + stateTail
        try KernelError.requireState(initialState, stateShape, "initialState")
        if let dy = outputGradient {
            try KernelError.requireShape(dy, u.shape, "outputGradient")
            try KernelError.requireFinite(dy, "outputGradient")
        }
        try KernelError.requireState(finalStateGradient, stateShape, "finalStateGradient")
        return layout
    }
}

extension KernelError {
    /// Validates an optional complex state tensor (shape and finiteness), naming it.
    static func requireState<T: LRNNScalar>(
        _ state: Tensor<Complex<T>>?, _ shape: [Int], _ name: String
    ) throws(KernelError) {
        guard let state else { return }
        try requireShape(state, shape, name)
        for z in state.scalars where !(z.real.isFinite && z.imaginary.isFinite) {
            throw .nonFinite(tensor: name)
        }
    }
}

/// A buffer of scalars owned by one worker of a ``/LRNNLinearAlgebra/Threading`` region: allocated
/// once per call, reused for every item the worker runs, freed with the value.
final class WorkerBuffer<T>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<T>
    let count: Int

    init(count: Int, repeating value: T) {
        self.count = Swift.max(count, 1)
        pointer = .allocate(capacity: self.count)
        pointer.initialize(repeating: value, count: self.count)
    }

    deinit {
        pointer.deinitialize(count: count)
        pointer.deallocate()
    }
}

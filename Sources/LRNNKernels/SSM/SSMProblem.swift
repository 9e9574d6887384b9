import ComplexModule
import LRNNLinearAlgebra

extension S4DParameters {
    /// Re-runs the checks of ``init(logDt:aRe:aIm:bRe:bIm:cRe:cIm:d:)`` (the fields are public
    /// variables, so a value may have changed since it was made): every verb calls it first.
    ///
    /// - Throws: ``KernelError`` naming the first offending tensor.
    func validate() throws(KernelError) {
        _ = try S4DParameters(logDt: logDt, aRe: aRe, aIm: aIm, bRe: bRe, bIm: bIm, cRe: cRe, cIm: cIm, d: d)
    }
}

extension S5Parameters {
    /// Re-runs the checks of ``init(lambdaRe:lambdaIm:bRe:bIm:cRe:cIm:logStep:d:conjugateSymmetric:)``
    /// (the fields are public variables): every verb calls it first.
    ///
    /// - Throws: ``KernelError`` naming the first offending tensor.
    func validate() throws(KernelError) {
        _ = try S5Parameters(
            lambdaRe: lambdaRe, lambdaIm: lambdaIm, bRe: bRe, bIm: bIm, cRe: cRe, cIm: cIm, logStep: logStep, d: d,
            conjugateSymmetric: conjugateSymmetric)
    }
}

/// The validated sizes and sequences of an S4D call: `u [B, T, H]`, states `[N, H, N2]`.
struct S4DProblem {
    let batch: Int
    let tokens: Int
    let channels: Int
    let modes: Int
    let sequences: [PackedSequence]

    /// The shape of the initial and final states `[N, H, N2]`.
    var stateShape: [Int] { [sequences.count, channels, modes] }

    /// Checks the parameters, the shape and values of `u`, the boundaries and the initial state.
    ///
    /// - Throws: ``KernelError`` naming the first offending tensor or argument.
    init<T: LRNNScalar>(_ inputs: S4D.Inputs<T>, sequences boundaries: SequenceBoundaries?) throws(KernelError) {
        let parameters = inputs.parameters
        try parameters.validate()
        let (h, n2) = (parameters.channels, parameters.modes)
        let u = inputs.u
        guard u.rank == 3, u.shape[2] == h else {
            throw .shapeMismatch(tensor: "u", shape: u.shape, expected: "[B, T, \(h)]")
        }
        try KernelError.requireFinite(u, "u")
        batch = u.shape[0]
        tokens = u.shape[1]
        channels = h
        modes = n2
        sequences = try PackedSequence.resolve(batch: batch, tokens: tokens, boundaries)
        if let s = inputs.initialState {
            try KernelError.requireShape(s, [sequences.count, h, n2], "initialState")
            try KernelError.requireFinite(s, "initialState")
        }
    }
}

/// The validated sizes and sequences of an S5 call: `u [B, T, H]`, states `[N, P]`.
struct S5Problem {
    let batch: Int
    let tokens: Int
    let channels: Int
    let states: Int
    let sequences: [PackedSequence]

    /// The shape of the initial and final states `[N, P]`.
    var stateShape: [Int] { [sequences.count, states] }

    /// Checks the shape and values of `u`, the boundaries and the initial state against a system of
    /// `channels` inputs and `states` states.
    ///
    /// - Throws: ``KernelError`` naming the first offending tensor or argument.
    init<T: LRNNScalar>(
        _ u: Tensor<T>, channels h: Int, states p: Int, initialState: Tensor<Complex<T>>?,
        sequences boundaries: SequenceBoundaries?
    ) throws(KernelError) {
        guard u.rank == 3, u.shape[2] == h else {
            throw .shapeMismatch(tensor: "u", shape: u.shape, expected: "[B, T, \(h)]")
        }
        try KernelError.requireFinite(u, "u")
        batch = u.shape[0]
        tokens = u.shape[1]
        channels = h
        states = p
        sequences = try PackedSequence.resolve(batch: batch, tokens: tokens, boundaries)
        if let s = initialState {
            try KernelError.requireShape(s, [sequences.count, p], "initialState")
            try KernelError.requireFinite(s, "initialState")
        }
    }
}

/// Runs `step` token by token over every group of sequences that advance together (all batch
/// entries, or one packed sequence), for the SSMs' `recurrent` verbs: `u [B, T, H]`, states `[N, …]`.
func recurrentSSM<T: LRNNScalar, S>(
    _ u: Tensor<T>, sequences: [PackedSequence], packed: Bool, initialState: Tensor<S>,
    step: (Tensor<T>, inout Tensor<S>) throws(KernelError) -> Tensor<T>
) throws(KernelError) -> (output: Tensor<T>, finalState: Tensor<S>) {
    let (b, t, h) = (u.shape[0], u.shape[1], u.shape[2])
    var output = Tensor<T>.zeros(u.shape)
    var finalState = initialState
    let groups: [(batches: Range<Int>, slots: Range<Int>, tokens: Range<Int>)] =
        packed ? sequences.map { (0..<1, $0.slot..<($0.slot + 1), $0.tokens) } : [(0..<b, 0..<b, 0..<t)]
    for group in groups where !group.tokens.isEmpty && !group.batches.isEmpty {
        var state = finalState.slice(batches: group.slots)
        for s in group.tokens {
            let token = s..<(s + 1)
            let ut = u.slice(batches: group.batches, tokens: token).reshaped([group.batches.count, h])
            let yt = try step(ut, &state)
            output.replaceSlice(batches: group.batches, tokens: token, with: yt.reshaped([group.batches.count, 1, h]))
        }
        finalState.replaceSlice(batches: group.slots, with: state)
    }
    return (output, finalState)
}

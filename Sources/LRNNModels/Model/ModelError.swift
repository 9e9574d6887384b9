import LRNNKernels

/// Why a model refused a request at run time. Each case names the argument or layer involved.
public enum ModelError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A token id lies outside `0..<vocabSize`.
    case tokenOutOfRange(token: Int, vocabSize: Int)
    /// An argument is malformed (empty batch, ragged lengths where equal lengths are needed, …).
    case invalidArgument(name: String, reason: String)
    /// The cache was made for another batch size or model.
    case cacheMismatch(reason: String)
    /// A kernel refused its inputs inside a layer (e.g. non-finite activations).
    case kernel(layer: Int, KernelError)
    /// `cuSeqlens` was refused before any layer ran: always
    /// ``/LRNNKernels/KernelError/invalidSequenceBoundaries(reason:)``, with the reason every kernel
    /// gives for the same list (it is validated as a ``/LRNNLinearAlgebra/SequenceBoundaries``).
    case invalidSequenceBoundaries(KernelError)
    /// A model built in code has an impossible configuration.
    case invalidConfiguration(field: String, reason: String)
    /// Generation met logits holding NaN or ±∞ (the weights or activations overflowed the run
    /// precision): no token can be chosen from them. `sequence` is the prompt's index in the
    /// batch, `position` the index of the new token that was to be chosen.
    case nonFiniteLogits(sequence: Int, position: Int)
    /// ``CausalLM/lossAndGradients(inputIDs:labels:)`` met a layer whose token mixer has no
    /// backward pass yet (`mixer` is its type: `attn` for softmax attention, `s4d`).
    case notDifferentiable(layer: Int, mixer: String)

    /// One sentence naming the argument or layer and what was expected.
    public var description: String {
        switch self {
        case let .tokenOutOfRange(t, v): "token id \(t) is outside the vocabulary 0..<\(v)"
        case let .invalidArgument(n, r): "argument '\(n)': \(r)"
        case let .cacheMismatch(r): "cache: \(r)"
        case let .kernel(l, e): "layer \(l): \(e)"
        case let .invalidSequenceBoundaries(e): "\(e)"
        case let .invalidConfiguration(f, r): "configuration \(f): \(r)"
        case let .nonFiniteLogits(s, p):
            "logits of sequence \(s) hold NaN or infinity at new token \(p): the run precision overflowed"
        case let .notDifferentiable(l, m): "layer \(l): the \(m) token mixer has no backward pass"
        }
    }
}

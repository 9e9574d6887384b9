import ComplexModule
import LRNNKernels
import LRNNLinearAlgebra

/// An S4D token mixer (for stacks assembled in code): per hidden channel a diagonal state-space
/// convolution, then GELU, then a GLU output projection.
///
///     y = S4D(x)   (y[t,h] = Σ_{s≤t} K[h,s]·x[t−s,h] + D[h]·x[t,h], carried as a complex state)
///     z = output_linear(gelu(y))  [tokens, 2·hidden];   out = z[:, :hidden] ⊙ σ(z[:, hidden:])
///
/// Prefill runs the chunked S4D convolution, decoding the S4D recurrence. Parameters
/// (``walkParameters(_:)``), under the block's `attn`: `log_dt [H]`, `A_re`, `A_im`, `B_re`, `B_im`, `C_re`, `C_im`
/// `[H, N/2]`, `D [H]`, `output_linear.weight [2H, H]`, `output_linear.bias [2H]`; values
/// from a checkpoint or ``CausalLM/update(parameters:verify:)`` must lie in S4D's domain
/// (``ModelLoadError/invalidParameterValue(file:key:reason:)`` otherwise).
public struct S4DMixer<T: LRNNScalar>: TokenMixer {
    /// The configuration.
    public let configuration: S4DConfiguration
    /// The model width (the number of S4D channels H).
    public let hiddenSize: Int
    /// The S4D parameters.
    public internal(set) var parameters: S4DParameters<T>
    /// The discretised recurrence used for decoding (derived from ``parameters``).
    public var recurrence: S4DRecurrence<T> { _recurrence! }
    private var _recurrence: S4DRecurrence<T>?
    /// `output_linear` `[2H, H]` with bias.
    public internal(set) var outputLinear: Linear<T>
    private let discretization: SSMDiscretization

    /// The mixer with its extents; its parameters are supplied by a ``ParameterWalk``.
    init(_ c: S4DConfiguration, hiddenSize h: Int) {
        configuration = c
        hiddenSize = h
        discretization = c.discretization
        // Zero channels until the walk supplies the tensors (a valid, empty set).
        let vector = Tensor<T>(zeros: [0])
        let matrix = Tensor<T>(zeros: [0, 0])
        do {
            parameters = try S4DParameters(
                logDt: vector, aRe: matrix, aIm: matrix, bRe: matrix, bIm: matrix, cRe: matrix, cIm: matrix, d: vector)
        } catch {
            preconditionFailure("S4DMixer: empty parameters refused: \(error)")
        }
        _recurrence = nil
        outputLinear = Linear(outFeatures: 2 * h, inFeatures: h, bias: .zeros)
    }

    /// `log_dt [H]`, `A_re`, `A_im`, `B_re`, `B_im`, `C_re`, `C_im` `[H, N/2]`, `D [H]` (drawn
    /// together by the configuration's initialisation when built in code), then `output_linear`.
    ///
    /// - Parameter walk: the walk.
    /// - Throws: as ``ParameterWalk/parameter(_:_:shape:initializer:)``.
    public mutating func walkParameters(_ walk: inout ParameterWalk<T>) throws(ModelLoadError) {
        let h = hiddenSize
        let n2 = configuration.stateSize / 2
        let seed = walk.seedForInitialization()
        var initial: S4DParameters<T>? = nil
        let c = configuration
        func random() -> S4DParameters<T> {
            if let initial { return initial }
            do {
                initial = try S4DParameters<T>.initialized(
                    channels: h, stateSize: c.stateSize, initialization: c.initialization, seed: seed!)
            } catch {
                preconditionFailure("S4DMixer: initialisation failed for a validated configuration: \(error)")
            }
            return initial!
        }
        try walk.parameter("log_dt", &parameters.logDt, shape: [h]) { random().logDt }
        try walk.parameter("A_re", &parameters.aRe, shape: [h, n2]) { random().aRe }
        try walk.parameter("A_im", &parameters.aIm, shape: [h, n2]) { random().aIm }
        try walk.parameter("B_re", &parameters.bRe, shape: [h, n2]) { random().bRe }
        try walk.parameter("B_im", &parameters.bIm, shape: [h, n2]) { random().bIm }
        try walk.parameter("C_re", &parameters.cRe, shape: [h, n2]) { random().cRe }
        try walk.parameter("C_im", &parameters.cIm, shape: [h, n2]) { random().cIm }
        try walk.parameter("D", &parameters.d, shape: [h]) { random().d }
        try checkDomain(walk)
        try walk.child("output_linear", &outputLinear)
    }

    /// Values a checkpoint or a caller supplies must lie in the domain S4D is defined on
    /// (finite, `A_re` ≤ 0, `exp(log_dt)` finite): the same checks as ``S4DParameters``'s
    /// initialiser, reported against the parameter's key. An optimiser's in-place step is not
    /// checked here: the kernels refuse such parameters when the layer next runs
    /// (``/LRNNKernels/KernelError``), and the trainer reports that step.
    ///
    /// - Parameter walk: the walk that has just visited the S4D parameters.
    /// - Throws: ``ModelLoadError/nonFiniteWeights(file:keys:)`` or
    ///   ``ModelLoadError/invalidParameterValue(file:key:reason:)`` naming the first offending key.
    private func checkDomain(_ walk: ParameterWalk<T>) throws(ModelLoadError) {
        let file: String
        switch walk.mode {
        case let .supply(store): file = store.sourceName
        case .assign: file = "parameters"
        case .collect, .modify: return
        }
        let p = parameters
        do {
            _ = try S4DParameters(
                logDt: p.logDt, aRe: p.aRe, aIm: p.aIm, bRe: p.bRe, bIm: p.bIm, cRe: p.cRe, cIm: p.cIm, d: p.d)
        } catch {
            switch error {
            case let .nonFinite(name): throw .nonFiniteWeights(file: file, keys: [walk.prefix + name])
            case let .invalidArgument(name, reason):
                throw .invalidParameterValue(file: file, key: walk.prefix + name, reason: reason)
            default:
                // Shapes are the walk's (verified, or the store's placeholders of the right shape).
                throw .invalidParameterValue(file: file, key: walk.prefix + "A_re", reason: "\(error)")
            }
        }
    }

    /// Re-discretises the recurrence used for decoding from the parameters.
    public mutating func parametersDidChange() {
        _recurrence = S4DRecurrence(parameters, discretization: discretization)
    }

    /// A zero complex state `[N, H, N/2]`.
    public func makeState(sequences n: Int) -> MixerState<T> {
        MixerState(conv: [], recurrent: Tensor(zeros: [0]), complex: recurrence.zeroState(batch: n))
    }

    /// GELU, the output projection and the GLU.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    private func output(_ y: inout Tensor<T>) -> Tensor<T> {
        Activation.gelu.apply(&y)
        return S4DGatedLinearUnit.forward(outputLinear(y), width: hiddenSize)
    }

    /// The prefill path (chunked S4D convolution; packed sequences in one call, each from its own state).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward(
        _ x: Tensor<T>, layout: SequenceLayout, state: inout MixerState<T>?
    ) throws(KernelError) -> Tensor<T> {
        let h = hiddenSize
        // Packed sequences run in one call, each from its own state (the kernel's `sequences:`).
        let (b, t) = layout.isPacked ? (1, layout.tokenCount) : (layout.sequenceCount, layout.uniformLength)
        let sequences = try KernelError.sequenceBoundaries(layout.isPacked ? layout.boundaries : nil)
        let r = try S4D.chunked(
            S4D.Inputs(u: x.reshaped([b, t, h]), parameters: parameters, initialState: state?.complex),
            discretization: discretization, sequences: sequences)
        if state != nil { state!.complex = r.finalState }
        var y = r.output.reshaped([b * t, h])
        return output(&y)
    }

    /// The decoding path (S4D recurrence step).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func step(_ x: Tensor<T>, state: inout MixerState<T>) throws(KernelError) -> Tensor<T> {
        guard state.complex != nil else {
            throw .invalidArgument(
                name: "state", reason: "an S4D layer needs the complex state its makeState(sequences:) returns")
        }
        var y = try recurrence.step(x.reshaped([x.count / hiddenSize, hiddenSize]), state: &state.complex!)
        return output(&y)
    }
}

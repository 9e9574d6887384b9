import ComplexModule
import LRNNKernels
import LRNNLinearAlgebra

/// An S4D token mixer (for stacks assembled in code): per hidden channel a diagonal state-space
/// convolution, then GELU, then a GLU output projection.
///
///     y = S4D(x)   (y[t,h] = Σ_{s≤t} K[h,s]·x[t−s,h] + D[h]·x[t,h], carried as a complex state)
///     z = output_linear(gelu(y))  [tokens, 2·hidden];   out = z[:, :hidden] ⊙ σ(z[:, hidden:])
///
/// Prefill runs the chunked S4D convolution, decoding the S4D recurrence. Parameters sit under
/// `model.layers.{i}.attn.`: `log_dt [H]`, `A_re`, `A_im`, `B_re`, `B_im`, `C_re`, `C_im`
/// `[H, N/2]`, `D [H]`, `output_linear.weight [2H, H]`, `output_linear.bias [2H]`; `A_re` must be
/// ≤ 0 (``ModelLoadError/invalidParameterValue(file:key:reason:)`` otherwise).
public struct S4DMixer<T: LRNNScalar>: TokenMixer {
    /// The configuration.
    public let configuration: S4DConfiguration
    /// The model width (the number of S4D channels H).
    public let hiddenSize: Int
    /// The S4D parameters.
    public let parameters: S4DParameters<T>
    /// The discretised recurrence used for decoding.
    public let recurrence: S4DRecurrence<T>
    /// `output_linear` `[2H, H]` with bias.
    public let outputLinear: Linear<T>
    private let discretization: SSMDiscretization

    init(_ c: S4DConfiguration, hiddenSize h: Int, prefix p: String, store: ParameterStore<T>, initStd: Double)
        throws(ModelLoadError)
    {
        configuration = c
        hiddenSize = h
        discretization = c.discretization
        let n2 = c.stateSize / 2
        var initial: S4DParameters<T>? = nil
        let seed = store.nextSeed()
        func random() -> S4DParameters<T> {
            if let initial { return initial }
            do {
                initial = try S4DParameters<T>.initialized(
                    channels: h, stateSize: c.stateSize,
                    initialization: c.initialization, seed: seed)
            } catch {
                preconditionFailure("S4DMixer: initialisation failed for a validated configuration: \(error)")
            }
            return initial!
        }
        let logDt = try store.tensor(p + "log_dt", [h]) { random().logDt }
        let aRe = try store.tensor(p + "A_re", [h, n2]) { random().aRe }
        let aIm = try store.tensor(p + "A_im", [h, n2]) { random().aIm }
        let bRe = try store.tensor(p + "B_re", [h, n2]) { random().bRe }
        let bIm = try store.tensor(p + "B_im", [h, n2]) { random().bIm }
        let cRe = try store.tensor(p + "C_re", [h, n2]) { random().cRe }
        let cIm = try store.tensor(p + "C_im", [h, n2]) { random().cIm }
        let d = try store.tensor(p + "D", [h]) { random().d }
        do {
            parameters = try S4DParameters(
                logDt: logDt, aRe: aRe, aIm: aIm, bRe: bRe, bIm: bIm, cRe: cRe, cIm: cIm, d: d)
        } catch {
            // Shapes are the store's (verified, or placeholders); values come from a checkpoint
            // or an optimiser step and may leave the domain S4D is defined on.
            switch error {
            case let .nonFinite(name): throw .nonFiniteWeights(file: store.sourceName, keys: [p + name])
            case let .invalidArgument(name, reason):
                throw .invalidParameterValue(file: store.sourceName, key: p + name, reason: reason)
            default: preconditionFailure("S4DMixer: invalid parameters: \(error)")
            }
        }
        recurrence = S4DRecurrence(parameters, discretization: discretization)
        outputLinear = Linear(
            weight: try store.tensor(p + "output_linear.weight", [2 * h, h], .normal(std: initStd)),
            bias: try store.tensor(p + "output_linear.bias", [2 * h], .zeros))
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
        let z = outputLinear(y)
        let h = hiddenSize
        let rows = y.count / h
        var out = Tensor<T>.zeros([rows, h])
        z.withUnsafeBufferPointer { zb in
            out.withUnsafeMutableBufferPointer { ob in
                for r in 0..<rows {
                    for j in 0..<h {
                        let a = zb[r * 2 * h + j]
                        let g = zb[r * 2 * h + h + j]
                        ob[r * h + j] = a / (1 + T.exp(-g))
                    }
                }
            }
        }
        return out
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

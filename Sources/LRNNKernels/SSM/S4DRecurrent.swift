import ComplexModule
import LRNNLinearAlgebra
import RealModule

extension S4D {
    /// One token for every batch entry from the parameters: `u [B, H]` → `y [B, H]`, updating
    /// `state [B, H, N2]` (`x ← dA·x + dB·u`, `y = 2·Re(C·x) + D·u` per channel and mode).
    ///
    /// The parameters are discretised on every call; a decoder that runs many steps discretises
    /// once into an ``S4DRecurrence`` and calls its step.
    ///
    /// - Parameters:
    ///   - u: one input per sequence and channel, `[B, H]`.
    ///   - parameters: the S4D parameters.
    ///   - discretization: zoh or bilinear.
    ///   - state: `[B, H, N2]`, advanced by one token (unchanged when an error is thrown).
    /// - Returns: `y [B, H]`.
    /// - Throws: ``KernelError`` naming `u`, `state` or a parameter tensor (shape or non-finite values).
    @_specialize(exported:true,where T == Float)
    @_specialize(exported:true,where T == Double)
    public static func step<T: LRNNScalar>(
        _ u: Tensor<T>, parameters: S4DParameters<T>, discretization: SSMDiscretization,
        state: inout Tensor<Complex<T>>
    ) throws(KernelError) -> Tensor<T> {
        try parameters.validate()
        return try S4DRecurrence(parameters, discretization: discretization).step(u, state: &state)
    }

    /// S4D token by token through ``S4DRecurrence/step(_:state:)``: the recurrent path a decoder takes.
    ///
    /// Without `sequences` every token advances all B batch entries at once; with them each packed
    /// sequence runs alone from its own initial state.
    ///
    /// - Parameters:
    ///   - inputs: as for ``chunked(_:discretization:sequences:chunkSize:)``.
    ///   - discretization: zoh or bilinear.
    ///   - sequences: optional packed-sequence boundaries over tokens (B must be 1).
    /// - Returns: the output `[B, T, H]` and the final states `[N, H, N2]`.
    /// - Throws: the same ``KernelError``s as `chunked` (every input is validated before any work).
    @_specialize(exported:true,where T == Float)
    @_specialize(exported:true,where T == Double)
    public static func recurrent<T: LRNNScalar>(
        _ inputs: Inputs<T>, discretization: SSMDiscretization, sequences: SequenceBoundaries? = nil
    ) throws(KernelError) -> (output: Tensor<T>, finalState: Tensor<Complex<T>>) {
        let problem = try S4DProblem(inputs, sequences: sequences)
        let recurrence = S4DRecurrence(inputs.parameters, discretization: discretization)
        return try recurrentSSM(
            inputs.u, sequences: problem.sequences, packed: sequences != nil,
            initialState: inputs.initialState ?? .zeros(problem.stateShape)
        ) { (u: Tensor<T>, state: inout Tensor<Complex<T>>) throws(KernelError) -> Tensor<T> in
            try recurrence.step(u, state: &state)
        }
    }

    /// The naive S4D recurrence in Float64, token by token: per channel h and mode n,
    /// `x ← dA·x + dB·u_t`, `y_t = 2·Re Σ_n C_n·x_n + D·u_t` (S4D, Gu et al. 2022, the diagonal
    /// state-space model after discretisation; the conjugate modes are the factor 2). O(B·T·H·N2);
    /// the oracle the chunked and recurrent paths are tested against.
    ///
    /// - Parameters:
    ///   - inputs: as for ``chunked(_:discretization:sequences:chunkSize:)``.
    ///   - discretization: zoh or bilinear.
    ///   - sequences: optional packed-sequence boundaries over tokens (B must be 1).
    /// - Returns: the output `[B, T, H]` and the final states `[N, H, N2]`.
    /// - Throws: the same ``KernelError``s as `chunked` (it never traps on a caller's input).
    @_specialize(exported:true,where T == Float)
    @_specialize(exported:true,where T == Double)
    public static func reference<T: LRNNScalar>(
        _ inputs: Inputs<T>, discretization: SSMDiscretization, sequences: SequenceBoundaries? = nil
    ) throws(KernelError) -> (output: Tensor<T>, finalState: Tensor<Complex<T>>) {
        let problem = try S4DProblem(inputs, sequences: sequences)
        let parameters = inputs.parameters
        let (t, h, n2) = (problem.tokens, problem.channels, problem.modes)
        let u = inputs.u
        var y = [T](repeating: 0, count: u.count)
        var final = inputs.initialState ?? .zeros(problem.stateShape)
        for ch in 0..<h {
            let modes = parameters.discreteModes(channel: ch, discretization)
            let d = Double(parameters.d.scalars[ch])
            for seq in problem.sequences {
                var x = (0..<n2).map { k in
                    let z = final.scalars[(seq.slot * h + ch) * n2 + k]
                    return Complex(Double(z.real), Double(z.imaginary))
                }
                for s in seq.tokens {
                    let i = (seq.batch * t + s) * h + ch
                    let ut = Double(u.scalars[i])
                    var acc = d * ut
                    for (k, md) in modes.enumerated() {
                        x[k] = md.pole * x[k] + md.inputWeight * Complex(ut)
                        acc += 2 * (md.outputWeight * x[k]).real
                    }
                    y[i] = T(acc)
                }
                for k in 0..<n2 {
                    final.scalars[(seq.slot * h + ch) * n2 + k] = Complex(T(x[k].real), T(x[k].imaginary))
                }
            }
        }
        return (Tensor(shape: u.shape, scalars: y), final)
    }
}

import ComplexModule
import LRNNLinearAlgebra
import RealModule

extension S5 {
    /// One token for every batch entry: `u [B, H]` → `y [B, H]`, updating `state [B, P]`
    /// (the chunked GEMM path with one row).
    ///
    /// - Parameters:
    ///   - u: one input per sequence and channel, `[B, H]`.
    ///   - system: the discretised system.
    ///   - state: `[B, P]`, advanced by one token (unchanged when an error is thrown).
    /// - Returns: `y [B, H]`.
    /// - Throws: ``KernelError/shapeMismatch(tensor:shape:expected:)`` naming `u` or `state`,
    ///   ``KernelError/nonFinite(tensor:)`` for NaN/±∞ in `u` or the state (named `initialState`).
    @_specialize(exported:true,where T == Float)
    @_specialize(exported:true,where T == Double)
    public static func step<T: LRNNScalar>(
        _ u: Tensor<T>, system: S5System<T>, state: inout Tensor<Complex<T>>
    ) throws(KernelError) -> Tensor<T> {
        guard u.rank == 2, u.shape[1] == system.channels else {
            throw .shapeMismatch(tensor: "u", shape: u.shape, expected: "[B, \(system.channels)]")
        }
        try KernelError.requireShape(state, [u.shape[0], system.states], "state")
        let (y, s) = try chunked(
            u.reshaped([u.shape[0], 1, u.shape[1]]), system: system, chunkSize: 1, initialState: state)
        state = s
        return y.reshaped(u.shape)
    }

    /// ``step(_:system:state:)`` from the parameters (discretised on every call; a decoder that runs
    /// many steps discretises once into an ``S5System``).
    ///
    /// - Parameters:
    ///   - u: one input per sequence and channel, `[B, H]`.
    ///   - parameters: the S5 parameters.
    ///   - discretization: zoh or bilinear.
    ///   - state: `[B, P]`, advanced by one token.
    /// - Returns: `y [B, H]`.
    /// - Throws: as ``step(_:system:state:)``, and ``KernelError`` naming a parameter tensor.
    @_specialize(exported:true,where T == Float)
    @_specialize(exported:true,where T == Double)
    public static func step<T: LRNNScalar>(
        _ u: Tensor<T>, parameters: S5Parameters<T>, discretization: SSMDiscretization,
        state: inout Tensor<Complex<T>>
    ) throws(KernelError) -> Tensor<T> {
        try parameters.validate()
        return try step(u, system: S5System(parameters, discretization: discretization), state: &state)
    }

    /// S5 token by token through ``step(_:system:state:)``: the recurrent path a decoder takes.
    ///
    /// Without `sequences` every token advances all B batch entries at once; with them each packed
    /// sequence runs alone from its own initial state.
    ///
    /// - Parameters:
    ///   - inputs: as for ``chunked(_:discretization:sequences:chunkSize:)``.
    ///   - discretization: zoh or bilinear.
    ///   - sequences: optional packed-sequence boundaries over tokens (B must be 1).
    /// - Returns: the output `[B, T, H]` and the final states `[N, P]`.
    /// - Throws: the same ``KernelError``s as `chunked` (every input is validated before any work).
    @_specialize(exported:true,where T == Float)
    @_specialize(exported:true,where T == Double)
    public static func recurrent<T: LRNNScalar>(
        _ inputs: Inputs<T>, discretization: SSMDiscretization, sequences: SequenceBoundaries? = nil
    ) throws(KernelError) -> (output: Tensor<T>, finalState: Tensor<Complex<T>>) {
        let parameters = inputs.parameters
        try parameters.validate()
        let problem = try S5Problem(
            inputs.u, channels: parameters.channels, states: parameters.states, initialState: inputs.initialState,
            sequences: sequences)
        let system = S5System(parameters, discretization: discretization)
        return try recurrentSSM(
            inputs.u, sequences: problem.sequences, packed: sequences != nil,
            initialState: inputs.initialState ?? .zeros(problem.stateShape)
        ) { (u: Tensor<T>, state: inout Tensor<Complex<T>>) throws(KernelError) -> Tensor<T> in
            try step(u, system: system, state: &state)
        }
    }

    /// The naive S5 recurrence in Float64, token by token with full complex sums:
    /// `x_t = dΛ·x_{t−1} + dB·u_t`, `y_t = f·Re(C·x_t) + D·u_t` (S5, Smith et al. 2023, eq. 2 after
    /// discretisation). O(B·T·P·H); the oracle the other paths are tested against.
    ///
    /// - Parameters:
    ///   - inputs: as for ``chunked(_:discretization:sequences:chunkSize:)``.
    ///   - discretization: zoh or bilinear.
    ///   - sequences: optional packed-sequence boundaries over tokens (B must be 1).
    /// - Returns: the output `[B, T, H]` and the final states `[N, P]`.
    /// - Throws: the same ``KernelError``s as `chunked` (it never traps on a caller's input).
    @_specialize(exported:true,where T == Float)
    @_specialize(exported:true,where T == Double)
    public static func reference<T: LRNNScalar>(
        _ inputs: Inputs<T>, discretization: SSMDiscretization, sequences: SequenceBoundaries? = nil
    ) throws(KernelError) -> (output: Tensor<T>, finalState: Tensor<Complex<T>>) {
        let parameters = inputs.parameters
        try parameters.validate()
        let problem = try S5Problem(
            inputs.u, channels: parameters.channels, states: parameters.states, initialState: inputs.initialState,
            sequences: sequences)
        let (p, h, t) = (parameters.states, parameters.channels, problem.tokens)
        let u = inputs.u
        let f: Double = parameters.conjugateSymmetric ? 2 : 1
        var poles: [Complex<Double>] = []
        var db: [Complex<Double>] = []
        for i in 0..<p {
            let a = Complex(Double(parameters.lambdaRe.scalars[i]), Double(parameters.lambdaIm.scalars[i]))
            let (pole, _, scale) = discretization.discretize(a, step: Double.exp(Double(parameters.logStep.scalars[i])))
            poles.append(pole)
            for j in 0..<h {
                db.append(
                    scale
                        * Complex(Double(parameters.bRe.scalars[i * h + j]), Double(parameters.bIm.scalars[i * h + j])))
            }
        }
        var y = [T](repeating: 0, count: u.count)
        var final = inputs.initialState ?? .zeros(problem.stateShape)
        var x = [Complex<Double>](repeating: .zero, count: p)
        for seq in problem.sequences {
            for i in 0..<p {
                let z = final.scalars[seq.slot * p + i]
                x[i] = Complex(Double(z.real), Double(z.imaginary))
            }
            for s in seq.tokens {
                let row = (seq.batch * t + s) * h
                for i in 0..<p {
                    var acc = poles[i] * x[i]
                    for j in 0..<h { acc = acc + db[i * h + j] * Double(u.scalars[row + j]) }
                    x[i] = acc
                }
                for j in 0..<h {
                    var re = 0.0
                    for i in 0..<p {
                        let cc = Complex(
                            Double(parameters.cRe.scalars[j * p + i]), Double(parameters.cIm.scalars[j * p + i]))
                        re += (cc * x[i]).real
                    }
                    y[row + j] = T(f * re + Double(parameters.d.scalars[j]) * Double(u.scalars[row + j]))
                }
            }
            for i in 0..<p { final.scalars[seq.slot * p + i] = Complex(T(x[i].real), T(x[i].imaginary)) }
        }
        return (Tensor(shape: u.shape, scalars: y), final)
    }
}

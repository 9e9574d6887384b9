import ComplexModule
import LRNNLinearAlgebra
import RealModule

extension S5 {
    /// The number of consecutive chunks whose states and adjoints are held at once for the
    /// parameter GEMMs: a constant, so that the order of every sum depends on the shape only.
    static let backwardSlabChunks = 16

    /// The gradients of the S5 layer for
    /// `L = Σ y⊙outputGradient + Σ Re(conj(finalState)·finalStateGradient)`, chunked and in BLAS
    /// level 3 like the forward.
    ///
    /// The adjoint `λ_t = conj(dΛ)·λ_{t+1} + f·Cᴴ·dy_t` (from `λ_T = dFinal`) is the forward scan run
    /// backwards. Three passes over chunks of C tokens:
    /// 1. every chunk alone (work items): `Z = U·[Re dB; Im dB]ᵀ` and the scan from a zero state
    ///    give its end state; `S = DY·(f·[Re C, −Im C])` and the reverse scan from a zero adjoint
    ///    give its adjoint at its first token;
    /// 2. a scan over chunk boundaries per sequence (O(P) per chunk): each chunk's start state and the
    ///    adjoint entering it from the right (`dΛ^C`, `conj(dΛ)^(C−1)` in polar form);
    /// 3. groups of 16 chunks: each chunk recomputes its states `X` and adjoints `Λ` (the two GEMMs
    ///    and scans of pass 1 from the right boundary values), `du = Λ·[Re dB; Im dB] + D⊙dy` (one
    ///    GEMM) and `Σ λ_t ⊙ conj(x_{t−1})`; then `∂L/∂dB += Λᵀ·U` and `∂L/∂C += f·DYᵀ·conj(X)` over
    ///    the group (GEMMs split by output blocks).
    /// Then the chain rule through ``SSMDiscretization`` to `Λ`, `B` and `log step`; f (2 with
    /// `conjugateSymmetric`) is a constant. docs/kernels/ssm.md derives it. Seven GEMMs of
    /// `2·T·H·2P` flops (the forward has two); chunks are work items with per-worker workspaces,
    /// and every sum runs in an order fixed by the shape.
    ///
    /// - Parameters:
    ///   - inputs: `u [B, T, H]`, the parameters, and the optional initial state `[N, P]`.
    ///   - discretization: zoh or bilinear.
    ///   - sequences: packed sequences over the T tokens of batch entry 0 (B = 1; each has its own
    ///     initial and final state, and the parameter gradients sum over them), or nil.
    ///   - chunkSize: C ≥ 1 (default 256; clamped to the longest sequence).
    ///   - outputGradient: dL/dy `[B, T, H]`, or nil for zero.
    ///   - finalStateGradient: dL/d(Re x_T) + i·dL/d(Im x_T) `[N, P]`, or nil for zero.
    /// - Returns: `du [B, T, H]`, the parameter gradients as an ``S5Parameters`` value (real
    ///   partials of each real field, `logStep` in log space, `conjugateSymmetric` copied), and the
    ///   initial state's gradient (dRe + i·dIm) iff the inputs have one.
    /// - Throws: ``KernelError/shapeMismatch(tensor:shape:expected:)`` naming a parameter (its checks re-run as at construction), `u`,
    ///   `initialState`, `outputGradient` or `finalStateGradient`; ``KernelError/nonFinite(tensor:)``;
    ///   ``KernelError/invalidArgument(name:reason:)`` for `chunkSize < 1`;
    ///   ``KernelError/invalidSequenceBoundaries(reason:)`` for B ≠ 1 or boundaries not ending at T.
    @_specialize(exported:true,where T == Float)
    @_specialize(exported:true,where T == Double)
    public static func backward<T: LRNNScalar>(
        _ inputs: Inputs<T>, discretization: SSMDiscretization, sequences: SequenceBoundaries? = nil,
        chunkSize: Int = 256, outputGradient: Tensor<T>?, finalStateGradient: Tensor<Complex<T>>?
    ) throws(KernelError) -> Inputs<T> {
        let layout = try validateBackward(
            inputs, sequences: sequences, chunkSize: chunkSize, outputGradient: outputGradient,
            finalStateGradient: finalStateGradient)
        let prm = inputs.parameters
        let (p, h) = (prm.states, prm.channels)
        let jacobians = (0..<p).map { i in
            DiscretizationJacobian(
                discretization, a: Complex(Double(prm.lambdaRe.scalars[i]), Double(prm.lambdaIm.scalars[i])),
                logStep: Double(prm.logStep.scalars[i]))
        }
        var du = Tensor<T>(zeros: inputs.u.shape)
        var gdB = [Complex<Double>](repeating: .zero, count: p * h)
        var gc = [Complex<Double>](repeating: .zero, count: h * p)
        var gPole = [Complex<Double>](repeating: .zero, count: p)
        var gD = [Double](repeating: 0, count: h)
        var dx0 = [Complex<Double>](repeating: .zero, count: layout.sequences * p)
        if layout.chunks == 0 {
            if let f = finalStateGradient { dx0 = f.scalars.map { Complex(Double($0.real), Double($0.imaginary)) } }
            return s5Gradients(
                inputs, du: du, gdB: gdB, gc: gc, gPole: gPole, gD: gD, dx0: dx0, jacobians: jacobians)
        }
        let dy = outputGradient ?? Tensor(zeros: inputs.u.shape)
        let problem = S5BackwardProblem(
            system: S5System(prm, discretization: discretization), discretization: discretization,
            layout: layout, parameters: prm, initialState: inputs.initialState,
            finalStateGradient: finalStateGradient)
        inputs.u.withUnsafeBufferPointer { ub in
            dy.withUnsafeBufferPointer { dyb in
                du.withUnsafeMutableBufferPointer { dub in
                    let u = UnsafeMutablePointer(mutating: ub.baseAddress!)
                    let d = UnsafeMutablePointer(mutating: dyb.baseAddress!)
                    problem.run(
                        u: u, dy: d, du: dub.baseAddress!, gdB: &gdB, gc: &gc, gPole: &gPole, dx0: &dx0)
                    for t in 0..<(inputs.u.count / Swift.max(h, 1)) {
                        for j in 0..<h { gD[j] += Double(d[t * h + j]) * Double(u[t * h + j]) }
                    }
                }
            }
        }
        return s5Gradients(inputs, du: du, gdB: gdB, gc: gc, gPole: gPole, gD: gD, dx0: dx0, jacobians: jacobians)
    }
}

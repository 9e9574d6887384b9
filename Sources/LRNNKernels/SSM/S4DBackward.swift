import ComplexModule
import LRNNLinearAlgebra
import RealModule

extension S4D {
    /// The gradients of the S4D layer (the chunked convolution) for
    /// `L = Σ y⊙outputGradient + Σ Re(conj(finalState)·finalStateGradient)`, chunked and in BLAS
    /// level 3 like the forward.
    ///
    /// Per channel, with the chunks of every sequence as the M rows of `U`, `DY` (`[M × C]`, zero
    /// padded), it recomputes the chunk-start states `X` (one GEMM `U·P₀ᵀ` and a scan over chunk
    /// boundaries, as the forward), runs the adjoint `g_t = conj(dA)·g_{t+1} + 2·conj(C)·dy_t` over
    /// chunk boundaries (one GEMM `DY·V₀ᵀ` and a reverse scan: the adjoint entering each chunk from
    /// the right, `ĝ`), and then:
    /// - `du = [DY | ĝ]·[Tᵀ + D·I | P]ᵀ`: the same Toeplitz convolution on the time-reversed
    ///   cotangent plus the read-out of `ĝ` (one GEMM);
    /// - the intra-chunk correlation `DYᵀ·U` (`[C × C]`, one GEMM), whose diagonals are the kernel
    ///   gradient `dK[l] = Σ dy_t·u_{t−l}` for lags `l < C`, contracted with the Vandermonde powers
    ///   `conj(dA)^l` and `l·conj(dA)^(l−1)`;
    /// - the lags that cross a chunk boundary through `X`, `ĝ` and the per-chunk sums of
    ///   `U·[dA^(C−1−s), (C−1−s)·dA^(C−2−s)]` and `DY·[dA^i, (i+1)·dA^i]` (two GEMMs);
    /// then the chain rule through ``SSMDiscretization`` to `A`, `B`, `log Δ`, and `C`, `D`.
    /// docs/kernels/ssm.md derives every term. Work `4C + 20·N2` flops per token and channel
    /// in GEMMs (the forward: `2C + 8·N2`) plus O(N2) per chunk; channels are work items with per-worker
    /// workspaces.
    ///
    /// - Parameters:
    ///   - inputs: `u [B, T, H]`, the parameters, and the optional initial state `[N, H, N2]`.
    ///   - discretization: zoh or bilinear.
    ///   - sequences: packed sequences over the T tokens of batch entry 0 (B = 1; each has its own
    ///     initial and final state, and the parameter gradients sum over them), or nil.
    ///   - chunkSize: C ≥ 1 (default 64; clamped to the longest sequence).
    ///   - outputGradient: dL/dy `[B, T, H]`, or nil for zero.
    ///   - finalStateGradient: dL/d(Re x_T) + i·dL/d(Im x_T) `[N, H, N2]`, or nil for zero.
    /// - Returns: `du [B, T, H]`, the parameter gradients as an ``S4DParameters`` value (real
    ///   partials of each real field, `logDt` in log space), and the initial state's gradient
    ///   (dRe + i·dIm) iff the inputs have one.
    /// - Throws: ``KernelError/shapeMismatch(tensor:shape:expected:)`` naming a parameter (its checks re-run as at construction), `u`,
    ///   `initialState`, `outputGradient` or `finalStateGradient`; ``KernelError/nonFinite(tensor:)``;
    ///   ``KernelError/invalidArgument(name:reason:)`` for `chunkSize < 1`;
    ///   ``KernelError/invalidSequenceBoundaries(reason:)`` for B ≠ 1 or boundaries not ending at T.
    @_specialize(exported:true,where T == Float)
    @_specialize(exported:true,where T == Double)
    public static func backward<T: LRNNScalar>(
        _ inputs: Inputs<T>, discretization: SSMDiscretization, sequences: SequenceBoundaries? = nil,
        chunkSize: Int = 64, outputGradient: Tensor<T>?, finalStateGradient: Tensor<Complex<T>>?
    ) throws(KernelError) -> Inputs<T> {
        let layout = try validateBackward(
            inputs, sequences: sequences, chunkSize: chunkSize, outputGradient: outputGradient,
            finalStateGradient: finalStateGradient)
        let p = inputs.parameters
        let (h, n2) = (p.channels, p.modes)
        let tokens = h == 0 ? 0 : inputs.u.count / h
        var du = Tensor<T>(zeros: inputs.u.shape)
        var grads = [Double](repeating: 0, count: 6 * h * n2 + 2 * h)
        var dx0 = [Complex<Double>](repeating: .zero, count: layout.sequences * h * n2)
        if layout.chunks == 0 || h == 0 {
            if let f = finalStateGradient {
                dx0 = f.scalars.map { Complex(Double($0.real), Double($0.imaginary)) }
            }
            return s4dGradients(inputs, du: du, grads: grads, dx0: dx0)
        }
        let perItem = Swift.max(1, Swift.min(64, h / Swift.max(1, 2 * Threading.workerCount)))
        let items = (h + perItem - 1) / perItem
        let workers = Swift.min(items, Threading.workerCount)
        let spaces = (0..<workers).map { _ in
            S4DBackwardWorkspace<T>(layout: layout, modes: n2, channels: perItem, tokens: tokens)
        }
        let dy = outputGradient ?? Tensor(zeros: inputs.u.shape)
        let problem = S4DBackwardProblem(
            parameters: p, discretization: discretization, layout: layout, initialState: inputs.initialState,
            finalStateGradient: finalStateGradient, tokens: tokens)
        inputs.u.withUnsafeBufferPointer { ub in
            dy.withUnsafeBufferPointer { dyb in
                du.withUnsafeMutableBufferPointer { dub in
                    grads.withUnsafeMutableBufferPointer { gb in
                        dx0.withUnsafeMutableBufferPointer { xb in
                            let out = S4DBackwardOutputs(
                                du: UncheckedPointer(dub.baseAddress!), grads: UncheckedPointer(gb.baseAddress!),
                                dx0: UncheckedPointer(xb.baseAddress!))
                            let uIn = UncheckedPointer(UnsafeMutablePointer(mutating: ub.baseAddress!))
                            let dyIn = UncheckedPointer(UnsafeMutablePointer(mutating: dyb.baseAddress!))
                            Threading.parallelFor(items, workers: workers) { item, worker in
                                let ch0 = item * perItem
                                problem.run(
                                    channels: ch0..<Swift.min(h, ch0 + perItem), u: uIn.pointer, dy: dyIn.pointer,
                                    space: spaces[worker], out: out)
                            }
                        }
                    }
                }
            }
        }
        return s4dGradients(inputs, du: du, grads: grads, dx0: dx0)
    }
}

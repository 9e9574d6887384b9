import ComplexModule
import LRNNLinearAlgebra
import RealModule

extension S4D {
    /// Validates the arguments of a backward call (the parameters first) and lays out its sequences and chunks (see
    /// ``SSMChunkLayout/validateBackward(u:channels:stateTail:initialState:sequences:chunkSize:outputGradient:finalStateGradient:)``).
    static func validateBackward<T: LRNNScalar>(
        _ inputs: Inputs<T>, sequences: SequenceBoundaries?, chunkSize: Int, outputGradient: Tensor<T>?,
        finalStateGradient: Tensor<Complex<T>>?
    ) throws(KernelError) -> SSMChunkLayout {
        let prm = inputs.parameters
        try prm.validate()
        return try SSMChunkLayout.validateBackward(
            u: inputs.u, channels: prm.channels, stateTail: [prm.channels, prm.modes],
            initialState: inputs.initialState, sequences: sequences, chunkSize: chunkSize,
            outputGradient: outputGradient, finalStateGradient: finalStateGradient)
    }

    /// The gradients of an S4D layer by differentiating its recurrence token by token (Float64
    /// complex arithmetic): the test oracle of ``backward(_:discretization:sequences:chunkSize:outputGradient:finalStateGradient:)``.
    ///
    /// Per channel and mode, the forward states `x_t = dA·x_{t−1} + dB·u_t` (`x_{−1}` the initial
    /// state) are stored, then the adjoint `g_t = conj(dA)·g_{t+1} + 2·conj(C)·dy_t` runs backwards
    /// from `g_T = dFinal` (so `g_{T−1} = dFinal + 2·conj(C)·dy_{T−1}`), and
    /// `du_t = Re(conj(g_t)·dB) + D·dy_t`, `∂L/∂dB = Σ g_t·u_t`, `∂L/∂dA = Σ g_t·conj(x_{t−1})`,
    /// `∂L/∂C = 2·Σ dy_t·conj(x_t)`, `∂L/∂x_{−1} = conj(dA)·g_0`, `∂L/∂D = Σ dy_t·u_t` (complex
    /// gradients in the `dRe + i·dIm` form), then the chain rule through the discretisation
    /// (see ``SSMDiscretization``). O(B·T·H·N2).
    ///
    /// - Parameters:
    ///   - inputs: `u [B, T, H]`, the parameters, and the optional initial state `[N, H, N2]`.
    ///   - discretization: zoh or bilinear.
    ///   - sequences: packed sequences over the T tokens of batch entry 0 (B = 1), or nil.
    ///   - outputGradient: dL/dy `[B, T, H]`, or nil for zero.
    ///   - finalStateGradient: dL/d(Re x_T) + i·dL/d(Im x_T) `[N, H, N2]`, or nil for zero.
    /// - Returns: the gradients in an ``Inputs`` value (the initial state's iff it was given).
    /// - Throws: ``KernelError`` as the chunked backward.
    @_specialize(exported:true,where T == Float)
    @_specialize(exported:true,where T == Double)
    public static func referenceBackward<T: LRNNScalar>(
        _ inputs: Inputs<T>, discretization: SSMDiscretization, sequences: SequenceBoundaries? = nil,
        outputGradient: Tensor<T>?, finalStateGradient: Tensor<Complex<T>>?
    ) throws(KernelError) -> Inputs<T> {
        let layout = try validateBackward(
            inputs, sequences: sequences, chunkSize: 1, outputGradient: outputGradient,
            finalStateGradient: finalStateGradient)
        let p = inputs.parameters
        let (h, n2) = (p.channels, p.modes)
        let u = inputs.u.scalars.map { Double($0) }
        let dy = outputGradient?.scalars.map { Double($0) } ?? [Double](repeating: 0, count: u.count)
        var du = [Double](repeating: 0, count: u.count)
        // The six [H, N2] gradients (A_re, A_im, B_re, B_im, C_re, C_im), then log Δ [H] and D [H].
        var grads = [Double](repeating: 0, count: 6 * h * n2 + 2 * h)
        let (logDtAt, dAt) = (6 * h * n2, 6 * h * n2 + h)
        var dx0 = [Complex<Double>](repeating: .zero, count: layout.sequences * h * n2)
        var xs: [Complex<Double>] = []
        for ch in 0..<h {
            let dd = Double(p.d.scalars[ch])
            for s in 0..<layout.sequences {
                for t in layout.sequenceStart[s]..<(layout.sequenceStart[s] + layout.sequenceLength[s]) {
                    grads[dAt + ch] += dy[t * h + ch] * u[t * h + ch]
                    du[t * h + ch] += dd * dy[t * h + ch]
                }
            }
            for k in 0..<n2 {
                let (a, b, c) = p.mode(ch, k)
                let jac = DiscretizationJacobian(discretization, a: a, logStep: Double(p.logDt.scalars[ch]))
                let (pole, db) = (jac.pole, jac.scale * b)
                var gPole = Complex<Double>.zero
                var gdB = Complex<Double>.zero
                var gc = Complex<Double>.zero
                for s in 0..<layout.sequences {
                    let (start, len) = (layout.sequenceStart[s], layout.sequenceLength[s])
                    let si = (s * h + ch) * n2 + k
                    // Forward: xs[i] = x_{i−1}, i = 0 ... len.
                    var x = Complex<Double>.zero
                    if let x0 = inputs.initialState?.scalars[si] { x = Complex(Double(x0.real), Double(x0.imaginary)) }
                    xs.removeAll(keepingCapacity: true)
                    xs.append(x)
                    for i in 0..<len {
                        x = pole * x + db * u[(start + i) * h + ch]
                        xs.append(x)
                    }
                    // Backward.
                    var carry = Complex<Double>.zero
                    if let f = finalStateGradient?.scalars[si] { carry = Complex(Double(f.real), Double(f.imaginary)) }
                    for i in stride(from: len - 1, through: 0, by: -1) {
                        let t = (start + i) * h + ch
                        let g = carry + c.conjugate * (2 * dy[t])
                        du[t] += (g.conjugate * db).real
                        gdB = gdB + g * u[t]
                        gPole = gPole + g * xs[i].conjugate
                        gc = gc + xs[i + 1].conjugate * (2 * dy[t])
                        carry = pole.conjugate * g
                    }
                    dx0[si] = carry
                }
                let (ga, gl) = jac.chain(gPole: gPole, gScale: b.conjugate * gdB)
                let gb = jac.scale.conjugate * gdB
                for (j, v) in [ga.real, ga.imaginary, gb.real, gb.imaginary, gc.real, gc.imaginary].enumerated() {
                    grads[j * h * n2 + ch * n2 + k] = v
                }
                grads[logDtAt + ch] += gl
            }
        }
        return s4dGradients(
            inputs, du: Tensor(shape: inputs.u.shape, scalars: du.map { T($0) }), grads: grads, dx0: dx0)
    }

    /// Packs Float64 gradients (`grads`: the six `[H, N2]` blocks A_re, A_im, B_re, B_im, C_re,
    /// C_im, then log Δ `[H]` and D `[H]`) into an ``Inputs`` value of the working precision.
    static func s4dGradients<T: LRNNScalar>(
        _ inputs: Inputs<T>, du: Tensor<T>, grads: [Double], dx0: [Complex<Double>]
    ) -> Inputs<T> {
        let p = inputs.parameters
        let (h, n2) = (p.channels, p.modes)
        func tensor(_ block: Int, _ shape: [Int]) -> Tensor<T> {
            let start = block * h * n2
            let count = shape.reduce(1, *)
            return Tensor(shape: shape, scalars: grads[start..<(start + count)].map { T($0) })
        }
        let shape = [h, n2]
        let parameters = S4DParameters<T>(
            unchecked: tensor(6, [h]), aRe: tensor(0, shape), aIm: tensor(1, shape), bRe: tensor(2, shape),
            bIm: tensor(3, shape), cRe: tensor(4, shape), cIm: tensor(5, shape),
            d: Tensor(shape: [h], scalars: grads[(6 * h * n2 + h)...].map { T($0) }))
        let state = inputs.initialState.map { x0 in
            Tensor<Complex<T>>(
                shape: x0.shape, scalars: dx0.map { Complex(T($0.real), T($0.imaginary)) })
        }
        return Inputs(u: du, parameters: parameters, initialState: state)
    }
}

import ComplexModule
import LRNNLinearAlgebra
import RealModule

extension S5 {
    /// Validates the arguments of a backward call (the parameters first) and lays out its sequences and chunks (see
    /// ``SSMChunkLayout/validateBackward(u:channels:stateTail:initialState:sequences:chunkSize:outputGradient:finalStateGradient:)``).
    static func validateBackward<T: LRNNScalar>(
        _ inputs: Inputs<T>, sequences: SequenceBoundaries?, chunkSize: Int, outputGradient: Tensor<T>?,
        finalStateGradient: Tensor<Complex<T>>?
    ) throws(KernelError) -> SSMChunkLayout {
        let prm = inputs.parameters
        try prm.validate()
        return try SSMChunkLayout.validateBackward(
            u: inputs.u, channels: prm.channels, stateTail: [prm.states],
            initialState: inputs.initialState, sequences: sequences, chunkSize: chunkSize,
            outputGradient: outputGradient, finalStateGradient: finalStateGradient)
    }

    /// The gradients of an S5 layer by differentiating its recurrence token by token (Float64
    /// complex arithmetic): the test oracle of ``backward(_:discretization:sequences:chunkSize:outputGradient:finalStateGradient:)``.
    ///
    /// The forward states `x_t = dΛ·x_{t−1} + dB·u_t` (`x_{−1}` the initial state) are stored, then
    /// the adjoint `λ_t = conj(dΛ)·λ_{t+1} + f·Cᴴ·dy_t` runs backwards from `λ_T = dFinal`, and
    /// `du_t = Re(dBᴴ·λ_t) + D·dy_t`, `∂L/∂dB = Σ λ_t·u_tᵀ`, `∂L/∂dΛ = Σ λ_t ⊙ conj(x_{t−1})`,
    /// `∂L/∂C = f·Σ dy_t·x_tᴴ`, `∂L/∂x_{−1} = conj(dΛ)·λ_0`, `∂L/∂D = Σ dy_t ⊙ u_t` (complex
    /// gradients in the `dRe + i·dIm` form; f = 2 with `conjugateSymmetric`, a constant), then the
    /// chain rule through the discretisation (see ``SSMDiscretization``). O(B·T·P·H).
    ///
    /// - Parameters:
    ///   - inputs: `u [B, T, H]`, the parameters, and the optional initial state `[N, P]`.
    ///   - discretization: zoh or bilinear.
    ///   - sequences: packed sequences over the T tokens of batch entry 0 (B = 1), or nil.
    ///   - outputGradient: dL/dy `[B, T, H]`, or nil for zero.
    ///   - finalStateGradient: dL/d(Re x_T) + i·dL/d(Im x_T) `[N, P]`, or nil for zero.
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
        let prm = inputs.parameters
        let (p, h) = (prm.states, prm.channels)
        let f: Double = prm.conjugateSymmetric ? 2 : 1
        let u = inputs.u.scalars.map { Double($0) }
        let dy = outputGradient?.scalars.map { Double($0) } ?? [Double](repeating: 0, count: u.count)
        func cx(_ re: Tensor<T>, _ im: Tensor<T>, _ i: Int) -> Complex<Double> {
            Complex(Double(re.scalars[i]), Double(im.scalars[i]))
        }
        let jacobians = (0..<p).map { i in
            DiscretizationJacobian(
                discretization, a: cx(prm.lambdaRe, prm.lambdaIm, i), logStep: Double(prm.logStep.scalars[i]))
        }
        let db = (0..<(p * h)).map { jacobians[$0 / h].scale * cx(prm.bRe, prm.bIm, $0) }
        let c = (0..<(h * p)).map { cx(prm.cRe, prm.cIm, $0) }
        var du = [Double](repeating: 0, count: u.count)
        var gdB = [Complex<Double>](repeating: .zero, count: p * h)
        var gc = [Complex<Double>](repeating: .zero, count: h * p)
        var gPole = [Complex<Double>](repeating: .zero, count: p)
        var gD = [Double](repeating: 0, count: h)
        var dx0 = [Complex<Double>](repeating: .zero, count: layout.sequences * p)
        for s in 0..<layout.sequences {
            let (start, len) = (layout.sequenceStart[s], layout.sequenceLength[s])
            // Forward: xs[i] = x_{i−1}, i = 0 ... len.
            var x = (0..<p).map { i -> Complex<Double> in
                guard let z = inputs.initialState?.scalars[s * p + i] else { return .zero }
                return Complex(Double(z.real), Double(z.imaginary))
            }
            var xs = [x]
            for i in 0..<len {
                let row = (start + i) * h
                for q in 0..<p {
                    var acc = jacobians[q].pole * x[q]
                    for j in 0..<h { acc = acc + db[q * h + j] * u[row + j] }
                    x[q] = acc
                }
                xs.append(x)
            }
            // Backward.
            var carry = (0..<p).map { i -> Complex<Double> in
                guard let z = finalStateGradient?.scalars[s * p + i] else { return .zero }
                return Complex(Double(z.real), Double(z.imaginary))
            }
            for i in stride(from: len - 1, through: 0, by: -1) {
                let row = (start + i) * h
                for j in 0..<h {
                    gD[j] += dy[row + j] * u[row + j]
                    du[row + j] += Double(prm.d.scalars[j]) * dy[row + j]
                }
                for q in 0..<p {
                    var g = carry[q]
                    for j in 0..<h {
                        g = g + c[j * p + q].conjugate * (f * dy[row + j])
                        gc[j * p + q] = gc[j * p + q] + xs[i + 1][q].conjugate * (f * dy[row + j])
                    }
                    for j in 0..<h {
                        du[row + j] += (g.conjugate * db[q * h + j]).real
                        gdB[q * h + j] = gdB[q * h + j] + g * u[row + j]
                    }
                    gPole[q] = gPole[q] + g * xs[i][q].conjugate
                    carry[q] = jacobians[q].pole.conjugate * g
                }
            }
            for q in 0..<p { dx0[s * p + q] = carry[q] }
        }
        return s5Gradients(
            inputs, du: Tensor(shape: inputs.u.shape, scalars: du.map { T($0) }), gdB: gdB, gc: gc, gPole: gPole,
            gD: gD, dx0: dx0, jacobians: jacobians)
    }

    /// Packs Float64 gradients with respect to dB (`[P, H]`), C (`[H, P]`) and dΛ (`[P]`), D and
    /// the initial state into an ``Inputs`` value, through the chain rule of the discretisation.
    static func s5Gradients<T: LRNNScalar>(
        _ inputs: Inputs<T>, du: Tensor<T>, gdB: [Complex<Double>], gc: [Complex<Double>],
        gPole: [Complex<Double>], gD: [Double], dx0: [Complex<Double>], jacobians: [DiscretizationJacobian]
    ) -> Inputs<T> {
        let prm = inputs.parameters
        let (p, h) = (prm.states, prm.channels)
        var lambdaRe = [T](repeating: 0, count: p)
        var lambdaIm = [T](repeating: 0, count: p)
        var logStep = [T](repeating: 0, count: p)
        var bRe = [T](repeating: 0, count: p * h)
        var bIm = [T](repeating: 0, count: p * h)
        for q in 0..<p {
            var gScale = Complex<Double>.zero
            for j in 0..<h {
                let i = q * h + j
                let b = Complex(Double(prm.bRe.scalars[i]), Double(prm.bIm.scalars[i]))
                gScale = gScale + b.conjugate * gdB[i]
                let gb = jacobians[q].scale.conjugate * gdB[i]
                bRe[i] = T(gb.real)
                bIm[i] = T(gb.imaginary)
            }
            let (ga, gl) = jacobians[q].chain(gPole: gPole[q], gScale: gScale)
            lambdaRe[q] = T(ga.real)
            lambdaIm[q] = T(ga.imaginary)
            logStep[q] = T(gl)
        }
        let parameters = S5Parameters<T>(
            unchecked: Tensor(shape: [p], scalars: lambdaRe), lambdaIm: Tensor(shape: [p], scalars: lambdaIm),
            bRe: Tensor(shape: [p, h], scalars: bRe), bIm: Tensor(shape: [p, h], scalars: bIm),
            cRe: Tensor(shape: [h, p], scalars: gc.map { T($0.real) }),
            cIm: Tensor(shape: [h, p], scalars: gc.map { T($0.imaginary) }),
            logStep: Tensor(shape: [p], scalars: logStep), d: Tensor(shape: [h], scalars: gD.map { T($0) }),
            conjugateSymmetric: prm.conjugateSymmetric)
        let state = inputs.initialState.map { x0 in
            Tensor<Complex<T>>(shape: x0.shape, scalars: dx0.map { Complex(T($0.real), T($0.imaginary)) })
        }
        return Inputs(u: du, parameters: parameters, initialState: state)
    }
}

extension S5Parameters {
    /// Parameters (or their gradients) from tensors whose shapes the caller guarantees, without
    /// validation (gradients may be positive where `Re Λ` may not).
    init(
        unchecked lambdaRe: Tensor<T>, lambdaIm: Tensor<T>, bRe: Tensor<T>, bIm: Tensor<T>, cRe: Tensor<T>,
        cIm: Tensor<T>, logStep: Tensor<T>, d: Tensor<T>, conjugateSymmetric: Bool
    ) {
        self.lambdaRe = lambdaRe
        self.lambdaIm = lambdaIm
        self.bRe = bRe
        self.bIm = bIm
        self.cRe = cRe
        self.cIm = cIm
        self.logStep = logStep
        self.d = d
        self.conjugateSymmetric = conjugateSymmetric
    }
}

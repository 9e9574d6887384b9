import ComplexModule
import LRNNLinearAlgebra
import RealModule

/// The parameters of an S5 layer: one MIMO diagonal SSM with P complex states shared by
/// H channels, one step size per state.
///
/// `x_t = dΛ·x_{t−1} + dB·u_t`, `y_t = f·Re(C·x_t) + D·u_t` with `f = 2` when `conjugateSymmetric`
/// (each state stands for a conjugate pair) and 1 otherwise; `dΛ_p`, `dB[p,:]` from
/// ``SSMDiscretization`` at step `exp(logStep[p])`.
public struct S5Parameters<T: LRNNScalar>: Sendable {
    /// Real parts of the eigenvalues Λ, `[P]`.
    public var lambdaRe: Tensor<T>
    /// Imaginary parts of Λ, `[P]`.
    public var lambdaIm: Tensor<T>
    /// Real part of B, `[P, H]`.
    public var bRe: Tensor<T>
    /// Imaginary part of B, `[P, H]`.
    public var bIm: Tensor<T>
    /// Real part of C, `[H, P]`.
    public var cRe: Tensor<T>
    /// Imaginary part of C, `[H, P]`.
    public var cIm: Tensor<T>
    /// log step per state, `[P]`.
    public var logStep: Tensor<T>
    /// Skip term, `[H]`.
    public var d: Tensor<T>
    /// Whether the states represent conjugate pairs (output factor 2).
    public var conjugateSymmetric: Bool

    /// The number of states P.
    public var states: Int { lambdaRe.count }
    /// The number of channels H.
    public var channels: Int { d.count }

    /// Creates parameters, checking shapes, finiteness and `Re Λ ≤ 0` (0: a marginally stable
    /// state, `|dΛ| = 1`; zoh's `dB` uses the limit `Δ·B` at Λ = 0).
    ///
    /// - Throws: ``KernelError`` naming the first offending tensor.
    public init(
        lambdaRe: Tensor<T>, lambdaIm: Tensor<T>, bRe: Tensor<T>, bIm: Tensor<T>, cRe: Tensor<T>,
        cIm: Tensor<T>, logStep: Tensor<T>, d: Tensor<T>, conjugateSymmetric: Bool
    ) throws(KernelError) {
        guard lambdaRe.rank == 1 else {
            throw .shapeMismatch(tensor: "Lambda_re", shape: lambdaRe.shape, expected: "[P]")
        }
        guard d.rank == 1 else { throw .shapeMismatch(tensor: "D", shape: d.shape, expected: "[H]") }
        let p = lambdaRe.count
        let h = d.count
        try KernelError.requireShape(lambdaIm, [p], "Lambda_im")
        try KernelError.requireShape(logStep, [p], "log_step")
        try KernelError.requireShape(bRe, [p, h], "B_re")
        try KernelError.requireShape(bIm, [p, h], "B_im")
        try KernelError.requireShape(cRe, [h, p], "C_re")
        try KernelError.requireShape(cIm, [h, p], "C_im")
        for (t, name) in [
            (lambdaRe, "Lambda_re"), (lambdaIm, "Lambda_im"), (bRe, "B_re"), (bIm, "B_im"), (cRe, "C_re"),
            (cIm, "C_im"), (logStep, "log_step"), (d, "D"),
        ] {
            try KernelError.requireFinite(t, name)
        }
        for x in lambdaRe.scalars where !(x <= 0) {
            throw .invalidArgument(name: "Lambda_re", reason: "every real part must be ≤ 0, found \(x)")
        }
        for x in logStep.scalars where Double(x) > 20 {
            throw .invalidArgument(name: "log_step", reason: "must be ≤ 20 (a step of at most e^20), found \(x)")
        }
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

    /// The S5 layer equivalent to a single-channel S4D layer (H = 1, P = N2, conjugate
    /// symmetric, every state with that channel's step).
    ///
    /// - Parameter s4d: S4D parameters of one channel.
    /// - Precondition: `s4d.channels == 1`.
    public init(singleChannel s4d: S4DParameters<T>) {
        precondition(s4d.channels == 1, "S5Parameters(singleChannel:): H = \(s4d.channels)")
        let p = s4d.modes
        lambdaRe = Tensor(shape: [p], scalars: s4d.aRe.scalars)
        lambdaIm = Tensor(shape: [p], scalars: s4d.aIm.scalars)
        bRe = Tensor(shape: [p, 1], scalars: s4d.bRe.scalars)
        bIm = Tensor(shape: [p, 1], scalars: s4d.bIm.scalars)
        cRe = Tensor(shape: [1, p], scalars: s4d.cRe.scalars)
        cIm = Tensor(shape: [1, p], scalars: s4d.cIm.scalars)
        logStep = Tensor(shape: [p], repeating: s4d.logDt.scalars[0])
        d = s4d.d
        conjugateSymmetric = true
    }
}

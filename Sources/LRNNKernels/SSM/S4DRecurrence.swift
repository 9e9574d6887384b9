import ComplexModule
import LRNNLinearAlgebra
import RealModule

/// S4D as a recurrence with a complex state, for decoding token by token (``S4D/recurrent(_:discretization:sequences:)``
/// runs a whole sequence through it):
/// `x ← dA·x + dB·u`, `y = 2·Re(C·x) + D·u` per channel and mode.
///
/// The discretised poles and weights are computed once (Float64, rounded to T). An immutable
/// `Sendable` value: one recurrence may serve any number of concurrent calls (the state is the caller's).
public struct S4DRecurrence<T: LRNNScalar>: Sendable {
    /// The number of channels H.
    public let channels: Int
    /// The number of complex modes per channel N2.
    public let modes: Int
    @usableFromInline let pole: [Complex<T>]
    @usableFromInline let inputWeight: [Complex<T>]
    @usableFromInline let outputWeight: [Complex<T>]
    @usableFromInline let skip: [T]

    /// Discretises `parameters` once.
    ///
    /// - Parameters:
    ///   - parameters: the S4D parameters.
    ///   - discretization: zoh or bilinear.
    @_specialize(exported:true,where T == Float)
    @_specialize(exported:true,where T == Double)
    public init(_ parameters: S4DParameters<T>, discretization: SSMDiscretization) {
        channels = parameters.channels
        modes = parameters.modes
        var p: [Complex<T>] = []
        var b: [Complex<T>] = []
        var c: [Complex<T>] = []
        for h in 0..<channels {
            for m in parameters.discreteModes(channel: h, discretization) {
                p.append(Complex(T(m.pole.real), T(m.pole.imaginary)))
                b.append(Complex(T(m.inputWeight.real), T(m.inputWeight.imaginary)))
                c.append(Complex(T(m.outputWeight.real), T(m.outputWeight.imaginary)))
            }
        }
        pole = p
        inputWeight = b
        outputWeight = c
        skip = parameters.d.scalars
    }

    /// A zero state `[B, H, N2]`.
    ///
    /// - Parameter batch: the number of sequences B.
    public func zeroState(batch: Int) -> Tensor<Complex<T>> {
        Tensor(shape: [batch, channels, modes], repeating: .zero)
    }

    /// One token for every batch entry: `u [B, H]` → `y [B, H]`, updating `state [B, H, N2]`.
    ///
    /// - Parameters:
    ///   - u: one input per sequence and channel, `[B, H]`.
    ///   - state: `[B, H, N2]`, advanced by one token.
    /// - Returns: `y [B, H]`.
    /// - Throws: ``KernelError`` on shape mismatch or non-finite input.
    @_specialize(exported:true,where T == Float)
    @_specialize(exported:true,where T == Double)
    public func step(_ u: Tensor<T>, state: inout Tensor<Complex<T>>) throws(KernelError) -> Tensor<T> {
        guard u.rank == 2, u.shape[1] == channels else {
            throw .shapeMismatch(tensor: "u", shape: u.shape, expected: "[B, \(channels)]")
        }
        try KernelError.requireFinite(u, "u")
        let bsz = u.shape[0]
        try KernelError.requireShape(state, [bsz, channels, modes], "state")
        var y = [T](repeating: 0, count: bsz * channels)
        for b in 0..<bsz {
            for h in 0..<channels {
                let x = u.scalars[b * channels + h]
                var acc: T = 0
                for k in 0..<modes {
                    let i = h * modes + k
                    let s = (b * channels + h) * modes + k
                    let z = pole[i] * state.scalars[s] + inputWeight[i].multiplied(by: x)
                    state.scalars[s] = z
                    let w = outputWeight[i] * z
                    acc += 2 * w.real
                }
                y[b * channels + h] = acc + skip[h] * x
            }
        }
        return Tensor(shape: [bsz, channels], scalars: y)
    }
}

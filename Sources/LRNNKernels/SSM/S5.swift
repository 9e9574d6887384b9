import ComplexModule
import LRNNLinearAlgebra
import RealModule

/// S5's discretised operators as real matrices, ready for GEMMs:
/// `inputMatrix [2P × H]` = `[Re dB; Im dB]`, `outputMatrix [H × 2P]` = `f·[Re C, −Im C]`,
/// and the poles `dΛ` (Float64).
///
/// An immutable `Sendable` value: one system may serve any number of concurrent calls.
public struct S5System<T: LRNNScalar>: Sendable {
    /// The number of states P.
    public let states: Int
    /// The number of channels H.
    public let channels: Int
    @usableFromInline let poles: [Complex<Double>]
    @usableFromInline let inputMatrix: [T]
    @usableFromInline let outputMatrix: [T]
    @usableFromInline let skip: [T]

    /// Discretises `parameters` (Float64, rounded once to T).
    ///
    /// - Parameters:
    ///   - parameters: the S5 parameters.
    ///   - discretization: zoh or bilinear.
    @_specialize(exported:true,where T == Float)
    @_specialize(exported:true,where T == Double)
    public init(_ parameters: S5Parameters<T>, discretization: SSMDiscretization) {
        let p = parameters.states
        let h = parameters.channels
        states = p
        channels = h
        var poles = [Complex<Double>](repeating: .zero, count: p)
        var bm = [T](repeating: 0, count: 2 * p * h)
        for i in 0..<p {
            let a = Complex(Double(parameters.lambdaRe.scalars[i]), Double(parameters.lambdaIm.scalars[i]))
            let (pole, _, scale) = discretization.discretize(a, step: Double.exp(Double(parameters.logStep.scalars[i])))
            poles[i] = pole
            for j in 0..<h {
                let b =
                    scale
                    * Complex(Double(parameters.bRe.scalars[i * h + j]), Double(parameters.bIm.scalars[i * h + j]))
                bm[i * h + j] = T(b.real)
                bm[(p + i) * h + j] = T(b.imaginary)
            }
        }
        let f: T = parameters.conjugateSymmetric ? 2 : 1
        var cm = [T](repeating: 0, count: h * 2 * p)
        for j in 0..<h {
            for i in 0..<p {
                cm[j * 2 * p + i] = f * parameters.cRe.scalars[j * p + i]
                cm[j * 2 * p + p + i] = -f * parameters.cIm.scalars[j * p + i]
            }
        }
        self.poles = poles
        inputMatrix = bm
        outputMatrix = cm
        skip = parameters.d.scalars
    }

    /// A zero state `[B, P]`.
    ///
    /// - Parameter batch: the number of sequences B.
    public func zeroState(batch: Int) -> Tensor<Complex<T>> {
        Tensor(shape: [batch, states], repeating: .zero)
    }

    /// Runs `rows` tokens of one sequence (`u` rows with leading dimension H) from `state`
    /// (P complex, Float64, updated), writing `y` rows. `z` is a `[rows × 2P]` workspace.
    ///
    /// Three steps: `Z = U·[Re dB; Im dB]ᵀ` (one GEMM), the diagonal scan
    /// `x ← dΛ·x + z_t` written back over Z, `Y = Z·(f·[Re C, −Im C])ᵀ` (one GEMM), `Y += D·U`.
    @usableFromInline
    func advance(
        u: UnsafeMutablePointer<T>, y: UnsafeMutablePointer<T>, rows: Int,
        state: UnsafeMutablePointer<Complex<Double>>, z: UnsafeMutablePointer<T>
    ) {
        project(u: u, rows: rows, z: z)
        scan(z: z, rows: rows, state: state)
        output(z: z, u: u, y: y, rows: rows)
    }

    /// ``advance(u:y:rows:state:z:)`` with the state as an array.
    @usableFromInline
    func advance(
        u: UnsafeMutablePointer<T>, y: UnsafeMutablePointer<T>, rows: Int,
        state: inout [Complex<Double>], z: UnsafeMutablePointer<T>
    ) {
        state.withUnsafeMutableBufferPointer { advance(u: u, y: y, rows: rows, state: $0.baseAddress!, z: z) }
    }

    /// `Z = U·[Re dB; Im dB]ᵀ` for `rows` tokens (one GEMM).
    @usableFromInline
    func project(u: UnsafeMutablePointer<T>, rows: Int, z: UnsafeMutablePointer<T>) {
        let p = states
        let h = channels
        inputMatrix.withUnsafeBufferPointer { bb in
            BLAS.gemm(
                MatrixView(u, rows: rows, columns: h), .none,
                MatrixView(UnsafeMutablePointer(mutating: bb.baseAddress!), rows: 2 * p, columns: h),
                .transpose, into: MatrixView(z, rows: rows, columns: 2 * p))
        }
    }

    /// The diagonal recurrence `x ← dΛ·x + z_t` over `rows` projected tokens, in Float64, each
    /// state written back over its row of Z (rounded to T).
    @usableFromInline
    func scan(z: UnsafeMutablePointer<T>, rows: Int, state: inout [Complex<Double>]) {
        state.withUnsafeMutableBufferPointer { scan(z: z, rows: rows, state: $0.baseAddress!) }
    }

    /// ``scan(z:rows:state:)`` with the state (P values) behind a pointer.
    @usableFromInline
    func scan(z: UnsafeMutablePointer<T>, rows: Int, state: UnsafeMutablePointer<Complex<Double>>) {
        let p = states
        for t in 0..<rows {
            let row = z + t * 2 * p
            for i in 0..<p {
                let x = poles[i] * state[i] + Complex(Double(row[i]), Double(row[p + i]))
                state[i] = x
                row[i] = T(x.real)
                row[p + i] = T(x.imaginary)
            }
        }
    }

    /// `Y = Z·(f·[Re C, −Im C])ᵀ + D·U` for `rows` tokens (one GEMM and the skip term).
    @usableFromInline
    func output(z: UnsafeMutablePointer<T>, u: UnsafeMutablePointer<T>, y: UnsafeMutablePointer<T>, rows: Int) {
        let p = states
        let h = channels
        outputMatrix.withUnsafeBufferPointer { cb in
            BLAS.gemm(
                MatrixView(z, rows: rows, columns: 2 * p), .none,
                MatrixView(UnsafeMutablePointer(mutating: cb.baseAddress!), rows: h, columns: 2 * p),
                .transpose, into: MatrixView(y, rows: rows, columns: h))
        }
        for t in 0..<rows { for j in 0..<h { y[t * h + j] += skip[j] * u[t * h + j] } }
    }
}

/// The S5 layer (Smith et al. 2023): the chunked GEMM path, the recurrent path through the step,
/// and a naive reference: the verbs of the kernel-family contract (docs/kernels/contract.md).
///
/// ``chunked(_:discretization:sequences:chunkSize:)`` is the fast form,
/// ``recurrent(_:discretization:sequences:)`` runs token by token through
/// ``step(_:system:state:)``, and ``reference(_:discretization:sequences:)`` is the naive complex
/// recurrence the others are tested against. Packed sequences (`sequences:`) each start from their
/// own initial state and end in their own final state.
///
/// Thread safety: static functions with no shared mutable state; any number of threads or tasks
/// may call them at once, and each call's result is bit-identical to the same call run alone
/// (``/LRNNLinearAlgebra/Threading``). Outputs and states are values the caller owns.
public enum S5 {
    /// The default chunk length C of ``chunked(_:discretization:sequences:chunkSize:)``.
    public static let defaultChunkSize: Int = 256
}

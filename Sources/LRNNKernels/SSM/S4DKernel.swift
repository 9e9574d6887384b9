import ComplexModule
import LRNNLinearAlgebra
import RealModule

/// The S4D layer (Gu et al. 2022): its convolution kernel, the chunked convolution, the recurrent
/// path and the naive reference, with the verbs of the kernel-family contract
/// (docs/kernels/contract.md): ``chunked(_:discretization:sequences:chunkSize:)``,
/// ``recurrent(_:discretization:sequences:)``, ``reference(_:discretization:sequences:)`` and
/// ``step(_:parameters:discretization:state:)``.
///
/// Thread safety: static functions with no shared mutable state; any number of threads or tasks
/// may call them at once, and each call's result is bit-identical to the same call run alone
/// (``/LRNNLinearAlgebra/Threading``). Outputs and states are values the caller owns.
public enum S4D {
    /// The convolution kernel `K [H, L]`, `K[h, l] = 2·Re Σ_n C[h,n]·dB[h,n]·dA[h,n]^l`.
    ///
    /// Computed per channel as one real GEMM on a factored Vandermonde matrix: with
    /// `l = l₁·L_b + l₂` (`L_b ≈ √L`), `dA^l = exp(l₁·L_b·log dA)·exp(l₂·log dA)`, so
    /// `K[l₁·L_b + l₂] = 2·Re(X·Y)[l₁, l₂]` for `X[l₁, n] = W_n·dA_n^(l₁·L_b)` (`[L₁ × N2]`)
    /// and `Y[n, l₂] = dA_n^l₂` (`[N2 × L_b]`), evaluated as `2·[Re X, −Im X]·[Re Y; Im Y]`.
    /// Powers are taken in Float64 in polar form, `dA^l = |dA|^l·cis(l·arg dA)` (zoh:
    /// `exp(l·Δa)`), directly at every 16th l and by at most 15 multiplications in between (no long
    /// chains of products), so the kernel is accurate for any L; only `2·N2·(L₁ + L_b)/16`
    /// exponentials or powers and one GEMM of `2·L·2·N2` flops are needed.
    ///
    /// The bilinear pole is exactly 0 at `Δa = −2` (an S4D-Real value): no power goes through
    /// `log dA` (undefined there), `dA^0 = 1` and `dA^l = 0` for l ≥ 1, so `K = [2·Re W, 0, 0, …]`
    /// exactly; poles within a few ulps of 0 give `|dA|^l` by `pow`, accurate to an ulp.
    /// Channels run as ``/LRNNLinearAlgebra/Threading/parallelFor(_:_:)`` work items.
    /// - Parameters:
    ///   - parameters: the S4D parameters (H channels, N2 modes).
    ///   - length: L ≥ 0.
    ///   - discretization: zoh or bilinear.
    /// - Throws: ``KernelError/invalidArgument(name:reason:)`` for a negative length.
    @_specialize(exported:true,where T == Float)
    @_specialize(exported:true,where T == Double)
    public static func kernel<T: LRNNScalar>(
        _ parameters: S4DParameters<T>, length: Int, discretization: SSMDiscretization
    ) throws(KernelError) -> Tensor<T> {
        guard length >= 0 else { throw .invalidArgument(name: "L", reason: "must be ≥ 0, got \(length)") }
        let h = parameters.channels
        let n2 = parameters.modes
        var out = Tensor<T>(shape: [h, length], scalars: [T](repeating: 0, count: h * length))
        if length == 0 || h == 0 { return out }
        let lb = Swift.max(1, Int(Double(length).squareRoot().rounded(.up)))
        let l1 = (length + lb - 1) / lb
        out.withUnsafeMutableBufferPointer { outBuf in
            let outBase = UncheckedPointer(outBuf.baseAddress!)
            Threading.parallelFor(h) { c in
                let modes = parameters.discreteModes(channel: c, discretization)
                var x = [T](repeating: 0, count: l1 * 2 * n2)
                var y = [T](repeating: 0, count: 2 * n2 * lb)
                var block = [T](repeating: 0, count: l1 * lb)
                for (k, m) in modes.enumerated() {
                    m.powers(stride: lb, count: l1) { i, p in
                        let v = m.kernelWeight * p
                        x[i * 2 * n2 + k] = T(v.real)
                        x[i * 2 * n2 + n2 + k] = T(-v.imaginary)
                    }
                    m.powers(stride: 1, count: lb) { j, v in
                        y[k * lb + j] = T(v.real)
                        y[(n2 + k) * lb + j] = T(v.imaginary)
                    }
                }
                x.withUnsafeMutableBufferPointer { xb in
                    y.withUnsafeMutableBufferPointer { yb in
                        block.withUnsafeMutableBufferPointer { bb in
                            BLAS.gemm(
                                MatrixView(xb.baseAddress!, rows: l1, columns: 2 * n2), .none,
                                MatrixView(yb.baseAddress!, rows: 2 * n2, columns: lb), .none,
                                into: MatrixView(bb.baseAddress!, rows: l1, columns: lb), alpha: 2)
                        }
                    }
                }
                let row = outBase.pointer + c * length
                block.withUnsafeBufferPointer { row.update(from: $0.baseAddress!, count: length) }
            }
        }
        return out
    }

    /// Reference kernel: per mode, `z ← W`, then `K[l] += 2·Re z; z ← dA·z` token by token
    /// (Float64 accumulation). O(H·N2·L).
    ///
    /// - Parameters:
    ///   - parameters: the S4D parameters (H channels, N2 modes).
    ///   - length: L ≥ 0.
    ///   - discretization: zoh or bilinear.
    /// - Returns: the kernel `K [H, L]`.
    /// - Throws: ``KernelError/invalidArgument(name:reason:)`` for a negative length, ``KernelError``
    ///   naming a parameter tensor that no longer passes the parameters' checks.
    @_specialize(exported:true,where T == Float)
    @_specialize(exported:true,where T == Double)
    public static func kernelReference<T: LRNNScalar>(
        _ parameters: S4DParameters<T>, length: Int, discretization: SSMDiscretization
    ) throws(KernelError) -> Tensor<T> {
        guard length >= 0 else { throw .invalidArgument(name: "L", reason: "must be ≥ 0, got \(length)") }
        try parameters.validate()
        let h = parameters.channels
        var out = [Double](repeating: 0, count: h * length)
        for c in 0..<h {
            for m in parameters.discreteModes(channel: c, discretization) {
                var z = m.kernelWeight
                for l in 0..<length {
                    out[c * length + l] += 2 * z.real
                    z = z * m.pole
                }
            }
        }
        return Tensor(shape: [h, length], scalars: out.map { T($0) })
    }
}

/// A raw pointer that work items may share because they write disjoint ranges.
struct UncheckedPointer<T>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<T>
    init(_ pointer: UnsafeMutablePointer<T>) { self.pointer = pointer }
}

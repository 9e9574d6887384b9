/// A LAPACK routine reported failure (`info ≠ 0`).
///
/// `info < 0`: argument `−info` was illegal, or the input holds NaN or ±∞ (``LAPACK`` scans its
/// inputs and reports either with the code LAPACKE's high-level functions gave NaN: the matrix's
/// position in that function's argument list, e.g. −5 for `geev`); `info > 0`: a
/// routine-specific numerical failure, e.g. an exactly singular pivot in `gesv`/`getrf` or an
/// eigenvalue iteration that did not converge in `geev`.
public struct LAPACKError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The routine, e.g. `"dgesv"`.
    public let routine: String
    /// LAPACK's `info` code.
    public let info: Int

    /// Creates the error for `routine` returning `info`.
    ///
    /// - Parameters:
    ///   - routine: the routine's name, e.g. `"dgesv"`.
    ///   - info: the `info` it returned.
    public init(routine: String, info: Int) {
        self.routine = routine
        self.info = info
    }

    /// A sentence naming the routine, the code and what the code means.
    public var description: String {
        let meaning: String
        if info < 0 {
            meaning = "argument \(-info) had an illegal value (or the input contains NaN or ±∞)"
        } else if routine.hasSuffix("gesv") || routine.hasSuffix("getrf") || routine.hasSuffix("getri") {
            meaning = "the matrix is exactly singular: U(\(info),\(info)) = 0"
        } else if routine.hasSuffix("geev") || routine.hasSuffix("syev") || routine.hasSuffix("heev") {
            meaning = "the eigenvalue iteration failed to converge (\(info))"
        } else if routine.hasSuffix("gesdd") {
            meaning = "the SVD did not converge (\(info))"
        } else {
            meaning = "numerical failure \(info)"
        }
        return "LAPACK \(routine) failed with info = \(info): \(meaning)"
    }
}

extension LRNNScalar {
    /// The BLAS/LAPACK letter for this precision's real routines: `s` or `d`.
    static var realPrefix: String { Self.self == Float.self ? "s" : "d" }
    /// The BLAS/LAPACK letter for this precision's complex routines: `c` or `z`.
    static var complexPrefix: String { Self.self == Float.self ? "c" : "z" }
}

@inline(__always)
func check(_ info: Int32, _ routine: String) throws(LAPACKError) {
    if info != 0 { throw LAPACKError(routine: routine, info: Int(info)) }
}

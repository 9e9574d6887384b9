import ComplexModule

/// What ``LAPACK``'s drivers do before a call: the checks for NaN and ±∞ (LAPACKE's high-level
/// functions checked for NaN only), and workspaces sized by LAPACK's own query.
extension LAPACK {
    /// Throws `LAPACKError(routine:info: −argument)` when any of `values` is NaN or ±∞ (LAPACKE's
    /// high-level functions rejected NaN the same way; an infinite entry made `gesdd` loop forever
    /// and the other drivers return NaN or ∞ without an error, so it is rejected too).
    static func rejectNonFinite<S: Sequence, T: LRNNScalar>(
        _ values: S, _ routine: String, argument: Int
    ) throws(LAPACKError) where S.Element == T {
        if values.contains(where: { !$0.isFinite }) { throw LAPACKError(routine: routine, info: -argument) }
    }

    /// Throws `LAPACKError(routine:info: −argument)` when a real or imaginary part of any of
    /// `values` is NaN or ±∞.
    static func rejectNonFinite<S: Sequence, T: LRNNScalar>(
        _ values: S, _ routine: String, argument: Int
    ) throws(LAPACKError) where S.Element == Complex<T> {
        if values.contains(where: { !$0.isFinite }) { throw LAPACKError(routine: routine, info: -argument) }
    }

    /// Whether the lower triangle (diagonal included) of the row-major n×n `a` holds a NaN or
    /// ±∞: the part `syev` reads with `uplo = "L"`, the part LAPACKE checked.
    static func lowerTriangleContainsNonFinite<T: LRNNScalar>(_ a: [T], _ n: Int) -> Bool {
        (0..<n).contains { i in (0...i).contains { !a[i * n + $0].isFinite } }
    }

    /// Whether the lower triangle (diagonal included) of the row-major n×n complex `a` holds a
    /// NaN or ±∞ in a real or imaginary part.
    static func lowerTriangleContainsNonFinite<T: LRNNScalar>(_ a: [Complex<T>], _ n: Int) -> Bool {
        (0..<n).contains { i in (0...i).contains { !a[i * n + $0].isFinite } }
    }

    /// The workspace of a real routine, sized by its query: `query(work, −1)` stores the
    /// optimal size in `work[0]`, which is read as LAPACKE read it (truncated to an integer).
    ///
    /// - Parameters:
    ///   - type: the precision.
    ///   - span: the call's largest dimension, for the tail pad.
    ///   - routine: the routine, for the error.
    ///   - query: calls the routine with the given work array and `lwork`.
    /// - Returns: a buffer whose `count` is the `lwork` to pass.
    static func workspace<T: LRNNScalar>(
        _ type: T.Type, span: Int, _ routine: String,
        _ query: (UnsafeMutablePointer<T>, Int) -> Int32
    ) throws(LAPACKError) -> LAPACKBuffer<T> {
        let size = LAPACKBuffer<T>(count: 1, span: span)
        try check(query(size.base, -1), routine)
        return LAPACKBuffer<T>(count: Int(size.base[0]), span: span)
    }

    /// The workspace of a complex routine, sized by its query (the real part of `work[0]`).
    ///
    /// - Parameters:
    ///   - type: the precision.
    ///   - span: the call's largest dimension, for the tail pad.
    ///   - routine: the routine, for the error.
    ///   - query: calls the routine with the given work array and `lwork`.
    /// - Returns: a buffer whose `count` is the `lwork` to pass.
    static func complexWorkspace<T: LRNNScalar>(
        _ type: T.Type, span: Int, _ routine: String,
        _ query: (UnsafeMutablePointer<Complex<T>>, Int) -> Int32
    ) throws(LAPACKError) -> LAPACKBuffer<Complex<T>> {
        let size = LAPACKBuffer<Complex<T>>(count: 1, span: span)
        try check(query(size.base, -1), routine)
        return LAPACKBuffer<Complex<T>>(count: Int(size.base[0].real), span: span)
    }
}

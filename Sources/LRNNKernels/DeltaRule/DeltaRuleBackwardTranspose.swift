import LRNNLinearAlgebra

/// The out-of-place matrix transposes of the delta-rule backward (`dst[j·ldd + i] = src[i·lds + j]`),
/// in 8×8 blocks of SIMD rows for `Float` and `Double` (≈ 4× a scalar loop at 16×128).
///
/// The backward keeps every product a fast gemm by forming small transposes explicitly (Kᵀ, U'ᵀ,
/// [dO; dR]ᵀ, and dQᵀ, dKᵀ back to rows); at C = 16, K = V = 128 that is ≈ 10 transposes of
/// 2,048–4,096 scalars per chunk, which the scalar loop made a tenth of the backward's time.
enum DeltaRuleBackwardTranspose {
    /// `dst[j·ldd + i] = src[i·lds + j]` for i < `rows`, j < `columns`.
    ///
    /// - Parameters:
    ///   - src: the source matrix, row-major with leading dimension `lds`.
    ///   - rows: the source's rows (the destination's columns).
    ///   - columns: the source's columns (the destination's rows).
    ///   - lds: the source's leading dimension.
    ///   - dst: the destination, row-major with leading dimension `ldd` (must not overlap `src`).
    ///   - ldd: the destination's leading dimension.
    @inline(__always)
    static func transpose<T: LRNNScalar>(
        _ src: UnsafePointer<T>, rows: Int, columns: Int, ld lds: Int, into dst: UnsafeMutablePointer<T>, ld ldd: Int
    ) {
        if T.self == Float.self {
            blocked(
                UnsafeRawPointer(src).assumingMemoryBound(to: Float.self), rows: rows, columns: columns, ld: lds,
                into: UnsafeMutableRawPointer(dst).assumingMemoryBound(to: Float.self), ld: ldd)
        } else if T.self == Double.self {
            blocked(
                UnsafeRawPointer(src).assumingMemoryBound(to: Double.self), rows: rows, columns: columns, ld: lds,
                into: UnsafeMutableRawPointer(dst).assumingMemoryBound(to: Double.self), ld: ldd)
        } else {
            scalar(src, rows: rows, columns: columns, ld: lds, into: dst, ld: ldd, rowRange: 0..<rows)
        }
    }

    /// The scalar transpose of the rows `rowRange` (and all columns).
    @inline(__always)
    static func scalar<T>(
        _ src: UnsafePointer<T>, rows: Int, columns: Int, ld lds: Int, into dst: UnsafeMutablePointer<T>, ld ldd: Int,
        rowRange: Range<Int>
    ) {
        for j in 0..<columns {
            let d = dst + j * ldd
            for i in rowRange { d[i] = src[i * lds + j] }
        }
    }

    /// 8×8 blocks: eight SIMD row loads, eight SIMD column stores; the edges scalar.
    @inline(__always)
    static func blocked<S: SIMDScalar & BinaryFloatingPoint>(
        _ src: UnsafePointer<S>, rows: Int, columns: Int, ld lds: Int, into dst: UnsafeMutablePointer<S>, ld ldd: Int
    ) {
        let rowsBlocked = rows & ~7
        let columnsBlocked = columns & ~7
        var i = 0
        while i < rowsBlocked {
            var j = 0
            while j < columnsBlocked {
                block(src + i * lds + j, lds, dst + j * ldd + i, ldd)
                j += 8
            }
            for jj in columnsBlocked..<columns {
                let d = dst + jj * ldd
                for ii in i..<(i + 8) { d[ii] = src[ii * lds + jj] }
            }
            i += 8
        }
        if rowsBlocked < rows {
            scalar(src, rows: rows, columns: columns, ld: lds, into: dst, ld: ldd, rowRange: rowsBlocked..<rows)
        }
    }

    /// One 8×8 block.
    @inline(__always)
    static func block<S: SIMDScalar & BinaryFloatingPoint>(
        _ src: UnsafePointer<S>, _ lds: Int, _ dst: UnsafeMutablePointer<S>, _ ldd: Int
    ) {
        let raw = UnsafeRawPointer(src)
        let stride = lds * MemoryLayout<S>.stride
        let r0 = raw.loadUnaligned(as: SIMD8<S>.self)
        let r1 = raw.loadUnaligned(fromByteOffset: stride, as: SIMD8<S>.self)
        let r2 = raw.loadUnaligned(fromByteOffset: 2 * stride, as: SIMD8<S>.self)
        let r3 = raw.loadUnaligned(fromByteOffset: 3 * stride, as: SIMD8<S>.self)
        let r4 = raw.loadUnaligned(fromByteOffset: 4 * stride, as: SIMD8<S>.self)
        let r5 = raw.loadUnaligned(fromByteOffset: 5 * stride, as: SIMD8<S>.self)
        let r6 = raw.loadUnaligned(fromByteOffset: 6 * stride, as: SIMD8<S>.self)
        let r7 = raw.loadUnaligned(fromByteOffset: 7 * stride, as: SIMD8<S>.self)
        for j in 0..<8 {
            let column = SIMD8<S>(r0[j], r1[j], r2[j], r3[j], r4[j], r5[j], r6[j], r7[j])
            UnsafeMutableRawPointer(dst + j * ldd).storeBytes(of: column, as: SIMD8<S>.self)
        }
    }
}

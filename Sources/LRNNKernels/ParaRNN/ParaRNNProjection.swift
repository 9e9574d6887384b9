import LRNNLinearAlgebra

/// The input projections of ParaRNN's cells as GEMMs over all tokens at once: per head e,
/// `U[:, e] = X[:, e] · B[e] + b[:, e]` (one GEMM: `[rows, Din/Hh]·[Din/Hh, 3·D/Hh]`), and its transposes
/// for the gradients.
///
/// Layouts: `X [rows, Din]` (head e's columns `e·Din/Hh ..< (e+1)·Din/Hh`), `B [Hh, Din/Hh, 3, D/Hh]`
/// (head e's block a contiguous `Din/Hh × 3·D/Hh` matrix), `U [rows, Hh, 3, D/Hh]` head-major (see
/// `ParaRNNProblem.gateOffsets`). Work items are output tiles (head, row block), each one
/// single-threaded GEMM.
///
/// Source: ParaRNN's `GRUDiagMH` / `LSTMCIFGDiagMH` input projection (a block-diagonal `einsum` over
/// the heads).
enum ParaRNNProjection {
    /// Row blocks for `rows` rows: enough blocks that every worker has several items, at least 64 rows each.
    static func rowBlocks(_ rows: Int, items: Int) -> [Range<Int>] {
        let workers = Threading.workerCount
        let wanted = Swift.max(1, (2 * workers + items - 1) / Swift.max(items, 1))
        let size = Swift.max(64, (rows + wanted - 1) / wanted)
        return stride(from: 0, to: rows, by: size).map { $0..<Swift.min($0 + size, rows) }
    }

    /// `U = X·B + b` (head-major `[rows, Hh, 3, D/Hh]`).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func forward<T: LRNNScalar>(x: Tensor<T>, B: Tensor<T>, b: Tensor<T>, _ p: ParaRNNProblem) -> Tensor<T> {
        let rows = x.count / p.inputSize
        var u = Tensor<T>.zeros([rows, 3 * p.stateSize])
        let (d, dh, dhi, hh) = (p.stateSize, p.headState, p.headInput, p.heads)
        let blocks = rowBlocks(rows, items: hh)
        x.withUnsafeBufferPointer { xb in
            B.withUnsafeBufferPointer { bb in
                b.withUnsafeBufferPointer { biasb in
                    u.withUnsafeMutableBufferPointer { ub in
                        let xp = UnsafeMutablePointer(mutating: xb.baseAddress!)
                        let bp = UnsafeMutablePointer(mutating: bb.baseAddress!)
                        let up = ub.baseAddress!
                        let bias = biasb.baseAddress!
                        Threading.parallelFor(hh * blocks.count) { item in
                            let block = blocks[item % blocks.count]
                            let e = item / blocks.count
                            let xv = MatrixView(
                                xp + block.lowerBound * p.inputSize + e * dhi, rows: block.count, columns: dhi,
                                leadingDimension: p.inputSize)
                            let bv = MatrixView(bp + e * dhi * 3 * dh, rows: dhi, columns: 3 * dh)
                            let uv = MatrixView(
                                up + block.lowerBound * 3 * d + e * 3 * dh, rows: block.count, columns: 3 * dh,
                                leadingDimension: 3 * d)
                            BLAS.gemm(xv, bv, into: uv)
                            for r in 0..<block.count {
                                let row = uv.row(r)
                                for g in 0..<3 {
                                    for j in 0..<dh { row[g * dh + j] += bias[g * d + e * dh + j] }
                                }
                            }
                        }
                    }
                }
            }
        }
        return u
    }

    /// The gradients of the projection given `dU [rows, Hh, 3, D/Hh]`: `dx[:, e] = dU[:, e]·B[e]ᵀ`,
    /// `dB[e] = X[:, e]ᵀ·dU[:, e]` (one GEMM per head, tiled over rows for dx), `db = Σ_rows dU`.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func backward<T: LRNNScalar>(
        x: Tensor<T>, B: Tensor<T>, dU: Tensor<T>, _ p: ParaRNNProblem
    ) -> (dx: Tensor<T>, dB: Tensor<T>, db: Tensor<T>) {
        let rows = x.count / p.inputSize
        let (d, dh, dhi, hh) = (p.stateSize, p.headState, p.headInput, p.heads)
        var dx = Tensor<T>.zeros(x.shape)
        var dB = Tensor<T>.zeros(B.shape)
        var db = Tensor<T>.zeros([3, d])
        if rows == 0 { return (dx, dB, db) }
        let blocks = rowBlocks(rows, items: hh)
        x.withUnsafeBufferPointer { xb in
            B.withUnsafeBufferPointer { bb in
                dU.withUnsafeBufferPointer { gb in
                    dx.withUnsafeMutableBufferPointer { dxb in
                        dB.withUnsafeMutableBufferPointer { dBb in
                            db.withUnsafeMutableBufferPointer { dbb in
                                let xp = UnsafeMutablePointer(mutating: xb.baseAddress!)
                                let bp = UnsafeMutablePointer(mutating: bb.baseAddress!)
                                let gp = UnsafeMutablePointer(mutating: gb.baseAddress!)
                                let dxp = dxb.baseAddress!
                                let dBp = dBb.baseAddress!
                                let dbp = dbb.baseAddress!
                                // dx: tiles (head, row block); dB: one item per head; db: one item per head.
                                let dxItems = hh * blocks.count
                                Threading.parallelFor(dxItems + 2 * hh) { item in
                                    if item < dxItems {
                                        let block = blocks[item % blocks.count]
                                        let e = item / blocks.count
                                        let out = MatrixView(
                                            dxp + block.lowerBound * p.inputSize + e * dhi, rows: block.count,
                                            columns: dhi, leadingDimension: p.inputSize)
                                        let gv = MatrixView(
                                            gp + block.lowerBound * 3 * d + e * 3 * dh, rows: block.count,
                                            columns: 3 * dh, leadingDimension: 3 * d)
                                        let bv = MatrixView(bp + e * dhi * 3 * dh, rows: dhi, columns: 3 * dh)
                                        BLAS.gemm(gv, .none, bv, .transpose, into: out)
                                    } else if item < dxItems + hh {
                                        let e = item - dxItems
                                        let xv = MatrixView(
                                            xp + e * dhi, rows: rows, columns: dhi, leadingDimension: p.inputSize)
                                        let gv = MatrixView(
                                            gp + e * 3 * dh, rows: rows, columns: 3 * dh, leadingDimension: 3 * d)
                                        let out = MatrixView(dBp + e * dhi * 3 * dh, rows: dhi, columns: 3 * dh)
                                        BLAS.gemm(xv, .transpose, gv, .none, into: out)
                                    } else {
                                        let e = item - dxItems - hh
                                        for r in 0..<rows {
                                            let row = gp + r * 3 * d + e * 3 * dh
                                            for g in 0..<3 {
                                                let out = dbp + g * d + e * dh
                                                for j in 0..<dh { out[j] += row[g * dh + j] }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return (dx, dB, db)
    }
}

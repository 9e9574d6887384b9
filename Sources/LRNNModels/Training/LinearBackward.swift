import LRNNLinearAlgebra

extension Linear {
    /// Adds dL/dx = dy·W to `dx` for `y = x·Wᵀ + b`: `dy [rows, out]`, `dx [rows, in]`
    /// (PyTorch's `linear` backward for the input). Row blocks as the forward splits them.
    ///
    /// - Precondition: `dy` is `[rows, out]` and `dx` holds `rows · in` elements.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func accumulateInputGradient(_ dy: Tensor<T>, into dx: inout Tensor<T>) {
        let n = outFeatures
        let k = inFeatures
        let rows = n == 0 ? 0 : dy.count / n
        precondition(dy.count == rows * n && dx.count == rows * k, "Linear backward: dy \(dy.shape), dx \(dx.shape)")
        if rows == 0 || k == 0 { return }
        let blocks = rows * n * k >= Self.parallelWork ? (rows + Self.blockRows - 1) / Self.blockRows : 1
        dy.withUnsafeBufferPointer { db in
            weight.withUnsafeBufferPointer { wb in
                dx.withUnsafeMutableBufferPointer { xb in
                    let d = UnsafeMutablePointer(mutating: db.baseAddress!)
                    let w = UnsafeMutablePointer(mutating: wb.baseAddress!)
                    let x = xb.baseAddress!
                    Threading.parallelFor(blocks) { block in
                        let lo = block * Self.blockRows
                        let hi = blocks == 1 ? rows : Swift.min(rows, lo + Self.blockRows)
                        BLAS.gemm(
                            MatrixView(d + lo * n, rows: hi - lo, columns: n), .none,
                            MatrixView(w, rows: n, columns: k), .none,
                            into: MatrixView(x + lo * k, rows: hi - lo, columns: k), beta: 1)
                    }
                }
            }
        }
    }

    /// dL/dx = dy·W `[rows, in]` for `y = x·Wᵀ + b`.
    ///
    /// - Parameter dy: the output gradient `[rows, out]`.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func inputGradient(_ dy: Tensor<T>) -> Tensor<T> {
        var dx = Tensor<T>.zeros([outFeatures == 0 ? 0 : dy.count / outFeatures, inFeatures])
        accumulateInputGradient(dy, into: &dx)
        return dx
    }

    /// dL/dW = dyᵀ·x `[out, in]` and dL/db = Σ_rows dy `[out]` (nil without a bias) for
    /// `y = x·Wᵀ + b`. Blocks of output features run as parallel work items, one gemm each.
    ///
    /// - Parameters:
    ///   - x: the forward input `[rows, in]`.
    ///   - dy: the output gradient `[rows, out]`.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func parameterGradients(input x: Tensor<T>, outputGradient dy: Tensor<T>) -> (weight: Tensor<T>, bias: Tensor<T>?) {
        let n = outFeatures
        let k = inFeatures
        let rows = k == 0 ? 0 : x.count / k
        precondition(x.count == rows * k && dy.count == rows * n, "Linear backward: x \(x.shape), dy \(dy.shape)")
        var dw = Tensor<T>.zeros([n, k])
        if rows > 0 && n > 0 && k > 0 {
            let blocks = rows * n * k >= Self.parallelWork ? (n + Self.blockRows - 1) / Self.blockRows : 1
            x.withUnsafeBufferPointer { xb in
                dy.withUnsafeBufferPointer { db in
                    dw.withUnsafeMutableBufferPointer { wb in
                        let xp = UnsafeMutablePointer(mutating: xb.baseAddress!)
                        let d = UnsafeMutablePointer(mutating: db.baseAddress!)
                        let w = wb.baseAddress!
                        Threading.parallelFor(blocks) { block in
                            let lo = block * Self.blockRows
                            let hi = blocks == 1 ? n : Swift.min(n, lo + Self.blockRows)
                            BLAS.gemm(
                                MatrixView(d + lo, rows: rows, columns: hi - lo, leadingDimension: n), .transpose,
                                MatrixView(xp, rows: rows, columns: k), .none,
                                into: MatrixView(w + lo * k, rows: hi - lo, columns: k))
                        }
                    }
                }
            }
        }
        guard bias != nil else { return (dw, nil) }
        return (dw, columnSums(dy, columns: n))
    }
}

/// Σ over the rows of `x [rows, columns]`, as `[columns]`.
@_specialize(where T == Float)
@_specialize(where T == Double)
func columnSums<T: LRNNScalar>(_ x: Tensor<T>, columns n: Int) -> Tensor<T> {
    var s = Tensor<T>.zeros([n])
    let rows = n == 0 ? 0 : x.count / n
    x.withUnsafeBufferPointer { xb in
        s.withUnsafeMutableBufferPointer { sb in
            for r in 0..<rows {
                let row = xb.baseAddress! + r * n
                for j in 0..<n { sb[j] += row[j] }
            }
        }
    }
    return s
}

extension Embedding {
    /// dL/d(weight) `[vocab, hidden]` for the rows looked up for `ids`: row `id` is the sum of
    /// the gradients of the positions that read it.
    ///
    /// - Parameters:
    ///   - ids: the token ids of the forward pass (already validated).
    ///   - dy: the output gradient `[ids.count, hidden]`.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func weightGradient(ids: [Int], outputGradient dy: Tensor<T>) -> Tensor<T> {
        let d = hiddenSize
        precondition(dy.count == ids.count * d, "Embedding backward: dy \(dy.shape) for \(ids.count) ids")
        var dw = Tensor<T>.zeros([vocabSize, d])
        dy.withUnsafeBufferPointer { db in
            dw.withUnsafeMutableBufferPointer { wb in
                for (i, id) in ids.enumerated() {
                    let src = db.baseAddress! + i * d
                    let dst = wb.baseAddress! + id * d
                    for j in 0..<d { dst[j] += src[j] }
                }
            }
        }
        return dw
    }
}

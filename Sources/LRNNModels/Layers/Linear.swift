import LRNNLinearAlgebra

/// A dense layer `y = x·Wᵀ (+ b)` with PyTorch's weight layout `W [out, in]`.
///
/// Rows of tokens go through BLAS gemm (`[tokens, in] × [in, out]`), a single row through
/// gemv. A large product (rows·in·out ≥ 2²¹) is split into blocks of 128 rows that run as
/// ``/LRNNLinearAlgebra/Threading/parallelFor(_:_:)`` work items, each one single-threaded gemm;
/// with at most 16 rows (a decoding batch) it is split instead into blocks of output features
/// (`blockColumns(rows:inFeatures:)`), so that a batch of B tokens reads the weight once, on
/// every worker, in gemms OpenBLAS runs without packing.
///
/// A ``ParameterContainer`` with the parameters `weight` and, when present, `bias`. Its tensors
/// are values, so one layer may serve any number of threads; only a parameter walk replaces them.
public struct Linear<T: LRNNScalar>: Sendable, ParameterContainer {
    /// `weight [out, in]` (checkpoint key `….weight`).
    public internal(set) var weight: Tensor<T>
    /// `bias [out]` (checkpoint key `….bias`), when the layer has one.
    public internal(set) var bias: Tensor<T>?
    /// The number of input features.
    public let inFeatures: Int
    /// The number of output features.
    public let outFeatures: Int
    /// How a model built in code initialises the bias.
    let biasInitializer: ParameterInitializer

    /// Creates a layer from its weight `[out, in]` and optional bias `[out]`.
    /// - Parameters:
    ///   - weight: `[out, in]`.
    ///   - bias: `[out]`, or nil.
    /// - Precondition: the weight has rank 2 and the bias matches its row count.
    public init(weight: Tensor<T>, bias: Tensor<T>? = nil) {
        precondition(weight.rank == 2, "Linear: weight shape \(weight.shape) is not [out, in]")
        precondition(bias == nil || bias!.shape == [weight.shape[0]], "Linear: bias \(bias!.shape) vs \(weight.shape)")
        self.weight = weight
        self.bias = bias
        outFeatures = weight.shape[0]
        inFeatures = weight.shape[1]
        biasInitializer = .zeros
    }

    /// A layer of the given extents whose parameters a ``ParameterWalk`` supplies (empty until then).
    init(outFeatures: Int, inFeatures: Int, bias: ParameterInitializer? = nil) {
        self.outFeatures = outFeatures
        self.inFeatures = inFeatures
        weight = Tensor(zeros: [0])
        self.bias = bias == nil ? nil : Tensor(zeros: [0])
        biasInitializer = bias ?? .zeros
    }

    /// `weight [out, in]` (N(0, initializer range²) when built in code), then `bias [out]` (zeros).
    ///
    /// - Parameter walk: the walk.
    /// - Throws: as ``ParameterWalk/parameter(_:_:shape:initializer:)``.
    public mutating func walkParameters(_ walk: inout ParameterWalk<T>) throws(ModelLoadError) {
        try walk.parameter("weight", &weight, shape: [outFeatures, inFeatures], initializer: .normalInitializerRange)
        if bias != nil { try walk.parameter("bias", &bias!, shape: [outFeatures], initializer: biasInitializer) }
    }

    /// Rows per gemm when a product is split over workers.
    static var blockRows: Int { 128 }
    /// The work (rows·in·out multiply-adds) from which a product is split into row blocks.
    static var parallelWork: Int { 1 << 21 }

    /// The most rows (tokens) for which a large product is split by output features instead
    /// of by rows: a decoding batch.
    static var fewRows: Int { 16 }

    /// Output features per gemm when a product of a few rows is split: the largest multiple of
    /// 8 (at least 8) with `rows · columns · in ≤ 10⁶`, the size up to which OpenBLAS (0.3.21,
    /// SkylakeX-family cores) runs gemm through its small-matrix kernels, which read the weight
    /// rows in place instead of packing them first. Measured on the 2-core AMD EPYC (Cooperlake
    /// kernels), `[8, 1024] × [1024, 4096]ᵀ` in Float on one core, the weight in cache: 8.0 ms as
    /// one gemm, 3.5 ms in blocks of 256 output features, 1.3 ms in blocks of 120.
    /// - Parameters:
    ///   - rows: the rows of the product (≥ 1).
    ///   - inFeatures: the input width (≥ 1).
    static func blockColumns(rows: Int, inFeatures: Int) -> Int {
        let fit = 1_000_000 / Swift.max(1, rows * inFeatures)
        return Swift.max(8, fit / 8 * 8)
    }

    /// `y = x·Wᵀ + b` for `x [rows, in]` (any leading shape flattened), returning `[rows, out]`.
    /// - Parameter x: rows of `inFeatures` elements (any leading shape).
    /// - Precondition: the last extent of `x` is `inFeatures`.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func callAsFunction(_ x: Tensor<T>) -> Tensor<T> {
        precondition(x.shape.last == inFeatures, "Linear: input \(x.shape) for weight \(weight.shape)")
        let rows = inFeatures == 0 ? 0 : x.count / inFeatures
        var y = Tensor<T>.zeros([rows, outFeatures])
        x.withUnsafeBufferPointer { xb in
            y.withUnsafeMutableBufferPointer { yb in
                apply(xb.baseAddress!, rows: rows, into: yb.baseAddress!)
            }
        }
        return y
    }

    /// Writes `x·Wᵀ + b` for `rows` contiguous rows of `x` (width `in`) into `y` (width `out`).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func apply(_ x: UnsafePointer<T>, rows: Int, into y: UnsafeMutablePointer<T>) {
        if rows == 0 || outFeatures == 0 { return }
        let n = outFeatures
        let k = inFeatures
        var beta: T = 0
        if let b = bias {
            b.withUnsafeBufferPointer { bb in
                for r in 0..<rows { (y + r * n).update(from: bb.baseAddress!, count: n) }
            }
            beta = 1
        }
        weight.withUnsafeBufferPointer { wb in
            let w = MatrixView(UnsafeMutablePointer(mutating: wb.baseAddress!), rows: n, columns: k)
            if rows == 1 {
                BLAS.gemv(w, .none, x: x, y: y, beta: beta)
            } else if rows <= Self.fewRows && rows * n * k >= Self.parallelWork {
                // A few rows (decoding a batch): fixed blocks of output features, each one gemm
                // small enough for OpenBLAS's unpacked small-matrix kernels, as parallel work
                // items over both cores (the split again depends on the shape only).
                let columns = Self.blockColumns(rows: rows, inFeatures: k)
                let blocks = (n + columns - 1) / columns
                let wBase = w.base
                let xv = MatrixView(UnsafeMutablePointer(mutating: x), rows: rows, columns: k)
                Threading.parallelFor(blocks) { block in
                    let lo = block * columns
                    let width = Swift.min(n, lo + columns) - lo
                    let wv = MatrixView(wBase + lo * k, rows: width, columns: k)
                    let yv = MatrixView(y + lo, rows: rows, columns: width, leadingDimension: n)
                    BLAS.gemm(xv, .none, wv, .transpose, into: yv, beta: beta)
                }
            } else {
                // Fixed blocks of rows, one single-threaded gemm each, as parallel work items:
                // the split depends on the shape only, so the result does too (never on the
                // thread count or on what other callers run; docs/ARCHITECTURE.md).
                let blocks = rows * n * k >= Self.parallelWork ? (rows + Self.blockRows - 1) / Self.blockRows : 1
                let wBase = w.base
                Threading.parallelFor(blocks) { block in
                    let lo = block * Self.blockRows
                    let hi = blocks == 1 ? rows : Swift.min(rows, lo + Self.blockRows)
                    let xv = MatrixView(UnsafeMutablePointer(mutating: x + lo * k), rows: hi - lo, columns: k)
                    let yv = MatrixView(y + lo * n, rows: hi - lo, columns: n)
                    let wv = MatrixView(wBase, rows: n, columns: k)
                    BLAS.gemm(xv, .none, wv, .transpose, into: yv, beta: beta)
                }
            }
        }
    }
}

import LRNNLinearAlgebra
import Testing

@Suite("Tensor and MatrixView")
struct TensorTests {
    @Test("offsets, strides and subscripts are row-major")
    func offsets() {
        var t = Tensor<Double>(shape: [2, 3, 4], scalars: (0..<24).map(Double.init))
        #expect(t.rank == 3 && t.count == 24)
        #expect(t.strides == [12, 4, 1])
        #expect(t.offset([1, 2, 3]) == 23 && t.offset([1, 0, 2]) == 14)
        #expect(t[1, 0, 2] == 14)
        t[0, 2, 1] = -1
        #expect(t.scalars[9] == -1)
        let scalar = Tensor<Float>(shape: [], scalars: [5])
        #expect(scalar.rank == 0 && scalar.count == 1 && scalar.strides == [] && scalar.offset([]) == 0)
        let empty = Tensor<Float>(zeros: [3, 0, 2])
        #expect(empty.count == 0 && empty.strides == [0, 2, 1])
    }

    @Test("reshape keeps the elements, map and conversions keep the shape")
    func reshape() {
        let t = Tensor<Double>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        let r = t.reshaped([3, 2])
        #expect(r.shape == [3, 2] && r.scalars == t.scalars && r[2, 0] == 5)
        #expect(t.reshaped([6]).shape == [6] && t.reshaped([1, 6, 1])[0, 4, 0] == 5)
        let f: Tensor<Float> = t.converted()
        #expect(f.shape == [2, 3] && f.scalars == [1, 2, 3, 4, 5, 6])
        #expect(t.map { $0 * 2 }.scalars == [2, 4, 6, 8, 10, 12])
        #expect(Tensor<Double>(shape: [2], scalars: [-3, 2]).maxAbs == 3)
        #expect(!Tensor<Double>(shape: [2], scalars: [.nan, 2]).allFinite)
    }

    @Test("relativeError is max|x − r| / max|r|, absolute against zeros, NaN on NaN")
    func relativeError() {
        let r = Tensor<Double>(shape: [3], scalars: [1, -4, 2])
        let x = Tensor<Double>(shape: [3], scalars: [1.5, -4, 2])
        #expect(x.relativeError(to: r) == 0.125)
        #expect(x.relativeError(to: Tensor(zeros: [3])) == 4)
        #expect(Tensor<Double>(shape: [3], scalars: [1, .nan, 2]).relativeError(to: r).isNaN)
    }

    @Test("withMatrixView flattens leading dimensions; empty extents stay exact")
    func matrixViews() {
        var t = Tensor<Double>(shape: [2, 3, 4], scalars: (0..<24).map(Double.init))
        t.withMatrixView { v in
            #expect(v.rows == 6 && v.columns == 4 && v.leadingDimension == 4)
            #expect(v[5, 3] == 23)
        }
        var e = Tensor<Float>(zeros: [2, 0])
        e.withMatrixView { v in #expect(v.rows == 2 && v.columns == 0 && v.leadingDimension == 1) }
        var z = Tensor<Float>(zeros: [0, 5])
        z.withMatrixView { v in #expect(v.rows == 0 && v.columns == 5) }
        var row = Tensor<Float>(shape: [3], scalars: [1, 2, 3])
        row.withMatrixView { v in #expect(v.rows == 1 && v.columns == 3 && v[0, 2] == 3) }
    }

    @Test("block views: base offset, extents and leading dimension; writes land in place")
    func blocks() {
        var t = Tensor<Double>(shape: [4, 6], scalars: (0..<24).map(Double.init))
        t.withMatrixView { v in
            let b = v.block(rows: 1..<3, columns: 2..<5)
            #expect(b.rows == 2 && b.columns == 3 && b.leadingDimension == 6)
            #expect(b.base == v.base + 8 && b[0, 0] == 8 && b[1, 2] == 16)
            let inner = b.block(rows: 1..<2, columns: 1..<3)
            #expect(inner.base == v.base + 15 && inner[0, 1] == 16)
            #expect(v.rows(2..<4).base == v.base + 12 && v.rows(2..<4).rows == 2)
            #expect(v.row(3) == v.base + 18)
            #expect(b.shapeDescription == "2×3 (ld 6)")
            b.fill(-1)
            let empty = v.block(rows: 4..<4, columns: 0..<6)
            #expect(empty.rows == 0)
        }
        let filled = t.scalars.enumerated().filter { $0.element == -1 }.map { $0.offset }
        #expect(filled == [8, 9, 10, 14, 15, 16])
        // copy(from:) between views with different leading dimensions.
        var dst = Tensor<Double>(shape: [3, 5], repeating: 0)
        t.withMatrixView { src in
            dst.withMatrixView { d in
                d.block(rows: 1..<3, columns: 1..<3).copy(from: src.block(rows: 0..<2, columns: 0..<2))
            }
        }
        #expect(dst.scalars == [0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 6, 7, 0, 0])
    }

    @Test("MatrixView with an explicit leading dimension reads strided rows")
    func explicitLeadingDimension() {
        var storage: [Float] = [1, 2, 99, 3, 4, 99, 5, 6, 99]
        storage.withUnsafeMutableBufferPointer { buf in
            let v = MatrixView(buf.baseAddress!, rows: 3, columns: 2, leadingDimension: 3)
            #expect(v[2, 1] == 6 && v[1, 0] == 3)
            let t = v.block(rows: 1..<3, columns: 1..<2)
            #expect(t[0, 0] == 4 && t[1, 0] == 6 && t.leadingDimension == 3)
        }
    }
}

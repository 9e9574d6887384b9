import LRNNLinearAlgebra
import Testing

@Suite("SequenceBoundaries")
struct SequenceBoundariesTests {
    @Test("well-formed offsets: count, total, ranges, lengths, longest")
    func wellFormed() throws {
        let b = try SequenceBoundaries([0, 3, 3, 4, 9])
        #expect(b.count == 4)
        #expect(b.total == 9)
        #expect(b[0] == 0..<3 && b[1] == 3..<3 && b[2] == 3..<4 && b[3] == 4..<9)
        #expect((0..<4).map(b.length) == [3, 0, 1, 5])
        #expect(b.longest == 5)
        #expect(b.description == "cu_seqlens=[0, 3, 3, 4, 9]")
        #expect(try SequenceBoundaries([0, 0]).longest == 0)
    }

    @Test("from lengths: the prefix sum")
    func fromLengths() throws {
        #expect(try SequenceBoundaries(lengths: [2, 0, 1]).offsets == [0, 2, 2, 3])
        #expect(throws: SequenceBoundariesError(reason: "needs at least 1 length, got 0")) {
            try SequenceBoundaries(lengths: [])
        }
        #expect(throws: SequenceBoundariesError(reason: "length 1 is negative: -2")) {
            try SequenceBoundaries(lengths: [1, -2])
        }
        #expect(throws: SequenceBoundariesError(reason: "total length overflows at length 1")) {
            try SequenceBoundaries(lengths: [Int.max, 1])
        }
    }

    @Test("each malformed list is refused with its reason")
    func malformed() {
        #expect(throws: SequenceBoundariesError(reason: "needs at least 2 entries, got 1")) {
            try SequenceBoundaries([0])
        }
        #expect(throws: SequenceBoundariesError(reason: "needs at least 2 entries, got 0")) {
            try SequenceBoundaries([])
        }
        #expect(throws: SequenceBoundariesError(reason: "must start at 0, starts at 1")) {
            try SequenceBoundaries([1, 3])
        }
        #expect(throws: SequenceBoundariesError(reason: "decreases at index 2: 5 then 3")) {
            try SequenceBoundaries([0, 5, 3])
        }
        #expect(throws: SequenceBoundariesError(reason: "must start at 0, starts at -1")) {
            try SequenceBoundaries([-1, 0])
        }
    }

    @Test("the packed length: requireTotal and init(_:total:)")
    func total() throws {
        let b = try SequenceBoundaries([0, 2, 5])
        try b.requireTotal(5)
        #expect(throws: SequenceBoundariesError(reason: "must end at the packed length 6, ends at 5")) {
            try b.requireTotal(6)
        }
        #expect(try SequenceBoundaries([0, 2, 5], total: 5) == b)
        #expect(throws: SequenceBoundariesError(reason: "must end at the packed length 4, ends at 5")) {
            try SequenceBoundaries([0, 2, 5], total: 4)
        }
        #expect(throws: SequenceBoundariesError(reason: "decreases at index 2: 2 then 1")) {
            try SequenceBoundaries([0, 2, 1], total: 1)
        }
    }
}

@Suite("Tensor helpers: zeros, slices, the non-finite scan")
struct TensorHelperTests {
    @Test("zeros in both precisions")
    func zeros() {
        let z = Tensor<Float>.zeros([2, 0, 3])
        #expect(z.shape == [2, 0, 3] && z.count == 0)
        let d = Tensor<Double>.zeros([2, 3])
        #expect(d.scalars == [Double](repeating: 0, count: 6))
    }

    @Test("slice and replaceSlice over batches and tokens are inverse")
    func slices() {
        // [B = 3, T = 4, 2]: element (b, t, j) = 100·b + 10·t + j.
        let values: [Double] = (0..<24).map { (i: Int) -> Double in
            let b: Int = i / 8
            let t: Int = (i / 2) % 4
            return Double(100 * b + 10 * t + i % 2)
        }
        var x = Tensor<Double>(shape: [3, 4, 2], scalars: values)
        let s = x.slice(batches: 1..<3, tokens: 2..<4)
        #expect(s.shape == [2, 2, 2])
        #expect(s.scalars == [120, 121, 130, 131, 220, 221, 230, 231])
        let rows = x.slice(batches: 2..<3)
        #expect(rows.shape == [1, 4, 2] && rows.scalars.first == 200 && rows.scalars.last == 231)
        let empty = x.slice(batches: 0..<3, tokens: 1..<1)
        #expect(empty.shape == [3, 0, 2] && empty.count == 0)
        var y = x
        y.replaceSlice(batches: 1..<3, tokens: 2..<4, with: s.map { -$0 })
        #expect(y.slice(batches: 1..<3, tokens: 2..<4).scalars == s.scalars.map { -$0 })
        #expect(y.slice(batches: 0..<1).scalars == x.slice(batches: 0..<1).scalars)
        y.replaceSlice(batches: 1..<3, tokens: 2..<4, with: s)
        #expect(y == x)
        x.replaceSlice(batches: 0..<1, with: Tensor(shape: [1, 4, 2], repeating: 7))
        #expect(x.slice(batches: 0..<1).scalars == [Double](repeating: 7, count: 8))
    }

    @Test("the non-finite scan finds NaN, ±∞ and positives, with −∞ optionally allowed", arguments: [1, 17, 1 << 20])
    func scan(count: Int) {
        func check<T: LRNNScalar>(_: T.Type) {
            var x = Tensor<T>(shape: [count], repeating: -1)
            #expect(NonFiniteScan.scan(x) == (false, false))
            #expect(!x.containsNonFinite)
            let cases: [(value: T, nonFinite: Bool, allowingNegativeInfinity: Bool, positive: Bool)] = [
                (T.nan, true, true, true), (T.infinity, true, true, true), (-T.infinity, true, false, false),
                (T(0.5), false, false, true), (T(0), false, false, false),
                (-T.leastNonzeroMagnitude, false, false, false),
            ]
            for (value, nonFinite, nonFiniteAllowingNegInf, positive) in cases {
                x.scalars[count - 1] = value
                let r = NonFiniteScan.scan(x)
                #expect(r.nonFinite == nonFinite, "\(T.self) \(value)")
                #expect(x.containsNonFinite == nonFinite)
                let g = NonFiniteScan.scan(x, allowingNegativeInfinity: true)
                #expect(g.nonFinite == nonFiniteAllowingNegInf, "\(T.self) \(value)")
                // NaN's sign bit is clear here: it counts as positive, as the bit test defines.
                #expect(g.positive == positive, "\(T.self) \(value)")
                x.scalars[count - 1] = -1
            }
        }
        check(Float.self)
        check(Double.self)
    }
}

import LRNNLinearAlgebra
import RealModule

extension GLA {
    /// Runs the chunked kernel over every (sequence, head) work item in parallel.
    static func runChunked<T: LRNNScalar>(
        _ p: Problem<T>, q: Tensor<T>, k: Tensor<T>, v: Tensor<T>, gk: Tensor<T>, initialState: Tensor<T>?,
        chunkSize: Int, subChunkSize: Int
    ) -> (output: Tensor<T>, finalState: Tensor<T>) {
        let (tokens, heads, dk, dv) = (p.tokens, p.heads, p.keyDim, p.valueDim)
        var output: Tensor<T> = GLA.zeros([p.batch, tokens, heads, dv])
        // The final state tensor doubles as the running state of each work item.
        var finalState: Tensor<T> = initialState ?? GLA.zeros([p.stateCount, heads, dk, dv])
        let segments = p.segments
        let scale = p.scale
        q.withUnsafeBufferPointer { qb in
            k.withUnsafeBufferPointer { kb in
                v.withUnsafeBufferPointer { vb in
                    gk.withUnsafeBufferPointer { gb in
                        output.withUnsafeMutableBufferPointer { ob in
                            finalState.withUnsafeMutableBufferPointer { sb in
                                let qp = UnsafeMutablePointer(mutating: qb.baseAddress)
                                let kp = UnsafeMutablePointer(mutating: kb.baseAddress)
                                let vp = UnsafeMutablePointer(mutating: vb.baseAddress)
                                let gp = UnsafeMutablePointer(mutating: gb.baseAddress)
                                let op = ob.baseAddress
                                let sp = sb.baseAddress
                                Threading.parallelFor(segments.count * heads) { item in
                                    let seg = segments[item / heads]
                                    let h = item % heads
                                    guard seg.length > 0, let qp, let kp, let vp, let gp, let op, let sp else { return }
                                    let row = (seg.batch * tokens + seg.start) * heads + h
                                    let kernel = ChunkKernel<T>(
                                        keyDim: dk, valueDim: dv, chunkSize: chunkSize, subChunkSize: subChunkSize)
                                    var workspace = [T](repeating: 0, count: kernel.workspaceCount)
                                    kernel.run(
                                        q: qp + row * dk, k: kp + row * dk, gk: gp + row * dk, v: vp + row * dv,
                                        o: op + row * dv, keyStride: heads * dk, valueStride: heads * dv,
                                        length: seg.length, scale: scale, state: sp + item * dk * dv,
                                        workspace: &workspace)
                                }
                            }
                        }
                    }
                }
            }
        }
        return (output, finalState)
    }

    /// The chunked kernel for one (sequence, head) work item.
    ///
    /// Its scratch memory (``workspaceCount`` elements, allocated once per work item and reused by every
    /// chunk) holds row-major, contiguous blocks (C = chunk size, c = sub-chunk size): `decay` C×K
    /// (`exp(gk)` of the chunk), `qGated` C×K, `kGated` C×K, `kSub` C×K, `qSub` c×K, `attention` C×C,
    /// `pairs` c(c+1)/2 × K, `pairValues` c(c+1)/2 and three K-vectors.
    struct ChunkKernel<T: LRNNScalar> {
        let keyDim: Int
        let valueDim: Int
        let chunkSize: Int
        let subChunkSize: Int

        /// The number of scratch elements ``run(q:k:gk:v:o:keyStride:valueStride:length:scale:state:workspace:)`` needs.
        var workspaceCount: Int {
            let pairs = subChunkSize * (subChunkSize + 1) / 2
            return 4 * chunkSize * keyDim + subChunkSize * keyDim + chunkSize * chunkSize + pairs * keyDim + pairs
                + 3 * keyDim + 1
        }

        /// Processes one sequence of one head, chunk by chunk; `state` (K×V, contiguous) holds the initial
        /// state on entry and the final state on return. Rows of `q`, `k`, `gk` are `keyStride` apart,
        /// rows of `v` and `o` `valueStride` apart.
        @_specialize(where T == Float)
        @_specialize(where T == Double)
        func run(
            q: UnsafeMutablePointer<T>, k: UnsafeMutablePointer<T>, gk: UnsafeMutablePointer<T>,
            v: UnsafeMutablePointer<T>, o: UnsafeMutablePointer<T>, keyStride: Int, valueStride: Int,
            length: Int, scale: T, state: UnsafeMutablePointer<T>, workspace: inout [T]
        ) {
            let (dk, dv, cs, sub) = (keyDim, valueDim, chunkSize, subChunkSize)
            precondition(workspace.count >= workspaceCount, "GLA workspace: \(workspace.count) < \(workspaceCount)")
            workspace.withUnsafeMutableBufferPointer { wb in
                let base = wb.baseAddress!
                let decay = base
                let qGated = decay + cs * dk
                let kGated = qGated + cs * dk
                let kSub = kGated + cs * dk
                let qSub = kSub + cs * dk
                let attention = qSub + sub * dk
                let pairs = attention + cs * cs
                let pairValues = pairs + (sub * (sub + 1) / 2) * dk
                let carry = pairValues + sub * (sub + 1) / 2
                let ones = carry + dk
                let stateDecay = ones + dk
                let sink = stateDecay + dk
                ones.update(repeating: 1, count: dk)
                let tiny = Self.flushBelow
                let stateView = MatrixView(state, rows: dk, columns: dv)

                var t = 0
                while t < length {
                    let len = Swift.min(cs, length - t)
                    let qc = q + t * keyStride
                    let kc = k + t * keyStride
                    let gc = gk + t * keyStride
                    let vView = MatrixView(v + t * valueStride, rows: len, columns: dv, leadingDimension: valueStride)
                    let oView = MatrixView(o + t * valueStride, rows: len, columns: dv, leadingDimension: valueStride)
                    // Rows of one head are H·D elements apart (4 KiB at H = 8, D = 128): a new page per row, so
                    // the hardware prefetcher stops at every row and the loops below would wait on one miss
                    // chain per row. Touching every cache line of the chunk first issues the misses together.
                    sink.pointee +=
                        Self.touch(qc, rows: len, columns: dk, stride: keyStride)
                        + Self.touch(kc, rows: len, columns: dk, stride: keyStride)
                        + Self.touch(gc, rows: len, columns: dk, stride: keyStride)
                        + Self.touch(v + t * valueStride, rows: len, columns: dv, stride: valueStride)

                    // a_i = exp(gk_i) ≤ 1, then forward products exp(γ_i) = Π_{s ≤ i} a_s into the gated queries.
                    carry.update(repeating: 1, count: dk)
                    for i in 0..<len {
                        let g = gc + i * keyStride
                        let a = decay + i * dk
                        let qi = qc + i * keyStride
                        let qg = qGated + i * dk
                        Self.decayFactors(g, into: a, count: dk)
                        for x in 0..<dk {
                            let c = carry[x] * a[x]
                            let f: T = c * (c < tiny ? 0 : 1)
                            carry[x] = f
                            qg[x] = scale * qi[x] * f
                        }
                    }
                    stateDecay.update(from: carry, count: dk)  // exp(γ_last)

                    // Keys gated to the chunk end: k_j ⊙ exp(γ_last − γ_j) = k_j ⊙ Π_{j < s < len} a_s.
                    carry.update(repeating: 1, count: dk)
                    for j in stride(from: len - 1, through: 0, by: -1) {
                        let kj = kc + j * keyStride
                        let kg = kGated + j * dk
                        let a = decay + j * dk
                        for x in 0..<dk {
                            kg[x] = kj[x] * carry[x]
                            let c = carry[x] * a[x]
                            carry[x] = c * (c < tiny ? 0 : 1)
                        }
                    }

                    // Inter-chunk term O = (scale·Q ⊙ exp(γ))·S.
                    BLAS.gemm(MatrixView(qGated, rows: len, columns: dk), .none, stateView, .none, into: oView)

                    // Intra-chunk attention P (lower triangular, len×len).
                    intraChunkAttention(
                        q: qc, k: kc, keyStride: keyStride, length: len, scale: scale, decay: decay,
                        qSub: qSub, kSub: kSub, attention: attention, pairs: pairs, pairValues: pairValues,
                        carry: carry, ones: ones)
                    BLAS.gemm(MatrixView(attention, rows: len, columns: len), .none, vView, .none, into: oView, beta: 1)

                    // State update S ← diag(exp(γ_last))·S + (K ⊙ exp(γ_last − γ))ᵀ·V.
                    for x in 0..<dk {
                        let r = state + x * dv
                        let d = stateDecay[x]
                        for y in 0..<dv { r[y] *= d }
                    }
                    BLAS.gemm(
                        MatrixView(kGated, rows: len, columns: dk), .transpose, vView, into: stateView, beta: 1)
                    t += len
                }
            }
        }

        /// Builds the len×len lower-triangular intra-chunk matrix
        /// `P_ij = scale·Σ_c q_ic·k_jc·exp(γ_ic − γ_jc)` (j ≤ i) into `attention` (leading dimension len).
        ///
        /// For sub-chunk I = rows `n ..< n+m`, every exponent is split at the reference row n:
        /// `exp(γ_i − γ_j) = exp(γ_i − γ_n)·exp(γ_n − γ_j)`. The q side (i ≥ n) is ≤ 1. The k side is ≤ 1
        /// for the earlier rows j < n, so the block `P[I, 0..<n]` is always one GEMM. For the diagonal
        /// block (n ≤ j) the k side is `≥ 1`, bounded by `exp(Δ)` with Δ the largest per-channel decay
        /// `γ_n − γ_{n+m−1}` inside the sub-chunk: when Δ ≤ ``boundedDecay`` (far from overflow and
        /// underflow) the diagonal block joins the same GEMM and its upper triangle is cleared; otherwise
        /// a direct loop over the pairs j ≤ i carries `k_j ⊙ Π_{j < s ≤ i} a_s` (no division, nothing
        /// above 1) and one GEMV sums the pair products over the channels.
        @inline(__always)
        func intraChunkAttention(
            q: UnsafeMutablePointer<T>, k: UnsafeMutablePointer<T>, keyStride: Int, length len: Int, scale: T,
            decay: UnsafeMutablePointer<T>, qSub: UnsafeMutablePointer<T>, kSub: UnsafeMutablePointer<T>,
            attention: UnsafeMutablePointer<T>, pairs: UnsafeMutablePointer<T>,
            pairValues: UnsafeMutablePointer<T>, carry: UnsafeMutablePointer<T>, ones: UnsafeMutablePointer<T>
        ) {
            let dk = keyDim
            let sub = subChunkSize
            let floor = T.exp(-Self.boundedDecay)
            let tiny = Self.flushBelow
            attention.update(repeating: 0, count: len * len)
            let pView = MatrixView(attention, rows: len, columns: len)
            var n = 0
            while n < len {
                let m = Swift.min(sub, len - n)
                // q side: q_{n+r} ⊙ Π_{n < s ≤ n+r} a_s; afterwards carry = exp(−Δ) per channel.
                carry.update(repeating: 1, count: dk)
                for r in 0..<m {
                    let qi = q + (n + r) * keyStride
                    let dst = qSub + r * dk
                    if r > 0 {
                        let a = decay + (n + r) * dk
                        for x in 0..<dk {
                            let c = carry[x] * a[x]
                            carry[x] = c * (c < tiny ? 0 : 1)
                        }
                    }
                    for x in 0..<dk { dst[x] = qi[x] * carry[x] }
                }
                var weak: UInt8 = 1
                for x in 0..<dk { weak &= carry[x] >= floor ? 1 : 0 }
                // k side for the earlier rows: k_j ⊙ Π_{j < s ≤ n} a_s, j < n.
                if n > 0 {
                    carry.update(from: decay + n * dk, count: dk)
                    for j in stride(from: n - 1, through: 0, by: -1) {
                        let kj = k + j * keyStride
                        let dst = kSub + j * dk
                        let a = decay + j * dk
                        for x in 0..<dk {
                            dst[x] = kj[x] * carry[x]
                            let c = carry[x] * a[x]
                            carry[x] = c * (c < tiny ? 0 : 1)
                        }
                    }
                }
                if weak != 0 {
                    // k side inside the sub-chunk: k_j / Π_{n < s ≤ j} a_s ≤ exp(Δ), j ≥ n.
                    carry.update(repeating: 1, count: dk)
                    for j in n..<(n + m) {
                        let kj = k + j * keyStride
                        let dst = kSub + j * dk
                        if j > n {
                            let a = decay + j * dk
                            for x in 0..<dk { carry[x] /= a[x] }
                        }
                        for x in 0..<dk { dst[x] = kj[x] * carry[x] }
                    }
                    BLAS.gemm(
                        MatrixView(qSub, rows: m, columns: dk), .none, MatrixView(kSub, rows: n + m, columns: dk),
                        .transpose, into: pView.block(rows: n..<(n + m), columns: 0..<(n + m)), alpha: scale)
                    for r in 0..<(m - 1) {
                        (attention + (n + r) * len + n + r + 1).update(repeating: 0, count: m - 1 - r)
                    }
                    n += m
                    continue
                }
                if n > 0 {
                    BLAS.gemm(
                        MatrixView(qSub, rows: m, columns: dk), .none, MatrixView(kSub, rows: n, columns: dk),
                        .transpose, into: pView.block(rows: n..<(n + m), columns: 0..<n), alpha: scale)
                }
                // Strong decay: pair (i, j), j ≤ i, row = q_i ⊙ k_j ⊙ Π_{j < s ≤ i} a_s.
                var pair = 0
                for j in 0..<m {
                    let kj = k + (n + j) * keyStride
                    carry.update(from: kj, count: dk)
                    for i in j..<m {
                        let qi = q + (n + i) * keyStride
                        let dst = pairs + pair * dk
                        if i > j {
                            let a = decay + (n + i) * dk
                            for x in 0..<dk {
                                let c = carry[x] * a[x]
                                carry[x] = c * (Swift.abs(c) < tiny ? 0 : 1)
                            }
                        }
                        for x in 0..<dk { dst[x] = qi[x] * carry[x] }
                        pair += 1
                    }
                }
                BLAS.gemv(
                    MatrixView(pairs, rows: pair, columns: dk), x: ones, y: pairValues, alpha: scale, beta: 0)
                pair = 0
                for j in 0..<m {
                    for i in j..<m {
                        attention[(n + i) * len + n + j] = pairValues[pair]
                        pair += 1
                    }
                }
                n += m
            }
        }

        /// The largest in-sub-chunk decay (in log space) for which the diagonal block is a GEMM: its
        /// factors then lie in [exp(−Δ), exp(Δ)], far inside the normal range (Float: e^±30 ≈ 1e±13;
        /// Double: e^±200).
        /// Reads one element per 64-byte line of a strided block (independent loads the core overlaps)
        /// and returns a value that depends on them, so the loads are not optimised away.
        @inline(__always)
        static func touch(_ p: UnsafeMutablePointer<T>, rows: Int, columns: Int, stride: Int) -> T {
            let step = Swift.max(1, 64 / MemoryLayout<T>.stride)
            var acc: T = 0
            for i in 0..<rows {
                let row = p + i * stride
                var x = 0
                while x < columns {
                    acc += row[x] * 0
                    x += step
                }
            }
            return acc
        }

        /// `a = exp(g)` for log-decays `g ≤ 0`, with factors below ``flushBelow`` set to zero.
        ///
        /// Float and Double use a branch-free exponential the compiler vectorises (libm's is a call per
        /// element): `exp(x) = 2ⁿ·p(r)`, n = round(x/ln 2) by the 1.5·2^(p−1) rounding trick,
        /// r = x − n·ln 2 in two parts (|r| ≤ ln 2 / 2), p the Taylor polynomial of degree 7 (Float) or 13
        /// (Double), whose truncation error is below one ulp; 2ⁿ is assembled from its exponent bits.
        /// Inputs below `log(flushBelow)` give exactly 0, so n stays far from the subnormal range.
        @inline(__always)
        static func decayFactors(_ g: UnsafeMutablePointer<T>, into a: UnsafeMutablePointer<T>, count: Int) {
            if T.self == Float.self {
                expFloat(
                    UnsafeMutableRawPointer(g).assumingMemoryBound(to: Float.self),
                    UnsafeMutableRawPointer(a).assumingMemoryBound(to: Float.self), count)
            } else if T.self == Double.self {
                expDouble(
                    UnsafeMutableRawPointer(g).assumingMemoryBound(to: Double.self),
                    UnsafeMutableRawPointer(a).assumingMemoryBound(to: Double.self), count)
            } else {
                let tiny = flushBelow
                for x in 0..<count {
                    let e = T.exp(g[x])
                    a[x] = e * (e < tiny ? 0 : 1)
                }
            }
        }

        @inline(__always)
        static func expFloat(_ g: UnsafeMutablePointer<Float>, _ a: UnsafeMutablePointer<Float>, _ count: Int) {
            let lo = Float.log((Float.leastNormalMagnitude / Float.ulpOfOne).squareRoot())
            let log2e: Float = 1.442_695_040_888_963
            let ln2hi: Float = 0.693_359_375
            let ln2lo: Float = -2.121_944_4e-4
            let magic: Float = 12_582_912  // 1.5·2²³
            let magicBits = Int32(bitPattern: magic.bitPattern)
            for i in 0..<count {
                let g0 = g[i]
                let keep: Float = g0 < lo ? 0 : 1
                let x = g0 * keep
                let t = x * log2e + magic
                let n = t - magic
                let r = (x - n * ln2hi) - n * ln2lo
                var p: Float = 1.0 / 5040
                p = p * r + 1.0 / 720
                p = p * r + 1.0 / 120
                p = p * r + 1.0 / 24
                p = p * r + 1.0 / 6
                p = p * r + 0.5
                p = p * r + 1
                p = p * r + 1
                let e = Int32(bitPattern: t.bitPattern) &- magicBits
                a[i] = p * Float(bitPattern: UInt32(bitPattern: (e &+ 127) << 23)) * keep
            }
        }

        @inline(__always)
        static func expDouble(_ g: UnsafeMutablePointer<Double>, _ a: UnsafeMutablePointer<Double>, _ count: Int) {
            let lo = Double.log((Double.leastNormalMagnitude / Double.ulpOfOne).squareRoot())
            let log2e: Double = 1.442_695_040_888_963_4
            let ln2hi: Double = 6.931_471_803_691_238_164_90e-01
            let ln2lo: Double = 1.908_214_929_270_587_700_02e-10
            let magic: Double = 6_755_399_441_055_744  // 1.5·2⁵²
            let magicBits = Int64(bitPattern: magic.bitPattern)
            for i in 0..<count {
                let g0 = g[i]
                let keep: Double = g0 < lo ? 0 : 1
                let x = g0 * keep
                let t = x * log2e + magic
                let n = t - magic
                let r = (x - n * ln2hi) - n * ln2lo
                var p: Double = 1.0 / 6_227_020_800
                p = p * r + 1.0 / 479_001_600
                p = p * r + 1.0 / 39_916_800
                p = p * r + 1.0 / 3_628_800
                p = p * r + 1.0 / 362_880
                p = p * r + 1.0 / 40320
                p = p * r + 1.0 / 5040
                p = p * r + 1.0 / 720
                p = p * r + 1.0 / 120
                p = p * r + 1.0 / 24
                p = p * r + 1.0 / 6
                p = p * r + 0.5
                p = p * r + 1
                p = p * r + 1
                let e = Int64(bitPattern: t.bitPattern) &- magicBits
                a[i] = p * Double(bitPattern: UInt64(bitPattern: (e &+ 1023) << 52)) * keep
            }
        }

        static var boundedDecay: T { T.self == Float.self ? 30 : 200 }

        /// Decay factors below this are set to zero: `√(leastNormal / ε)` (Float ≈ 3e−16, Double ≈ 1e−146).
        /// A product of two kept factors stays a normal number with ~1/ε of headroom, so no subnormal
        /// operand (which costs a microcode assist per operation on x86) reaches the loops or the GEMMs;
        /// a dropped term is smaller than the kept ones by far more than the precision.
        static var flushBelow: T { (T.leastNormalMagnitude / T.ulpOfOne).squareRoot() }
    }
}

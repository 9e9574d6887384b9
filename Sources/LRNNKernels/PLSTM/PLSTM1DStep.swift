import LRNNLinearAlgebra

extension PLSTM1D {
    /// One decoding token for B sequences: the output from the state before the token, then the state
    /// advanced in place, `C ← T·C + S·kv` (the per-step recurrence of ``PLSTM1D``).
    ///
    /// The state stays in the public layout: the transition is one `(DK·DV) × JT` by `JT × JT` product,
    /// the source one `DK × JK` by `JK × (DV·JT)` product, the read one `JQ × DK` by `DK × (DV·JT)`
    /// product per (batch entry, head), all BLAS calls.
    ///
    /// - Parameters:
    ///   - q: queries `[B, H, DK, JQ]`.
    ///   - k: keys `[B, H, DK, JK]`.
    ///   - v: values `[B, H, DV, JV]`.
    ///   - S: source gates `[B, H, JT, JK, JV]`.
    ///   - T: transitions `[B, H, JT, JT]`.
    ///   - M: mark gates `[B, H, JO, JQ, JT]`.
    ///   - D: direct gates `[B, H, JO, JQ, JK, JV]`.
    ///   - scale: the query scale; nil means `DK^(−1/2)`.
    ///   - state: the states `[B, H, DK, DV, JT]`, advanced in place.
    /// - Returns: the token's output `[B, H, DV, JO]`.
    /// - Throws: ``KernelError/shapeMismatch(tensor:shape:expected:)`` naming the tensor (shapes are
    ///   checked as those of a one-token call), ``KernelError/nonFinite(tensor:)``, and
    ///   ``KernelError/invalidArgument(name:reason:)`` for a non-finite `scale`; the state is then
    ///   unchanged.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func step<Scalar: LRNNScalar>(
        q: Tensor<Scalar>, k: Tensor<Scalar>, v: Tensor<Scalar>, S: Tensor<Scalar>, T: Tensor<Scalar>,
        M: Tensor<Scalar>, D: Tensor<Scalar>, scale: Scalar? = nil, state: inout Tensor<Scalar>
    ) throws(KernelError) -> Tensor<Scalar> {
        func token(_ t: Tensor<Scalar>, _ name: String, rank: Int) throws(KernelError) -> Tensor<Scalar> {
            guard t.rank == rank else {
                throw .shapeMismatch(tensor: name, shape: t.shape, expected: "rank \(rank) (one token, no T axis)")
            }
            return t.reshaped([t.shape[0], 1] + t.shape.dropFirst())
        }
        let x = Inputs(
            q: try token(q, "q", rank: 4), k: try token(k, "k", rank: 4), v: try token(v, "v", rank: 4),
            S: try token(S, "S", rank: 5), T: try token(T, "T", rank: 4), M: try token(M, "M", rank: 5),
            D: try token(D, "D", rank: 6), C0: state)
        let p = try Problem(x, scale: scale, sequences: nil)
        let c = p.cell
        let (dk, dv, jq, jk, jv, jt, jo) = (c.dk, c.dv, c.jq, c.jk, c.jv, c.jt, c.jo)
        let items = p.batch * p.heads
        let output = PLSTMBuffer<Scalar>(items * c.yCount)
        let next = PLSTMBuffer<Scalar>(items * c.stateCount)
        let workers = Swift.max(1, Swift.min(items, Threading.workerCount))
        let perWorker = jk * dv * jt + jq * dv * jt + c.directScratch
        let workspaces = PLSTMBuffer<Scalar>(workers * perWorker)
        let sc = p.scale
        withPLSTMPointers([x.q, x.k, x.v, x.S, x.T, x.M, x.D, state]) { ptrs in
            Threading.parallelFor(items, workers: workers) { item, worker in
                let (qt, kt, vt) = (ptrs[0] + item * c.qCount, ptrs[1] + item * c.kCount, ptrs[2] + item * c.vCount)
                let (st, tt, mt) = (ptrs[3] + item * c.sCount, ptrs[4] + item * c.tCount, ptrs[5] + item * c.mCount)
                let dt = ptrs[6] + item * c.dCount
                let cs = ptrs[7] + item * c.stateCount
                let y = output.pointer + item * c.yCount
                let out = next.pointer + item * c.stateCount
                let w = workspaces.pointer + worker * perWorker
                let wj = w, r = w + jk * dv * jt, scratch = r + jq * dv * jt
                // The read: R[a, (v,i)] = Σ_d q[d,a]·C[d,(v,i)], y[v,o] = scale·Σ_{a,i} M[o,a,i]·R[a,(v,i)].
                PLSTMCell<Scalar>.gemm(.transpose, .none, jq, dv * jt, dk, 1, qt, jq, cs, dv * jt, 0, r, dv * jt)
                for vi in 0..<dv {
                    for o in 0..<jo {
                        var acc: Scalar = 0
                        for a in 0..<jq {
                            for i in 0..<jt { acc += mt[(o * jq + a) * jt + i] * r[(a * dv + vi) * jt + i] }
                        }
                        y[vi * jo + o] = sc * acc
                    }
                }
                c.direct(q: qt, k: kt, v: vt, d: dt, scale: sc, into: y, scratch: scratch)
                // The update: C·Tᵀ over (d,v) rows, then + k·W with W[j,(v,i)] = Σ_l S[i,j,l]·v[v,l].
                PLSTMCell<Scalar>.gemm(.none, .transpose, dk * dv, jt, jt, 1, cs, jt, tt, jt, 0, out, jt)
                for j in 0..<jk {
                    for vi in 0..<dv {
                        for i in 0..<jt {
                            var acc: Scalar = 0
                            for l in 0..<jv { acc += st[(i * jk + j) * jv + l] * vt[vi * jv + l] }
                            wj[(j * dv + vi) * jt + i] = acc
                        }
                    }
                }
                PLSTMCell<Scalar>.gemm(.none, .none, dk, dv * jt, jk, 1, kt, jk, wj, dv * jt, 1, out, dv * jt)
            }
        }
        state = next.tensor(state.shape)
        return output.tensor([p.batch, p.heads, dv, jo])
    }

    /// pLSTM 1-D token by token through ``step(q:k:v:S:T:M:D:scale:state:)``, the path a decoder takes:
    /// without `sequences` every token advances all B batch entries at once, with them each packed
    /// sequence runs alone from its own initial state.
    ///
    /// - Parameters:
    ///   - inputs: as for ``chunked(_:scale:sequences:chunkSize:)``.
    ///   - scale: the query scale; nil means `DK^(−1/2)`.
    ///   - sequences: packed sequence boundaries; requires B = 1.
    /// - Returns: the output `[B, T, H, DV, JO]` and the final states `[N, H, DK, DV, JT]`.
    /// - Throws: as ``reference(_:scale:sequences:)``.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func recurrent<Scalar: LRNNScalar>(
        _ inputs: Inputs<Scalar>, scale: Scalar? = nil, sequences: SequenceBoundaries? = nil
    ) throws(KernelError) -> (output: Tensor<Scalar>, finalState: Tensor<Scalar>) {
        let x = inputs
        let p = try Problem(x, scale: scale, sequences: sequences)
        var output = Tensor<Scalar>.zeros(p.outputShape)
        var finalState = x.C0 ?? Tensor<Scalar>.zeros(p.stateShape)
        let groups: [(batches: Range<Int>, slots: Range<Int>, tokens: Range<Int>)] =
            sequences == nil
            ? [(0..<p.batch, 0..<p.batch, 0..<p.tokens)]
            : p.sequences.map { (0..<1, $0.slot..<($0.slot + 1), $0.tokens) }
        func cut(_ t: Tensor<Scalar>, _ b: Range<Int>, _ token: Range<Int>) -> Tensor<Scalar> {
            let s = t.slice(batches: b, tokens: token)
            return s.reshaped([s.shape[0]] + s.shape.dropFirst(2))
        }
        for group in groups where !group.tokens.isEmpty && !group.batches.isEmpty {
            var state = finalState.slice(batches: group.slots)
            for t in group.tokens {
                let token = t..<(t + 1)
                let b = group.batches
                let y = try step(
                    q: cut(x.q, b, token), k: cut(x.k, b, token), v: cut(x.v, b, token), S: cut(x.S, b, token),
                    T: cut(x.T, b, token), M: cut(x.M, b, token), D: cut(x.D, b, token), scale: p.scale,
                    state: &state)
                output.replaceSlice(batches: b, tokens: token, with: y.reshaped([y.shape[0], 1] + y.shape.dropFirst()))
            }
            finalState.replaceSlice(batches: group.slots, with: state)
        }
        return (output, finalState)
    }
}

import LRNNLinearAlgebra

extension PLSTM2D {
    /// Gradients of the pLSTM 2-D forward pass: dL/d of every input present (and of `C_left`,
    /// `C_top`) for `L = Σ output ⊙ outputGradient + Σ C_right ⊙ dC_right + Σ C_bottom ⊙ dC_bottom`.
    ///
    /// A first pass runs the tiled forward (``chunked(_:scale:chunkSize:)``'s tile kernel, without
    /// outputs) and keeps every tile-boundary state. A second pass visits the tiles in reverse
    /// anti-diagonal wavefronts (a wavefront's tiles, and all batch entries and heads, in parallel):
    /// each tile recomputes its interior edge states from its incoming boundary states, then runs the
    /// adjoint cell by cell in reverse order,
    ///
    ///     dCl = T_rlᵀ·dR + T_dlᵀ·dDn + scale·(q M_l)ᵀ·dy,   dCu = T_ruᵀ·dR + T_duᵀ·dDn + scale·(q M_u)ᵀ·dy
    ///
    /// with the gate gradients (`dT_rl = dR·Clᵀ` over d, v, …) from the same states; every contraction
    /// over DK or DV is a BLAS call, and the adjoints of its incoming boundary are passed to the tiles
    /// on its left and above (docs/kernels/plstm.md).
    ///
    /// - Parameters:
    ///   - inputs: as for ``chunked(_:scale:chunkSize:)``.
    ///   - scale: the query scale; nil means `DK^(−1/2)`.
    ///   - chunkSize: the tile side in cells (≥ 1).
    ///   - outputGradient: dL/dy `[B, X, Y, H, DV, JO]`, or nil for zero.
    ///   - finalStateGradient: dL/d of `C_right` and `C_bottom`, or nil for zero.
    /// - Returns: dL/d of every input present, as an ``Inputs`` value (`T_ru`, `T_dl`, `C_left`, `C_top`
    ///   exactly when present in the inputs).
    /// - Throws: as ``referenceBackward(_:scale:outputGradient:finalStateGradient:)``, and
    ///   ``KernelError/invalidArgument(name:reason:)`` for a tile side below 1.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func backward<Scalar: LRNNScalar>(
        _ inputs: Inputs<Scalar>, scale: Scalar? = nil, chunkSize: Int = PLSTM2D.defaultChunkSize,
        outputGradient: Tensor<Scalar>?, finalStateGradient: BoundaryStates<Scalar>?
    ) throws(KernelError) -> Inputs<Scalar> {
        let x = inputs
        let p = try Problem(x, scale: scale)
        try PLSTM1D.validateChunkSize(chunkSize)
        try p.validateCotangents(outputGradient: outputGradient, finalStateGradient: finalStateGradient)
        let c = p.cell
        let edges = EdgeBuffers(p, tile: chunkSize)
        runTiled(p, x, edges: edges, output: nil)
        let adjoints = EdgeBuffers(p, tile: chunkSize)
        adjoints.load(p, rowStates: finalStateGradient?.right, columnStates: finalStateGradient?.bottom, last: true)
        let list = inputList(x)
        let g = list.map { PLSTMBuffer<Scalar>($0.count) }
        let bh = p.batch * p.heads
        let tile = edges.tile
        let ss = c.stateCount
        let (dk, jv, jt, jo) = (c.dk, c.jv, c.jt, c.jo)
        let edgeMax = 2 * tile * (tile + 1)
        let keysPerCell = 2 * jt * dk * jv
        let scratchCount = Swift.max(c.sourceScratch, c.markScratch, c.directScratch)
        let perWorker = 2 * edgeMax * ss + tile * tile * keysPerCell + jt * dk * jo + scratchCount
        let maxItems = bh * Swift.max(1, Swift.min(edges.tilesX, edges.tilesY))
        let workers = Swift.max(1, Swift.min(maxItems, Threading.workerCount))
        let workspaces = PLSTMBuffer<Scalar>(workers * perWorker)
        let sc = p.scale
        let empty = Tensor<Scalar>(shape: [0], scalars: [])
        if bh > 0, edges.tilesX > 0, edges.tilesY > 0 {
            withPLSTMPointers(list + [outputGradient ?? empty]) { ptrs in
                let x2 = CellInputs(ptrs, hasTRU: x.T_ru != nil, hasTDL: x.T_dl != nil)
                let dy = ptrs[12]
                let gp = g.map(\.pointer)
                let (gq, gk, gv, gsr, gsd, gtrl, gtdu, gtru, gtdl, gml, gmu, gd) = (
                    gp[0], gp[1], gp[2], gp[3], gp[4], gp[5], gp[6], gp[7], gp[8], gp[9], gp[10], gp[11]
                )
                for wave in stride(from: edges.tilesX + edges.tilesY - 2, through: 0, by: -1) {
                    let first = Swift.max(0, wave - edges.tilesY + 1)
                    let last = Swift.min(wave, edges.tilesX - 1)
                    let tiles = last - first + 1
                    Threading.parallelFor(bh * tiles, workers: workers) { item, worker in
                        let pair = item / tiles
                        let tx = first + item % tiles
                        let ty = wave - tx
                        let (b, h) = (pair / p.heads, pair % p.heads)
                        let x0 = tx * tile, y0 = ty * tile
                        let nx = Swift.min(tile, p.width - x0), ny = Swift.min(tile, p.height - y0)
                        let hCount = (nx + 1) * ny
                        let w = workspaces.pointer + worker * perWorker
                        let es = w
                        let ds = es + edgeMax * ss
                        let keys = ds + edgeMax * ss
                        let queryTilde = keys + tile * tile * keysPerCell
                        let scratch = queryTilde + jt * dk * jo
                        func hEdge(_ a: Int, _ b: Int) -> Int { a * ny + b }
                        func vEdge(_ a: Int, _ b: Int) -> Int { hCount + b * nx + a }
                        // Interior edge states from the incoming boundary.
                        for b2 in 0..<ny {
                            (es + hEdge(0, b2) * ss).update(from: edges.row(pair, tx, y0 + b2), count: ss)
                        }
                        for a2 in 0..<nx {
                            (es + vEdge(a2, 0) * ss).update(from: edges.column(pair, ty, x0 + a2), count: ss)
                        }
                        for a2 in 0..<nx {
                            for b2 in 0..<ny {
                                let r = p.row(b, x0 + a2, y0 + b2, h)
                                let kr = keys + (a2 * ny + b2) * keysPerCell
                                let kd = kr + jt * dk * jv
                                c.sourceKey(x2.sr + r * c.sCount, x2.k + r * c.kCount, into: kr)
                                c.sourceKey(x2.sd + r * c.sCount, x2.k + r * c.kCount, into: kd)
                                let cl = es + hEdge(a2, b2) * ss, cu = es + vEdge(a2, b2) * ss
                                let rOut = es + hEdge(a2 + 1, b2) * ss, dOut = es + vEdge(a2, b2 + 1) * ss
                                c.transition(x2.trl + r * c.tCount, cl, into: rOut, beta: 0)
                                if x2.hasTRU { c.transition(x2.tru + r * c.tCount, cu, into: rOut, beta: 1) }
                                c.addSource(kr, x2.v + r * c.vCount, into: rOut)
                                c.transition(x2.tdu + r * c.tCount, cu, into: dOut, beta: 0)
                                if x2.hasTDL { c.transition(x2.tdl + r * c.tCount, cl, into: dOut, beta: 1) }
                                c.addSource(kd, x2.v + r * c.vCount, into: dOut)
                            }
                        }
                        // Adjoints of the outgoing boundary, then the cells in reverse order.
                        for b2 in 0..<ny {
                            (ds + hEdge(nx, b2) * ss).update(from: adjoints.row(pair, tx + 1, y0 + b2), count: ss)
                        }
                        for a2 in 0..<nx {
                            (ds + vEdge(a2, ny) * ss).update(from: adjoints.column(pair, ty + 1, x0 + a2), count: ss)
                        }
                        for a2 in stride(from: nx - 1, through: 0, by: -1) {
                            for b2 in stride(from: ny - 1, through: 0, by: -1) {
                                let r = p.row(b, x0 + a2, y0 + b2, h)
                                let kr = keys + (a2 * ny + b2) * keysPerCell
                                let kd = kr + jt * dk * jv
                                let cl = es + hEdge(a2, b2) * ss, cu = es + vEdge(a2, b2) * ss
                                let dR = ds + hEdge(a2 + 1, b2) * ss, dD = ds + vEdge(a2, b2 + 1) * ss
                                let dl = ds + hEdge(a2, b2) * ss, du = ds + vEdge(a2, b2) * ss
                                let (to, so, qo, ko, vo) = (
                                    r * c.tCount, r * c.sCount, r * c.qCount, r * c.kCount, r * c.vCount
                                )
                                let (mo, dO) = (r * c.mCount, r * c.dCount)
                                c.transitionGradient(dOut: dR, input: cl, into: gtrl + to)
                                c.transitionGradient(dOut: dD, input: cu, into: gtdu + to)
                                if x2.hasTRU { c.transitionGradient(dOut: dR, input: cu, into: gtru + to) }
                                if x2.hasTDL { c.transitionGradient(dOut: dD, input: cl, into: gtdl + to) }
                                c.sourceBackward(
                                    dState: dR, k: x2.k + ko, v: x2.v + vo, s: x2.sr + so, keyTilde: kr, ds: gsr + so,
                                    dk: gk + ko, dv: gv + vo, scratch: scratch)
                                c.sourceBackward(
                                    dState: dD, k: x2.k + ko, v: x2.v + vo, s: x2.sd + so, keyTilde: kd, ds: gsd + so,
                                    dk: gk + ko, dv: gv + vo, scratch: scratch)
                                c.transition(x2.trl + to, dR, into: dl, beta: 0, transpose: true)
                                if x2.hasTDL { c.transition(x2.tdl + to, dD, into: dl, beta: 1, transpose: true) }
                                c.transition(x2.tdu + to, dD, into: du, beta: 0, transpose: true)
                                if x2.hasTRU { c.transition(x2.tru + to, dR, into: du, beta: 1, transpose: true) }
                                if outputGradient != nil {
                                    let dyt = dy + r * c.yCount
                                    c.markBackward(
                                        state: cl, dy: dyt, q: x2.q + qo, m: x2.ml + mo, scale: sc, dm: gml + mo,
                                        dq: gq + qo, scratch: scratch)
                                    c.markBackward(
                                        state: cu, dy: dyt, q: x2.q + qo, m: x2.mu + mo, scale: sc, dm: gmu + mo,
                                        dq: gq + qo, scratch: scratch)
                                    c.directBackward(
                                        q: x2.q + qo, k: x2.k + ko, v: x2.v + vo, d: x2.d + dO, dy: dyt, scale: sc,
                                        dq: gq + qo, dk: gk + ko, dv: gv + vo, dD: gd + dO, scratch: scratch)
                                    c.markQuery(x2.ml + mo, x2.q + qo, into: queryTilde)
                                    c.addReadAdjoint(queryTilde: queryTilde, dy: dyt, scale: sc, into: dl)
                                    c.markQuery(x2.mu + mo, x2.q + qo, into: queryTilde)
                                    c.addReadAdjoint(queryTilde: queryTilde, dy: dyt, scale: sc, into: du)
                                }
                            }
                        }
                        for b2 in 0..<ny {
                            adjoints.row(pair, tx, y0 + b2).update(from: ds + hEdge(0, b2) * ss, count: ss)
                        }
                        for a2 in 0..<nx {
                            adjoints.column(pair, ty, x0 + a2).update(from: ds + vEdge(a2, 0) * ss, count: ss)
                        }
                    }
                }
            }
        }
        var boundary: BoundaryStates<Scalar>? = nil
        if x.C_left != nil {
            // The adjoints of the incoming boundary (an empty grid passes the outgoing ones through).
            let emptyGrid = edges.tilesX == 0 || edges.tilesY == 0
            boundary = adjoints.states(p, last: emptyGrid)
            if emptyGrid, edges.tilesX == 0 {
                boundary = BoundaryStates(
                    right: finalStateGradient?.right ?? .zeros(p.rowStateShape), bottom: .zeros(p.columnStateShape))
            } else if emptyGrid {
                boundary = BoundaryStates(
                    right: .zeros(p.rowStateShape), bottom: finalStateGradient?.bottom ?? .zeros(p.columnStateShape))
            }
        }
        return Inputs(
            q: g[0].tensor(x.q.shape), k: g[1].tensor(x.k.shape), v: g[2].tensor(x.v.shape),
            S_r: g[3].tensor(x.S_r.shape), S_d: g[4].tensor(x.S_d.shape), T_rl: g[5].tensor(x.T_rl.shape),
            T_du: g[6].tensor(x.T_du.shape), T_ru: x.T_ru.map { g[7].tensor($0.shape) },
            T_dl: x.T_dl.map { g[8].tensor($0.shape) }, M_l: g[9].tensor(x.M_l.shape), M_u: g[10].tensor(x.M_u.shape),
            D: g[11].tensor(x.D.shape), C_left: boundary?.right, C_top: boundary?.bottom)
    }
}

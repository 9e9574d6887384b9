import LRNNLinearAlgebra

/// pLSTM on a 2-D grid (Pöppel et al., 2025): each cell (x, y) receives a state from the left (the
/// r-edge of (x−1, y)) and from above (the d-edge of (x, y−1)), and sends one to the right and one
/// downwards.
///
/// Per (batch entry, head), with `Cl`, `Cu` the incoming states (`C_left[y]` at x = 0, `C_top[x]` at
/// y = 0) and every gate taken at the cell:
///
///     y[x,y]  = scale·( q M_l Cl + q M_u Cu + q D k v )
///     R[x,y]  = T_rl·Cl + T_ru·Cu + S_r·kv          (the r-edge state)
///     Dn[x,y] = T_du·Cu + T_dl·Cl + S_d·kv          (the d-edge state)
///
/// with the contractions of ``PLSTM1D``. The states leaving the grid are `C_right[y] = R[X−1, y]` and
/// `C_bottom[x] = Dn[x, Y−1]` (on a 1 × Y or X × 1 grid the edges that leave the grid still feed
/// them; an empty grid passes each boundary through). P-mode has all four transitions, D-mode one
/// cross transition (``Inputs``).
///
/// Verbs: ``chunked(_:scale:chunkSize:)`` (square tiles of cells, a tile's interior in GEMMs, states
/// passed between tiles along anti-diagonal wavefronts), the naive ``reference(_:scale:)``, and the
/// gradients ``backward(_:scale:chunkSize:outputGradient:finalStateGradient:)`` and
/// ``referenceBackward(_:scale:outputGradient:finalStateGradient:)``. Every verb checks shapes,
/// `scale` and the finiteness of every input before any work and throws ``KernelError`` naming the
/// tensor. Any grid shape works, 1 × N, N × 1 and 1 × 1 included. Thread safety: static functions
/// without shared state.
public enum PLSTM2D {
    /// The default tile side (cells) of ``chunked(_:scale:chunkSize:)``.
    public static let defaultChunkSize: Int = 4

    /// The tiled pLSTM 2-D forward pass: the grid in square tiles of `chunkSize` × `chunkSize` cells
    /// (smaller at the far edges); each tile's outputs and outgoing states come from a few GEMMs over
    /// the path sums of its transitions, and tiles run in anti-diagonal wavefronts, the tiles of a
    /// wavefront (and all batch entries and heads) in parallel (their `pLSTM2D_torch` chunkwise form,
    /// without its padding to powers of two).
    ///
    /// - Parameters:
    ///   - inputs: the gates, queries, keys, values and optional boundary states (``Inputs``).
    ///   - scale: the query scale; nil means `DK^(−1/2)`.
    ///   - chunkSize: the tile side in cells (≥ 1).
    /// - Returns: the output `[B, X, Y, H, DV, JO]` and the states leaving the grid.
    /// - Throws: ``KernelError/shapeMismatch(tensor:shape:expected:)`` naming the tensor,
    ///   ``KernelError/nonFinite(tensor:)``, and ``KernelError/invalidArgument(name:reason:)`` for a
    ///   non-finite `scale`, a tile side below 1, or only one of `C_left`, `C_top`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func chunked<Scalar: LRNNScalar>(
        _ inputs: Inputs<Scalar>, scale: Scalar? = nil, chunkSize: Int = PLSTM2D.defaultChunkSize
    ) throws(KernelError) -> (output: Tensor<Scalar>, finalState: BoundaryStates<Scalar>) {
        let p = try Problem(inputs, scale: scale)
        try PLSTM1D.validateChunkSize(chunkSize)
        let output = PLSTMBuffer<Scalar>(p.outputShape.reduce(1, *))
        let edges = EdgeBuffers(p, tile: chunkSize)
        runTiled(p, inputs, edges: edges, output: output.pointer)
        let final = edges.export(p)
        return (output.tensor(p.outputShape), final)
    }

    /// The naive cell-by-cell recurrence in row-major order, written for clarity: the oracle the tiled
    /// path is tested against (the per-cell recurrence of their `pLSTM2D_fwbw`).
    ///
    /// - Parameters:
    ///   - inputs: as for ``chunked(_:scale:chunkSize:)``.
    ///   - scale: the query scale; nil means `DK^(−1/2)`.
    /// - Returns: the output `[B, X, Y, H, DV, JO]` and the states leaving the grid.
    /// - Throws: as ``chunked(_:scale:chunkSize:)`` (no tile side).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func reference<Scalar: LRNNScalar>(
        _ inputs: Inputs<Scalar>, scale: Scalar? = nil
    ) throws(KernelError) -> (output: Tensor<Scalar>, finalState: BoundaryStates<Scalar>) {
        let p = try Problem(inputs, scale: scale)
        let r = runReference(p, inputs, keepStates: false)
        return (r.output, r.final)
    }

    /// The gradients of ``reference(_:scale:)`` by differentiating the cell recurrence cell by cell in
    /// reverse row-major order (each edge's adjoint `T_ᵀ·dOut` plus the mark's `scale·(q M)ᵀ·dy`): the
    /// backward's test oracle.
    ///
    /// - Parameters:
    ///   - inputs: as for ``chunked(_:scale:chunkSize:)``.
    ///   - scale: the query scale; nil means `DK^(−1/2)`.
    ///   - outputGradient: dL/dy `[B, X, Y, H, DV, JO]`, or nil for zero.
    ///   - finalStateGradient: dL/d of `C_right` and `C_bottom`, or nil for zero.
    /// - Returns: dL/d of every input present, as an ``Inputs`` value (`T_ru`, `T_dl`, `C_left`, `C_top`
    ///   exactly when present in the inputs).
    /// - Throws: as ``chunked(_:scale:chunkSize:)``, and ``KernelError/shapeMismatch(tensor:shape:expected:)``
    ///   or ``KernelError/nonFinite(tensor:)`` naming the cotangent.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func referenceBackward<Scalar: LRNNScalar>(
        _ inputs: Inputs<Scalar>, scale: Scalar? = nil, outputGradient: Tensor<Scalar>?,
        finalStateGradient: BoundaryStates<Scalar>?
    ) throws(KernelError) -> Inputs<Scalar> {
        let p = try Problem(inputs, scale: scale)
        try p.validateCotangents(outputGradient: outputGradient, finalStateGradient: finalStateGradient)
        return runReferenceBackward(p, inputs, outputGradient: outputGradient, finalStateGradient: finalStateGradient)
    }

    /// The inputs as a pointer list for ``CellInputs`` (absent transitions as empty tensors).
    static func inputList<Scalar: LRNNScalar>(_ x: Inputs<Scalar>) -> [Tensor<Scalar>] {
        let empty = Tensor<Scalar>(shape: [0], scalars: [])
        return [x.q, x.k, x.v, x.S_r, x.S_d, x.T_rl, x.T_du, x.T_ru ?? empty, x.T_dl ?? empty, x.M_l, x.M_u, x.D]
    }

    /// The states on the tile boundaries of one call, internal layout, per (batch entry, head):
    /// `rows[bh][tx][y]` enters tile column tx at row y (tx = number of tile columns: leaves the
    /// grid), `columns[bh][ty][x]` enters tile row ty at column x.
    final class EdgeBuffers<Scalar: LRNNScalar> {
        let tile: Int
        let tilesX: Int
        let tilesY: Int
        let rows: PLSTMBuffer<Scalar>
        let columns: PLSTMBuffer<Scalar>
        let width: Int
        let height: Int
        let stateCount: Int

        init(_ p: Problem<Scalar>, tile requested: Int) {
            tile = Swift.max(1, Swift.min(requested, Swift.max(p.width, p.height, 1)))
            tilesX = (p.width + tile - 1) / tile
            tilesY = (p.height + tile - 1) / tile
            width = p.width
            height = p.height
            stateCount = p.cell.stateCount
            let bh = p.batch * p.heads
            rows = PLSTMBuffer((bh * (tilesX + 1) * p.height) * stateCount)
            columns = PLSTMBuffer((bh * (tilesY + 1) * p.width) * stateCount)
        }

        /// The state entering tile column `tx` at row `y`.
        func row(_ bh: Int, _ tx: Int, _ y: Int) -> UnsafeMutablePointer<Scalar> {
            rows.pointer + ((bh * (tilesX + 1) + tx) * height + y) * stateCount
        }

        /// The state entering tile row `ty` at column `x`.
        func column(_ bh: Int, _ ty: Int, _ x: Int) -> UnsafeMutablePointer<Scalar> {
            columns.pointer + ((bh * (tilesY + 1) + ty) * width + x) * stateCount
        }

        /// Imports boundary states (public layout `[B, Y or X, H, DK, DV, JT]`) as the first row
        /// (`last` false) or last row of states.
        func load(_ p: Problem<Scalar>, rowStates: Tensor<Scalar>?, columnStates: Tensor<Scalar>?, last: Bool) {
            let ss = stateCount
            for b in 0..<p.batch {
                for h in 0..<p.heads {
                    let bh = b * p.heads + h
                    if let rowStates {
                        rowStates.withUnsafeBufferPointer { src in
                            for y in 0..<p.height {
                                p.cell.importState(
                                    src.baseAddress! + ((b * p.height + y) * p.heads + h) * ss,
                                    into: row(bh, last ? tilesX : 0, y))
                            }
                        }
                    }
                    if let columnStates {
                        columnStates.withUnsafeBufferPointer { src in
                            for x in 0..<p.width {
                                p.cell.importState(
                                    src.baseAddress! + ((b * p.width + x) * p.heads + h) * ss,
                                    into: column(bh, last ? tilesY : 0, x))
                            }
                        }
                    }
                }
            }
        }

        /// Exports the first (`last` false) or last row and column of states in the public layout.
        func states(_ p: Problem<Scalar>, last: Bool) -> BoundaryStates<Scalar> {
            let ss = stateCount
            let right = PLSTMBuffer<Scalar>(p.rowStateShape.reduce(1, *))
            let bottom = PLSTMBuffer<Scalar>(p.columnStateShape.reduce(1, *))
            for b in 0..<p.batch {
                for h in 0..<p.heads {
                    let bh = b * p.heads + h
                    for y in 0..<p.height {
                        p.cell.exportState(
                            row(bh, last ? tilesX : 0, y), into: right.pointer + ((b * p.height + y) * p.heads + h) * ss
                        )
                    }
                    for x in 0..<p.width {
                        p.cell.exportState(
                            column(bh, last ? tilesY : 0, x),
                            into: bottom.pointer + ((b * p.width + x) * p.heads + h) * ss)
                    }
                }
            }
            return BoundaryStates(right: right.tensor(p.rowStateShape), bottom: bottom.tensor(p.columnStateShape))
        }

        /// The states leaving the grid: the last row and column of states, or, for an empty grid,
        /// the incoming ones passed through.
        func export(_ p: Problem<Scalar>) -> BoundaryStates<Scalar> {
            states(p, last: tilesX > 0 && tilesY > 0)
        }
    }

    /// Runs the tile kernel over every tile in anti-diagonal wavefronts, the wavefront's tiles of every
    /// (batch entry, head) in parallel, one workspace per worker. Loads the boundary states from the
    /// inputs and leaves every tile-boundary state in `edges`.
    static func runTiled<Scalar: LRNNScalar>(
        _ p: Problem<Scalar>, _ x: Inputs<Scalar>, edges: EdgeBuffers<Scalar>, output: UnsafeMutablePointer<Scalar>?
    ) {
        edges.load(p, rowStates: x.C_left, columnStates: x.C_top, last: false)
        let bh = p.batch * p.heads
        guard bh > 0, edges.tilesX > 0, edges.tilesY > 0 else { return }
        let kernel = TileKernel(cell: p.cell, tile: edges.tile)
        let maxItems = bh * Swift.min(edges.tilesX, edges.tilesY)
        let workers = Swift.max(1, Swift.min(maxItems, Threading.workerCount))
        let workspaces = PLSTMBuffer<Scalar>(workers * kernel.workspaceCount)
        withPLSTMPointers(inputList(x)) { ptrs in
            let cells = CellInputs(ptrs, hasTRU: x.T_ru != nil, hasTDL: x.T_dl != nil)
            for wave in 0..<(edges.tilesX + edges.tilesY - 1) {
                let first = Swift.max(0, wave - edges.tilesY + 1)
                let last = Swift.min(wave, edges.tilesX - 1)
                let tiles = last - first + 1
                Threading.parallelFor(bh * tiles, workers: workers) { item, worker in
                    let pair = item / tiles
                    let tx = first + item % tiles
                    let ty = wave - tx
                    let (b, h) = (pair / p.heads, pair % p.heads)
                    let x0 = tx * edges.tile, y0 = ty * edges.tile
                    let nx = Swift.min(edges.tile, p.width - x0), ny = Swift.min(edges.tile, p.height - y0)
                    kernel.run(
                        nx: nx, ny: ny, rowOf: { p.row(b, x0 + $0, y0 + $1, h) }, scale: p.scale, x: cells,
                        left: edges.row(pair, tx, y0), top: edges.column(pair, ty, x0),
                        right: edges.row(pair, tx + 1, y0),
                        bottom: edges.column(pair, ty + 1, x0), output: output,
                        workspace: workspaces.pointer + worker * kernel.workspaceCount)
                }
            }
        }
    }
}

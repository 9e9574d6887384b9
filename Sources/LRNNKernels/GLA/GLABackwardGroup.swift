import LRNNLinearAlgebra

extension GLA.BackwardKernel {
    /// The scratch a head group of `heads` heads needs beside ``workspaceCount``: per head the state
    /// adjoint `dS` (K·V) and the dgk running sum (K), and the group's gathered q, k rows and gradient
    /// rows dq, dk, dgk (C·K each per head).
    ///
    /// - Parameter heads: the most heads of one group.
    /// - Returns: the number of scalars.
    func groupWorkspaceCount(heads: Int) -> Int {
        heads * (stateSize + keyDim + 5 * chunkSize * keyDim)
    }

    /// Gradients of one sequence for a group of `heads` consecutive heads from a training forward's
    /// saved states and decay factors: the reverse pass of
    /// ``run(q:k:gk:v:outputGradient:initialState:finalStateGradient:gradients:keyStride:valueStride:length:scale:savedStates:savedDecay:workspace:)``
    /// head by head within each chunk, with the same arithmetic, but each chunk's rows of the group
    /// read and written as contiguous spans (a token's heads are adjacent): q and k gathered once
    /// for the group, v and dO read in row order before the heads use them, and the dq, dk, dgk
    /// rows written back once per token. Every row of q, k, v and dO is scanned for NaN/±∞ as it
    /// is first read; the flags of those found are returned (`GLA.InputFlags`).
    ///
    /// Pointers are at the group's first head: rows `keyStride` / `valueStride` apart, the heads'
    /// final-state gradients and `dh0` K·V apart, and their saved values `savedHeadStride` apart.
    func runGroup(
        q: UnsafePointer<T>?, k: UnsafePointer<T>?, v: UnsafePointer<T>?, outputGradient: UnsafePointer<T>?,
        finalStateGradient: UnsafePointer<T>?, gradients g: Gradients, heads n: Int, keyStride: Int,
        valueStride: Int, length: Int, scale: T, savedStates: UnsafePointer<T>?, savedDecay: UnsafePointer<T>?,
        savedHeadStride: Int, workspace: UnsafeMutablePointer<T>, groupWorkspace: UnsafeMutablePointer<T>
    ) -> GLA.InputFlags {
        let (dk, dv, cs, kv) = (keyDim, valueDim, chunkSize, stateSize)
        guard length > 0, let q, let k, let v, let savedStates, let savedDecay, let gq = g.q, let gkk = g.k,
            let gv = g.v, let gg = g.gk
        else {
            // An empty sequence passes its states through: dh0 = dht.
            if let h0 = g.h0 {
                if let finalStateGradient {
                    h0.update(from: finalStateGradient, count: n * kv)
                } else {
                    h0.update(repeating: 0, count: n * kv)
                }
            }
            return []
        }
        var b = buffers(workspace)
        b.ones.update(repeating: 1, count: dk)
        let chunks = (length + cs - 1) / cs
        let dS = groupWorkspace
        let accumulators = dS + n * kv
        let qRows = accumulators + n * dk
        let kRows = qRows + n * cs * dk
        let dqRows = kRows + n * cs * dk
        let dkRows = dqRows + n * cs * dk
        let dgRows = dkRows + n * cs * dk
        let v_ = UnsafeMutablePointer(mutating: v)
        let dO_ = outputGradient.map { UnsafeMutablePointer(mutating: $0) }
        for j in 0..<n {
            startAdjoint(
                dS: dS + j * kv, accumulator: accumulators + j * dk,
                finalState: savedStates + j * savedHeadStride + chunks * kv,
                finalStateGradient: finalStateGradient.map { $0 + j * kv })
        }
        var flags: GLA.InputFlags = []
        for c in stride(from: chunks - 1, through: 0, by: -1) {
            let t0 = c * cs
            let len = Swift.min(cs, length - t0)
            // The group's rows, token by token as contiguous spans, each scanned for NaN/±∞ as it is
            // first read (the scan in place of an up-front pass): q and k gathered per head, v and dO
            // brought into cache before the heads' products read them.
            for i in 0..<len {
                let (qi, ki) = (q + (t0 + i) * keyStride, k + (t0 + i) * keyStride)
                if NonFiniteScan.scan(qi, count: n * dk).nonFinite { flags.insert(.nonFiniteQ) }
                if NonFiniteScan.scan(ki, count: n * dk).nonFinite { flags.insert(.nonFiniteK) }
                for j in 0..<n {
                    (qRows + (j * cs + i) * dk).update(from: qi + j * dk, count: dk)
                    (kRows + (j * cs + i) * dk).update(from: ki + j * dk, count: dk)
                }
                if NonFiniteScan.scan(v + (t0 + i) * valueStride, count: n * dv).nonFinite {
                    flags.insert(.nonFiniteV)
                }
                if let dO = outputGradient, NonFiniteScan.scan(dO + (t0 + i) * valueStride, count: n * dv).nonFinite {
                    flags.insert(.nonFiniteOutputGradient)
                }
            }
            for j in 0..<n {
                let head = j * cs * dk
                b.decay = UnsafeMutablePointer(mutating: savedDecay + j * savedHeadStride + c * cs * dk)
                reverseChunk(
                    ChunkRows(
                        q: qRows + head, k: kRows + head, dq: dqRows + head, dk: dkRows + head, dg: dgRows + head,
                        gk: savedDecay, gkStride: 0, decayGiven: true,
                        state: UnsafeMutablePointer(mutating: savedStates + j * savedHeadStride + c * kv),
                        v: v_ + t0 * valueStride + j * dv, outputGradient: dO_.map { $0 + t0 * valueStride + j * dv },
                        dv: gv + t0 * valueStride + j * dv, valueStride: valueStride, length: len),
                    dS: dS + j * kv, accumulator: accumulators + j * dk, scale: scale, b)
            }
            for i in 0..<len {
                let row = (t0 + i) * keyStride
                for j in 0..<n {
                    let source = (j * cs + i) * dk
                    (gq + row + j * dk).update(from: dqRows + source, count: dk)
                    (gkk + row + j * dk).update(from: dkRows + source, count: dk)
                    (gg + row + j * dk).update(from: dgRows + source, count: dk)
                }
            }
        }
        if let h0 = g.h0 {
            for j in 0..<n { (h0 + j * kv).update(from: dS + j * kv, count: kv) }
        }
        return flags
    }
}

import LRNNLinearAlgebra

extension DeltaRule {
    /// The most chunk-start states one worker stores at once per head of its group (in scalars):
    /// past it, a sequence is cut into segments whose states are recomputed from stored
    /// segment-start states (2²² scalars: 16 MB in Float32, 256 chunks at K = V = 128).
    static let backwardStateBudget = 1 << 22

    /// The most heads one backward work item runs together (its store grows with them).
    static let backwardGroupHeads = 4

    /// The validated backward problem through `DeltaRuleBackwardKernel` into new gradient tensors
    /// and a workspace of this call's own (see the in-place form below); `stateBudget` (scalars of
    /// stored chunk states per worker and head) is lowered by tests to reach the segmented path on
    /// small problems.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func runBackward<T: LRNNScalar>(
        _ p: DeltaRuleProblem, _ x: Inputs<T>, scale: T, chunkSize: Int, outputGradient: Tensor<T>?,
        finalStateGradient: Tensor<T>?, stateBudget: Int = backwardStateBudget
    ) throws(KernelError) -> Inputs<T> {
        var grad = Inputs<T>(
            q: Tensor(zeros: [0]), k: Tensor(zeros: [0]), v: Tensor(zeros: [0]), beta: Tensor(zeros: [0]))
        try runBackward(
            p, x, scale: scale, chunkSize: chunkSize, outputGradient: outputGradient,
            finalStateGradient: finalStateGradient, into: &grad, workspace: nil, stateBudget: stateBudget)
        return grad
    }

    /// The validated backward problem through `DeltaRuleBackwardKernel`, one (sequence, head group)
    /// work item at a time on each worker, each worker with one part of a workspace taken up front:
    /// `workspace`'s buffer when it is given and free, otherwise one allocated for this call. Each
    /// tensor of `grad` with its input's shape is overwritten in place, any other is replaced by a
    /// new (uninitialised) tensor; every element is then written by exactly one work item.
    ///
    /// q, k, v and `outputGradient` are scanned for NaN/±∞ by the pass itself, row by row as it
    /// reads them (`validateBackward(…, scanRows: false)` skips their separate scan); when one
    /// holds any, this throws ``KernelError/nonFinite(tensor:)`` naming the first of q, k, v,
    /// `outputGradient` that does, after the pass, and `grad` holds unspecified values.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func runBackward<T: LRNNScalar>(
        _ p: DeltaRuleProblem, _ x: Inputs<T>, scale: T, chunkSize: Int, outputGradient: Tensor<T>?,
        finalStateGradient: Tensor<T>?, into grad: inout Inputs<T>, workspace: BackwardWorkspace<T>?,
        stateBudget: Int = backwardStateBudget, saved: (plan: DeltaRuleSavePlan, base: UnsafeMutablePointer<T>)? = nil
    ) throws(KernelError) {
        if p.sequences.isEmpty || p.heads == 0 || x.q.count == 0 {
            // No tokens: every sequence is empty, dh0 = dht.
            grad = zeroGradients(like: x)
            if let dht = finalStateGradient, grad.initialState != nil { grad.initialState = dht }
            return
        }
        // Every gradient element is written by exactly one work item: no zero fill.
        func uninitialized(_ shape: [Int]) -> Tensor<T> {
            let count = shape.reduce(1, *)
            return Tensor(
                shape: shape,
                scalars: [T](unsafeUninitializedCapacity: count) { buffer, initialized in
                    if let base = buffer.baseAddress {
                        DeltaRuleBackwardMemory.adviseHugePages(
                            UnsafeMutableRawPointer(base), bytes: count * MemoryLayout<T>.stride)
                    }
                    initialized = count
                })
        }
        func reuse(_ t: inout Tensor<T>, _ shape: [Int]) {
            if t.shape != shape { t = uninitialized(shape) }
        }
        func reuse(_ t: inout Tensor<T>?, _ shape: [Int]?) {
            guard let shape else {
                t = nil
                return
            }
            if t?.shape != shape { t = uninitialized(shape) }
        }
        reuse(&grad.q, x.q.shape)
        reuse(&grad.k, x.k.shape)
        reuse(&grad.v, x.v.shape)
        reuse(&grad.beta, x.beta.shape)
        reuse(&grad.g, x.g?.shape)
        reuse(&grad.initialState, x.initialState?.shape)
        let longest = p.sequences.map { $0.end - $0.start }.max() ?? 0
        let chunkTokens = Self.chunkTokens(p, chunkSize: chunkSize)
        let chunks = (longest + chunkTokens - 1) / chunkTokens
        let kv = p.keyDim * p.valueDim
        let segmentChunks = Swift.max(1, Swift.min(chunks, stateBudget / Swift.max(kv, 1)))
        let checkpoints = chunks > segmentChunks ? (chunks + segmentChunks - 1) / segmentChunks : 0
        // Work items are (sequence, head group), as in the forward: a chunk's rows of a group's heads
        // are contiguous. Just enough groups that every worker has an item, and at most
        // `backwardGroupHeads` heads per group.
        let workerCount = Threading.workerCount
        let groups = Swift.min(
            p.heads,
            Swift.max(
                (workerCount + p.sequences.count - 1) / p.sequences.count,
                (p.heads + backwardGroupHeads - 1) / backwardGroupHeads))
        let items = p.sequences.count * groups
        let workers = Swift.min(items, workerCount)
        var flags = [UInt8](repeating: 0, count: items)
        let empty: [T] = []
        x.q.withUnsafeBufferPointer { qb in
            x.k.withUnsafeBufferPointer { kb in
                x.v.withUnsafeBufferPointer { vb in
                    x.beta.withUnsafeBufferPointer { bb in
                        (x.g?.scalars ?? empty).withUnsafeBufferPointer { gb in
                            (x.initialState?.scalars ?? empty).withUnsafeBufferPointer { h0b in
                                (outputGradient?.scalars ?? empty).withUnsafeBufferPointer { dob in
                                    (finalStateGradient?.scalars ?? empty).withUnsafeBufferPointer { dhtb in
                                        grad.withPointers { dq, dk, dv, dbeta, dg, dh0 in
                                            let kernel = DeltaRuleBackwardKernel<T>(
                                                problem: p, q: qb.baseAddress!, k: kb.baseAddress!,
                                                v: vb.baseAddress!, beta: bb.baseAddress!,
                                                g: x.g != nil ? gb.baseAddress : nil,
                                                initialState: x.initialState != nil ? h0b.baseAddress : nil,
                                                outputGradient: outputGradient != nil ? dob.baseAddress : nil,
                                                finalStateGradient: finalStateGradient != nil ? dhtb.baseAddress : nil,
                                                dq: dq, dk: dk, dv: dv, dbeta: dbeta, dg: dg, dh0: dh0, scale: scale,
                                                chunkTokens: chunkTokens, segmentChunks: segmentChunks,
                                                checkpoints: checkpoints, headGroups: groups, saved: saved?.base,
                                                plan: saved?.plan)
                                            let perWorker = kernel.workspaceCount
                                            let count = perWorker * workers
                                            let held = workspace?.acquire(count: count)
                                            let storage =
                                                held ?? DeltaRuleBackwardMemory.allocate(T.self, count: count)
                                            defer {
                                                if held != nil {
                                                    workspace?.release()
                                                } else {
                                                    DeltaRuleBackwardMemory.deallocate(storage)
                                                }
                                            }
                                            let spaces = (0..<workers).map {
                                                kernel.workspace(at: storage + $0 * perWorker)
                                            }
                                            spaces.withUnsafeBufferPointer { sp in
                                                flags.withUnsafeMutableBufferPointer { fb in
                                                    let fp = fb.baseAddress!
                                                    Threading.parallelFor(items, workers: workers) { item, worker in
                                                        fp[item] = kernel.run(item: item, workspace: sp[worker])
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
            }
        }
        let found = flags.reduce(0) { $0 | $1 }
        if found & DeltaRuleChunkKernel<T>.nonFiniteQ != 0 { throw .nonFinite(tensor: "q") }
        if found & DeltaRuleChunkKernel<T>.nonFiniteK != 0 { throw .nonFinite(tensor: "k") }
        if found & DeltaRuleChunkKernel<T>.nonFiniteV != 0 { throw .nonFinite(tensor: "v") }
        if found & DeltaRuleBackwardKernel<T>.nonFiniteOutputGradient != 0 {
            throw .nonFinite(tensor: "outputGradient")
        }
    }
}

extension DeltaRule.Inputs {
    /// Calls `body` with mutable pointers to every gradient's scalars (nil for an absent `g` or
    /// `initialState`, and for an empty tensor).
    mutating func withPointers<R>(
        _ body: (
            UnsafeMutablePointer<T>, UnsafeMutablePointer<T>, UnsafeMutablePointer<T>, UnsafeMutablePointer<T>,
            UnsafeMutablePointer<T>?, UnsafeMutablePointer<T>?
        ) -> R
    ) -> R {
        // Move the tensors out (no copy-on-write copy: each array has one owner), then back.
        var (q, k, v, beta) = (
            Tensor<T>(zeros: [0]), Tensor<T>(zeros: [0]), Tensor<T>(zeros: [0]), Tensor<T>(zeros: [0])
        )
        var (g, h0): (Tensor<T>?, Tensor<T>?) = (nil, nil)
        swap(&q, &self.q)
        swap(&k, &self.k)
        swap(&v, &self.v)
        swap(&beta, &self.beta)
        swap(&g, &self.g)
        swap(&h0, &self.initialState)
        defer {
            swap(&q, &self.q)
            swap(&k, &self.k)
            swap(&v, &self.v)
            swap(&beta, &self.beta)
            swap(&g, &self.g)
            swap(&h0, &self.initialState)
        }
        return q.withUnsafeMutableBufferPointer { qb in
            k.withUnsafeMutableBufferPointer { kb in
                v.withUnsafeMutableBufferPointer { vb in
                    beta.withUnsafeMutableBufferPointer { bb in
                        Self.withOptional(&g) { gp in
                            Self.withOptional(&h0) { hp in
                                body(qb.baseAddress!, kb.baseAddress!, vb.baseAddress!, bb.baseAddress!, gp, hp)
                            }
                        }
                    }
                }
            }
        }
    }

    /// Calls `body` with a pointer to `tensor`'s scalars, or nil when it is absent or empty.
    private static func withOptional<R>(
        _ tensor: inout Tensor<T>?, _ body: (UnsafeMutablePointer<T>?) -> R
    ) -> R {
        if tensor == nil { return body(nil) }
        return tensor!.withUnsafeMutableBufferPointer { body($0.baseAddress) }
    }
}

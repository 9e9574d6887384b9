import LRNNLinearAlgebra

extension DeltaRule {
    /// The most chunk-start states one worker stores at once (in scalars): past it, a sequence is
    /// cut into segments whose states are recomputed from stored segment-start states
    /// (2²² scalars: 16 MB in Float32, 256 chunks at K = V = 128).
    static let backwardStateBudget = 1 << 22

    /// The validated backward problem through `DeltaRuleBackwardKernel`, one (sequence, head)
    /// work item at a time on each worker, each worker with one workspace allocated up front;
    /// `stateBudget` (scalars of stored chunk states per worker) is lowered by tests to reach the
    /// segmented path on small problems.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func runBackward<T: LRNNScalar>(
        _ p: DeltaRuleProblem, _ x: Inputs<T>, scale: T, chunkSize: Int, outputGradient: Tensor<T>?,
        finalStateGradient: Tensor<T>?, stateBudget: Int = backwardStateBudget
    ) -> Inputs<T> {
        if p.sequences.isEmpty || p.heads == 0 || x.q.count == 0 {
            // No tokens: every sequence is empty, dh0 = dht.
            var grad = zeroGradients(like: x)
            if let dht = finalStateGradient, grad.initialState != nil { grad.initialState = dht }
            return grad
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
        var grad = Inputs(
            q: uninitialized(x.q.shape), k: uninitialized(x.k.shape), v: uninitialized(x.v.shape),
            beta: uninitialized(x.beta.shape), g: x.g.map { uninitialized($0.shape) },
            initialState: x.initialState.map { uninitialized($0.shape) })
        let longest = p.sequences.map { $0.end - $0.start }.max() ?? 0
        let chunkTokens = Swift.max(1, Swift.min(chunkSize / p.householder, longest))
        let chunks = (longest + chunkTokens - 1) / chunkTokens
        let kv = p.keyDim * p.valueDim
        let segmentChunks = Swift.max(1, Swift.min(chunks, stateBudget / Swift.max(kv, 1)))
        let checkpoints = chunks > segmentChunks ? (chunks + segmentChunks - 1) / segmentChunks : 0
        let items = p.sequences.count * p.heads
        let workers = Swift.min(items, Threading.workerCount)
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
                                                checkpoints: checkpoints)
                                            let perWorker = kernel.workspaceCount
                                            let storage = DeltaRuleBackwardMemory.allocate(
                                                T.self, count: perWorker * workers)
                                            defer { DeltaRuleBackwardMemory.deallocate(storage) }
                                            let spaces = (0..<workers).map {
                                                kernel.workspace(at: storage + $0 * perWorker)
                                            }
                                            spaces.withUnsafeBufferPointer { sp in
                                                Threading.parallelFor(items, workers: workers) { item, worker in
                                                    kernel.run(item: item, workspace: sp[worker])
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
        return grad
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

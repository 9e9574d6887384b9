import LRNNLinearAlgebra

extension GLA {
    /// Runs the chunked backward over every (sequence, head) work item in parallel, one workspace per
    /// worker, and returns the gradients. Every row of the gradient tensors is written exactly once
    /// (the segments tile the tokens), so they are allocated uninitialised.
    static func runChunkedBackward<T: LRNNScalar>(
        _ p: Problem<T>, _ x: Inputs<T>, chunkSize: Int, subChunkSize: Int, outputGradient: Tensor<T>?,
        finalStateGradient: Tensor<T>?
    ) throws(KernelError) -> Inputs<T> {
        var grad = Inputs<T>(
            q: Tensor(zeros: [0]), k: Tensor(zeros: [0]), v: Tensor(zeros: [0]), gk: Tensor(zeros: [0]))
        try runChunkedBackward(
            p, x, chunkSize: chunkSize, subChunkSize: subChunkSize, outputGradient: outputGradient,
            finalStateGradient: finalStateGradient, into: &grad, workspace: nil)
        return grad
    }

    /// The chunked backward into `grad`: each of its tensors with its input's shape is overwritten
    /// in place (every row is written exactly once), any other replaced by a new uninitialised
    /// tensor (`initialState` set to nil when the inputs have none). The per-worker scratch is
    /// `workspace`'s buffer when it is given and free, otherwise allocated for this call. With
    /// `saved` (a training forward's plan and states, checked by the caller) the sequences the plan
    /// keeps read their chunk-start states from it, and the workspace holds recomputed states only
    /// for the others.
    ///
    /// When every sequence is saved (the grouped path) q, k, v and dO are scanned for NaN/±∞ by
    /// the pass as it reads them, not by the caller (``savedPathScansInputs(_:lengths:)``): this
    /// then throws ``KernelError/nonFinite(tensor:)`` naming the first of q, k, v, `outputGradient`
    /// that held one, after the pass, and `grad` holds unspecified values.
    static func runChunkedBackward<T: LRNNScalar>(
        _ p: Problem<T>, _ x: Inputs<T>, chunkSize: Int, subChunkSize: Int, outputGradient: Tensor<T>?,
        finalStateGradient: Tensor<T>?, into grad: inout Inputs<T>, workspace: BackwardWorkspace<T>?,
        saved: (plan: GLASavePlan, base: UnsafePointer<T>)? = nil
    ) throws(KernelError) {
        let (tokens, heads, dk, dv) = (p.tokens, p.heads, p.keyDim, p.valueDim)
        let segments = p.segments
        // A chunk longer than the longest sequence only enlarges the workspaces (a caller may pass
        // any chunk size), so it is clamped.
        let chunkSize = Swift.min(chunkSize, Swift.max(1, segments.map(\.length).max() ?? 0))
        let subChunkSize = Swift.min(subChunkSize, chunkSize)
        let scale = p.scale
        func reuse(_ t: Tensor<T>, _ shape: [Int]) -> Tensor<T> { t.shape == shape ? t : uninitialized(shape) }
        // Moved out of `grad` (no copy-on-write copy: each array keeps one owner), back at the end.
        let empty = Tensor<T>(zeros: [0])
        var gradQ = reuse(grad.q, x.q.shape)
        var gradK = reuse(grad.k, x.k.shape)
        var gradV = reuse(grad.v, x.v.shape)
        var gradGK = reuse(grad.gk, x.gk.shape)
        let storeH0 = x.initialState != nil
        var gradH0 = storeH0 ? reuse(grad.initialState ?? empty, [p.stateCount, heads, dk, dv]) : empty
        grad = Inputs(q: empty, k: empty, v: empty, gk: empty)
        // The longest sequence whose states are recomputed sizes the per-worker state store.
        let longest =
            segments.indices.filter { saved?.plan.saved[$0] != true }.map { segments[$0].length }.max() ?? 0
        precondition(
            saved.map { $0.plan.chunkTokens == chunkSize } ?? true, "GLA backward: save plan of another chunking")
        let savedPlan = saved?.plan
        let savedBase = saved?.base
        let kernel = BackwardKernel<T>(
            keyDim: dk, valueDim: dv, chunkSize: chunkSize, subChunkSize: subChunkSize,
            maxChunks: (longest + chunkSize - 1) / chunkSize)
        // Every non-empty sequence saved: work items are (sequence, head group) as in the forward, just
        // enough groups that every worker has one; otherwise (sequence, head).
        let grouped = savedPlan.map { savedPathScansInputs($0, lengths: segments.map(\.length)) } ?? false
        let groups =
            grouped
            ? Swift.max(1, Swift.min(heads, (Threading.workerCount + segments.count - 1) / segments.count)) : heads
        let groupHeads = (heads + groups - 1) / groups
        let items = segments.count * groups
        let workers = Swift.max(1, Swift.min(Threading.workerCount, items))
        var flags = [UInt8](repeating: 0, count: grouped ? items : 0)
        let workspaceCount = kernel.workspaceCount + (grouped ? kernel.groupWorkspaceCount(heads: groupHeads) : 0)
        // Allocated once per worker (or the caller's kept buffer), uninitialised: the kernel writes
        // before it reads.
        let held = workspace?.acquire(count: workers * workspaceCount)
        let workspaces = held ?? UnsafeMutablePointer<T>.allocate(capacity: workers * workspaceCount)
        defer {
            if held != nil {
                workspace?.release()
            } else {
                workspaces.deallocate()
            }
        }
        withPointers(x, outputGradient, finalStateGradient) { q, k, v, gk, h0, dO, dht in
            gradQ.withUnsafeMutableBufferPointer { gq in
                gradK.withUnsafeMutableBufferPointer { gkk in
                    gradV.withUnsafeMutableBufferPointer { gv in
                        gradGK.withUnsafeMutableBufferPointer { gg in
                            gradH0.withUnsafeMutableBufferPointer { gh in
                                let out = BackwardKernel<T>.Gradients(
                                    q: gq.baseAddress, k: gkk.baseAddress, v: gv.baseAddress,
                                    gk: gg.baseAddress, h0: storeH0 ? gh.baseAddress : nil)
                                flags.withUnsafeMutableBufferPointer { fb in
                                    let fp = fb.baseAddress
                                    Threading.parallelFor(items, workers: workers) { item, worker in
                                        if grouped, let savedPlan, let savedBase {
                                            let n = item / groups
                                            let group = item % groups
                                            let (hLo, hHi) = (group * heads / groups, (group + 1) * heads / groups)
                                            let seg = segments[n]
                                            let row0 = (seg.batch * tokens + seg.start) * heads + hLo
                                            let stateOffset = (n * heads + hLo) * dk * dv
                                            let keep = savedPlan.saved[n]
                                            let ws = workspaces + worker * workspaceCount
                                            fp![item] =
                                                kernel.runGroup(
                                                    q: q?.advanced(by: row0 * dk), k: k?.advanced(by: row0 * dk),
                                                    v: v?.advanced(by: row0 * dv),
                                                    outputGradient: dO?.advanced(by: row0 * dv),
                                                    finalStateGradient: dht?.advanced(by: stateOffset),
                                                    gradients: out.offset(
                                                        keys: row0 * dk, values: row0 * dv, state: stateOffset),
                                                    heads: hHi - hLo, keyStride: heads * dk, valueStride: heads * dv,
                                                    length: seg.length, scale: scale,
                                                    savedStates: keep
                                                        ? savedBase + savedPlan.state(n, head: hLo, chunk: 0) : nil,
                                                    savedDecay: keep
                                                        ? savedBase + savedPlan.decay(n, head: hLo, chunk: 0) : nil,
                                                    savedHeadStride: savedPlan.headCount(n), workspace: ws,
                                                    groupWorkspace: ws + kernel.workspaceCount
                                                ).rawValue
                                            return
                                        }
                                        let n = item / heads
                                        let h = item % heads
                                        let seg = segments[n]
                                        let stateOffset = (n * heads + h) * dk * dv
                                        let row0 = (seg.batch * tokens + seg.start) * heads + h
                                        var states: UnsafePointer<T>? = nil
                                        var decay: UnsafePointer<T>? = nil
                                        if let savedPlan, let savedBase, savedPlan.saved[n] {
                                            states = savedBase + savedPlan.state(n, head: h, chunk: 0)
                                            decay = savedBase + savedPlan.decay(n, head: h, chunk: 0)
                                        }
                                        kernel.run(
                                            q: q?.advanced(by: row0 * dk), k: k?.advanced(by: row0 * dk),
                                            gk: gk?.advanced(by: row0 * dk), v: v?.advanced(by: row0 * dv),
                                            outputGradient: dO?.advanced(by: row0 * dv),
                                            initialState: h0?.advanced(by: stateOffset),
                                            finalStateGradient: dht?.advanced(by: stateOffset),
                                            gradients: out.offset(
                                                keys: row0 * dk, values: row0 * dv, state: stateOffset),
                                            keyStride: heads * dk, valueStride: heads * dv, length: seg.length,
                                            scale: scale, savedStates: states, savedDecay: decay,
                                            workspace: workspaces + worker * workspaceCount)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        grad = Inputs(q: gradQ, k: gradK, v: gradV, gk: gradGK, initialState: storeH0 ? gradH0 : nil)
        let found = InputFlags(rawValue: flags.reduce(0, |))
        if found.contains(.nonFiniteQ) { throw .nonFinite(tensor: "q") }
        if found.contains(.nonFiniteK) { throw .nonFinite(tensor: "k") }
        if found.contains(.nonFiniteV) { throw .nonFinite(tensor: "v") }
        if found.contains(.nonFiniteOutputGradient) { throw .nonFinite(tensor: "outputGradient") }
    }

    /// Whether the backward from `plan` takes the grouped path, whose pass scans q, k, v and dO
    /// itself (every sequence saved: none is swept). On that path gk is not read at all (the decay
    /// factors come from the saved values, which the training forward computed from a gk it
    /// validated), so its values are not scanned either.
    static func savedPathScansInputs(_ plan: GLASavePlan, lengths: [Int]) -> Bool {
        !plan.needsSweep(lengths: lengths)
    }

    /// A tensor whose elements the caller writes before anyone reads them.
    static func uninitialized<T: LRNNScalar>(_ shape: [Int]) -> Tensor<T> {
        let count = shape.reduce(1, *)
        return Tensor(shape: shape, scalars: [T](unsafeUninitializedCapacity: count) { _, n in n = count })
    }

    /// Calls `body` with base pointers of the inputs and cotangents (nil for absent or empty tensors).
    static func withPointers<T: LRNNScalar, R>(
        _ x: Inputs<T>, _ dO: Tensor<T>?, _ dht: Tensor<T>?,
        _ body: (
            UnsafePointer<T>?, UnsafePointer<T>?, UnsafePointer<T>?, UnsafePointer<T>?, UnsafePointer<T>?,
            UnsafePointer<T>?, UnsafePointer<T>?
        ) -> R
    ) -> R {
        x.q.withUnsafeBufferPointer { q in
            x.k.withUnsafeBufferPointer { k in
                x.v.withUnsafeBufferPointer { v in
                    x.gk.withUnsafeBufferPointer { gk in
                        optionalPointer(x.initialState) { h0 in
                            optionalPointer(dO) { dOp in
                                optionalPointer(dht) { dhtp in
                                    body(
                                        q.baseAddress, k.baseAddress, v.baseAddress, gk.baseAddress, h0, dOp, dhtp)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// `body` with the base pointer of `tensor`, or nil when it is absent.
    static func optionalPointer<T, R>(_ tensor: Tensor<T>?, _ body: (UnsafePointer<T>?) -> R) -> R {
        guard let tensor else { return body(nil) }
        return tensor.withUnsafeBufferPointer { body($0.baseAddress) }
    }
}

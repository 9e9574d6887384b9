import LRNNLinearAlgebra
import Synchronization

extension DeltaRule {
    /// Scratch memory of ``DeltaRule/backward(_:scale:numHouseholder:sequences:chunkSize:outputGradient:finalStateGradient:workspace:gradients:)``
    /// that a caller keeps from one call to the next.
    ///
    /// The backward stores, per worker, the chunk-start states and chunk values of a whole
    /// sequence segment (up to ≈ 78 MB per worker at T = 4,096, H = 8, K = V = 128 in Float32;
    /// docs/kernels/delta-rule.md). Allocated afresh on every call, those pages are cleared by the
    /// operating system on their first touch, which measured about a seventh of the backward's
    /// time. A workspace keeps the buffer instead: it grows to the largest call it has served and
    /// is freed with the workspace, so the caller (a training loop, a benchmark) decides how long
    /// the memory lives. Nothing is shared between workspaces.
    ///
    /// A workspace serves one call at a time; a call that finds it in use by another thread uses
    /// a buffer of its own for that call instead (same results, no reuse), so sharing one
    /// workspace between threads is safe but gains nothing. The results never depend on the
    /// workspace: they equal those of the allocating `backward` bit for bit.
    public final class BackwardWorkspace<T: LRNNScalar>: Sendable {
        /// The buffer, its capacity in scalars, and whether a call holds it.
        private struct Storage {
            var base: UnsafeMutablePointer<T>?
            var capacity: Int
            var inUse: Bool
        }

        private let storage = Mutex(Storage(base: nil, capacity: 0, inUse: false))

        /// An empty workspace: the first call sizes it.
        public init() {}

        deinit {
            storage.withLock { s in
                if let base = s.base { DeltaRuleBackwardMemory.deallocate(base) }
            }
        }

        /// The scalars the workspace holds now (0 before its first call).
        public var capacity: Int { storage.withLock { $0.capacity } }

        /// Takes the buffer for one call, grown to at least `count` scalars (its previous
        /// contents are not kept), or nil when another call holds it.
        func acquire(count: Int) -> UnsafeMutablePointer<T>? {
            storage.withLock { s -> UnsafeMutablePointer<T>? in
                if s.inUse { return nil }
                if s.base == nil || s.capacity < count {
                    if let base = s.base { DeltaRuleBackwardMemory.deallocate(base) }
                    s.base = DeltaRuleBackwardMemory.allocate(T.self, count: count)
                    s.capacity = count
                }
                s.inUse = true
                return s.base
            }
        }

        /// Returns the buffer taken by ``acquire(count:)``.
        func release() {
            storage.withLock { $0.inUse = false }
        }
    }

    /// ``backward(_:scale:numHouseholder:sequences:chunkSize:outputGradient:finalStateGradient:)``
    /// into caller-owned gradients, with a caller-owned workspace: the form for loops that run
    /// the backward again and again (training, benchmarks).
    ///
    /// Each tensor of `gradients` that already has the shape of its input is overwritten in
    /// place (every element is written); one of any other shape, or a missing `g` or
    /// `initialState`, is replaced by a new tensor, and `g` and `initialState` are set to nil
    /// when the inputs have none. The gradients' storage is reused only when the caller holds no
    /// other copy of those tensors (otherwise Swift's copy-on-write copies it first). The results
    /// are bit-identical to the allocating form's.
    ///
    /// - Parameters:
    ///   - inputs: the forward's inputs, as for the allocating form.
    ///   - scale: the query scale; `nil` means `1/√K`.
    ///   - numHouseholder: n ≥ 1, the Householder steps per token.
    ///   - sequences: optional packed-sequence boundaries over tokens (B must be 1).
    ///   - chunkSize: Householder steps per chunk.
    ///   - outputGradient: dL/d(output) `[B, T, H, V]`, or nil for zero.
    ///   - finalStateGradient: dL/d(finalState) `[N, H, K, V]`, or nil for zero.
    ///   - workspace: the scratch memory kept between calls (``BackwardWorkspace``).
    ///   - gradients: receives dL/d(inputs), shaped as for the allocating form.
    /// - Throws: the errors of the allocating form, before any work; `gradients` is then unchanged.
    @_specialize(exported:true,where T == Float)
    @_specialize(exported:true,where T == Double)
    public static func backward<T: LRNNScalar>(
        _ inputs: Inputs<T>, scale: T? = nil, numHouseholder: Int = 1, sequences: SequenceBoundaries? = nil,
        chunkSize: Int = DeltaRule.defaultChunkSize, outputGradient: Tensor<T>?, finalStateGradient: Tensor<T>?,
        workspace: BackwardWorkspace<T>, gradients: inout Inputs<T>
    ) throws(KernelError) {
        guard chunkSize >= 1 else {
            throw .invalidArgument(name: "chunkSize", reason: "must be at least 1, got \(chunkSize)")
        }
        let p = try validateBackward(
            inputs, numHouseholder: numHouseholder, sequences: sequences, outputGradient: outputGradient,
            finalStateGradient: finalStateGradient)
        let scale = try DeltaRuleProblem.resolveScale(scale, keyDim: p.keyDim)
        runBackward(
            p, inputs, scale: scale, chunkSize: chunkSize, outputGradient: outputGradient,
            finalStateGradient: finalStateGradient, into: &gradients, workspace: workspace)
    }
}

import LRNNLinearAlgebra
import Synchronization

/// Scratch memory of the chunked backward passes that a caller keeps from one call to the next:
/// ``DeltaRule/backward(_:scale:numHouseholder:sequences:chunkSize:outputGradient:finalStateGradient:workspace:gradients:)``
/// and ``GLA/backward(_:scale:sequences:chunkSize:subChunkSize:outputGradient:finalStateGradient:workspace:gradients:)``.
///
/// The backward passes store, per worker, recomputed chunk-start states (the delta rule up to
/// ≈ 78 MB per worker at T = 4,096, H = 8, K = V = 128 in Float32, GLA 8 MB; docs/kernels/).
/// Allocated afresh on every call, those pages (and those of new gradient tensors) are cleared
/// by the operating system on their first touch: ≈ 12 % of the samples of repeated delta-rule
/// backward calls, and a kept workspace with kept gradients saved ≈ 6 % of the CPU time per call
/// (docs/kernels/delta-rule.md). A workspace keeps the buffer instead: it grows to the largest call it has served and
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

import LRNNLinearAlgebra
import Synchronization

extension DeltaRule {
    /// The values a training forward keeps for its backward: what the chunked backward's forward
    /// sweep would otherwise recompute (fla's `_fwd`/`_bwd` pairs share theirs the same way).
    ///
    /// ``DeltaRule/chunked(_:scale:numHouseholder:sequences:chunkSize:output:finalState:saving:)``
    /// fills it, per sequence, head and chunk of the backward, with the corrected values U' (c×V),
    /// T = (I + diag(β)·Ã)⁻¹ (c×c) and the masked, decayed products [P; Ã] ((c/n + c)×c), with the
    /// chunk-start state S (K×V) of every saved chunk with a gate and of the first chunk of every
    /// block of 8 saved chunks without one, and with the state at every backward segment start;
    /// ``DeltaRule/backward(_:scale:numHouseholder:sequences:chunkSize:outputGradient:finalStateGradient:workspace:gradients:saved:)``
    /// reads them instead of sweeping those chunks again, and recomputes the other chunk-start states
    /// of a block from its first one (one K×c by c×V product per chunk, cheaper there than writing and
    /// reading back the state). Memory stays bounded: at most 2²⁶ scalars of chunk values (256 MB in
    /// Float32; every chunk at T = 4,096, H = 8, K = V = 128, C = 16 takes ≈ 40 MB without a gate and
    /// ≈ 157 MB with one); past it, and beyond the last backward segment of a long sequence, the
    /// backward recomputes as without saved values (docs/kernels/delta-rule.md).
    ///
    /// Like ``/LRNNKernels/BackwardWorkspace``, the buffer grows to the largest call and is kept
    /// until the value is freed, so a training loop pays its page faults once. One forward's
    /// values serve any number of backward calls, until the next forward with this value replaces
    /// them. It must be used with the same inputs, scale, n, sequences and chunk size in the
    /// backward as in the forward: the shapes and constants are checked, the input values are not
    /// (other values give the gradients of the saved forward). A value serves one call at a time.
    public final class Saved<T: LRNNScalar>: Sendable {
        /// The buffer, its capacity, the plan of the values it holds and whether a call holds it.
        struct Storage {
            var base: UnsafeMutablePointer<T>?
            var capacity: Int
            var plan: DeltaRuleSavePlan?
            var inUse: Bool
        }

        private let storage = Mutex(Storage(base: nil, capacity: 0, plan: nil, inUse: false))

        /// An empty value: the first training forward sizes it.
        public init() {}

        deinit {
            storage.withLock { s in
                if let base = s.base { DeltaRuleBackwardMemory.deallocate(base) }
            }
        }

        /// The scalars the value holds now (0 before its first forward).
        public var capacity: Int { storage.withLock { $0.capacity } }

        /// Whether it holds the values of a forward call.
        public var isFilled: Bool { storage.withLock { $0.plan != nil } }

        /// Takes the buffer for a forward with `plan`, grown to its size (the old values are
        /// dropped), or nil when another call holds it.
        func acquireForWriting(_ plan: DeltaRuleSavePlan) -> UnsafeMutablePointer<T>? {
            storage.withLock { s -> UnsafeMutablePointer<T>? in
                if s.inUse { return nil }
                if s.base == nil || s.capacity < plan.count {
                    if let base = s.base { DeltaRuleBackwardMemory.deallocate(base) }
                    s.base = DeltaRuleBackwardMemory.allocate(T.self, count: plan.count)
                    s.capacity = plan.count
                }
                s.plan = nil
                s.inUse = true
                return s.base
            }
        }

        /// Takes the buffer for a backward: its plan and values, or nil when another call holds it.
        func acquireForReading() -> (plan: DeltaRuleSavePlan?, base: UnsafeMutablePointer<T>?)? {
            storage.withLock { s -> (plan: DeltaRuleSavePlan?, base: UnsafeMutablePointer<T>?)? in
                if s.inUse { return nil }
                s.inUse = true
                return (s.plan, s.base)
            }
        }

        /// Returns the buffer; `plan` (after a forward that finished) marks the values valid.
        func release(plan: DeltaRuleSavePlan?) {
            storage.withLock {
                if let plan { $0.plan = plan }
                $0.inUse = false
            }
        }

        /// Returns the buffer after a backward.
        func releaseAfterReading() {
            storage.withLock { $0.inUse = false }
        }
    }
}

import LRNNLinearAlgebra
import Synchronization

/// The plan of the values a training forward keeps: how many scalars they take (the kernel family's
/// own plan says where each value lies and which call they belong to).
protocol SavedValuesPlan: Sendable {
    /// The scalars the values take.
    var count: Int { get }
}

/// The storage behind a kernel family's `Saved` value (``DeltaRule/Saved``, ``GLA/Saved``): one
/// buffer, grown to the largest forward and kept until the value is freed (so a training loop pays
/// its page faults once), the plan of the values it holds, and whether a call holds it (a value
/// serves one call at a time; a second is refused, never blocked).
final class SavedValuesStorage<T: LRNNScalar, Plan: SavedValuesPlan>: Sendable {
    /// The buffer, its capacity, the plan of the values it holds and whether a call holds it.
    struct State {
        var base: UnsafeMutablePointer<T>?
        var capacity: Int
        var plan: Plan?
        var inUse: Bool
    }

    private let state = Mutex(State(base: nil, capacity: 0, plan: nil, inUse: false))

    init() {}

    deinit {
        state.withLock { s in
            if let base = s.base { DeltaRuleBackwardMemory.deallocate(base) }
        }
    }

    /// The scalars the buffer holds now (0 before its first forward).
    var capacity: Int { state.withLock { $0.capacity } }

    /// Whether it holds the values of a forward call.
    var isFilled: Bool { state.withLock { $0.plan != nil } }

    /// Takes the buffer for a forward with `plan`, grown to its size (the old values are dropped),
    /// or nil when another call holds it.
    func acquireForWriting(_ plan: Plan) -> UnsafeMutablePointer<T>? {
        state.withLock { s -> UnsafeMutablePointer<T>? in
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
    func acquireForReading() -> (plan: Plan?, base: UnsafeMutablePointer<T>?)? {
        state.withLock { s -> (plan: Plan?, base: UnsafeMutablePointer<T>?)? in
            if s.inUse { return nil }
            s.inUse = true
            return (s.plan, s.base)
        }
    }

    /// Returns the buffer after a forward; `plan` (of a forward that finished) marks the values valid.
    func release(plan: Plan?) {
        state.withLock {
            if let plan { $0.plan = plan }
            $0.inUse = false
        }
    }

    /// Returns the buffer after a backward.
    func releaseAfterReading() {
        state.withLock { $0.inUse = false }
    }
}

extension DeltaRuleSavePlan: SavedValuesPlan {}
extension GLASavePlan: SavedValuesPlan {}

import LRNNLinearAlgebra

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
        /// The buffer, its plan and whether a call holds it.
        let storage = SavedValuesStorage<T, DeltaRuleSavePlan>()

        /// An empty value: the first training forward sizes it.
        public init() {}

        /// The scalars the value holds now (0 before its first forward).
        public var capacity: Int { storage.capacity }

        /// Whether it holds the values of a forward call.
        public var isFilled: Bool { storage.isFilled }
    }
}

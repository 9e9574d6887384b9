import LRNNLinearAlgebra

extension GLA {
    /// The values a training forward keeps for its backward: the chunk-start states the chunked
    /// backward would otherwise recompute in a sweep of its own, and the decay factors exp(gk) (fla's
    /// `chunk_gla_fwd` keeps its `h` and `g_cumsum` for `chunk_gla_bwd` the same way).
    ///
    /// ``GLA/chunked(_:scale:sequences:chunkSize:subChunkSize:output:finalState:saving:)`` fills
    /// it, per sequence and head, with the state S (K×V) at every chunk start and the final state,
    /// and with each chunk's decay factors (C×K);
    /// ``GLA/backward(_:scale:sequences:chunkSize:subChunkSize:outputGradient:finalStateGradient:workspace:gradients:saved:)``
    /// reads them instead of sweeping the sequence again and of reading gk and forming its
    /// exponentials. Memory stays bounded: at most 2²⁶ scalars (256 MB in Float32; T = 4,096, H = 8,
    /// K = V = 128, C = 32 takes ≈ 21·10⁶), kept
    /// sequence by sequence while they fit; the backward recomputes the states of the others
    /// (docs/kernels/gla.md).
    ///
    /// Like ``/LRNNKernels/BackwardWorkspace``, the buffer grows to the largest call and is kept
    /// until the value is freed, so a training loop pays its page faults once. One forward's
    /// values serve any number of backward calls, until the next forward with this value replaces
    /// them. It must be used with the same inputs, sequences and chunking in the backward as in the
    /// forward: the shapes and the chunking are checked, the input values are not (other values give
    /// the gradients of the saved forward's states). A value serves one call at a time.
    public final class Saved<T: LRNNScalar>: Sendable {
        /// The buffer, its plan and whether a call holds it.
        let storage = SavedValuesStorage<T, GLASavePlan>()

        /// An empty value: the first training forward sizes it.
        public init() {}

        /// The scalars the value holds now (0 before its first forward).
        public var capacity: Int { storage.capacity }

        /// Whether it holds the values of a forward call.
        public var isFilled: Bool { storage.isFilled }
    }
}

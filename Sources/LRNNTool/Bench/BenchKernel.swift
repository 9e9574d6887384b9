import LRNNLinearAlgebra

/// One kernel as `lrnn bench` measures it: its standard shape, its effective flop count and
/// a way to prepare inputs and run each path.
public struct BenchKernel: Sendable {
    /// The kernel's name (`delta_rule`, `gla`, `s4d_conv`, …).
    public var name: String
    /// Batch size of the standard shape.
    public var batch: Int
    /// Heads (or channels for the state-space kernels).
    public var heads: Int
    /// Key dimension (state size N or P for the state-space kernels).
    public var keyDim: Int
    /// Value dimension (1 for the state-space kernels, whose channels are scalars).
    public var valueDim: Int
    /// How the effective flop count is defined (printed in docs and `--json`).
    public var flopFormula: String
    /// What each of the three paths runs, in words (for the docs).
    public var pathsDescription: String
    /// The fixed amount of work for a sequence of length T (the dense chunk algorithm at C = 64),
    /// whatever the implementation really does.
    public var effectiveFlops: @Sendable (_ tokens: Int) -> Double
    /// Makes inputs for length T and returns the runnable paths.
    public var prepare: @Sendable (_ tokens: Int, _ seed: UInt64) -> PreparedBenchKernel

    /// Creates a kernel description.
    public init(
        name: String, batch: Int, heads: Int, keyDim: Int, valueDim: Int, flopFormula: String,
        pathsDescription: String, effectiveFlops: @escaping @Sendable (Int) -> Double,
        prepare: @escaping @Sendable (Int, UInt64) -> PreparedBenchKernel
    ) {
        self.name = name
        self.batch = batch
        self.heads = heads
        self.keyDim = keyDim
        self.valueDim = valueDim
        self.flopFormula = flopFormula
        self.pathsDescription = pathsDescription
        self.effectiveFlops = effectiveFlops
        self.prepare = prepare
    }
}

/// A kernel with inputs in place: each closure runs one full forward over the sequence.
public struct PreparedBenchKernel {
    /// The chunkwise (GEMM) path.
    public var chunk: () -> Void
    /// Builds the token-by-token step path: slices the inputs into per-token tensors (untimed)
    /// and returns the closure that runs the decoding step over the whole sequence (timed).
    /// Kept lazy so that a memory probe of the chunk path never holds the slices.
    public var makeStep: () -> () -> Void
    /// The naive reference recurrence.
    public var naive: () -> Void
    /// Bytes of the kernel's inputs and outputs (the memory target's yardstick).
    public var ioBytes: Int

    /// Creates a prepared kernel.
    public init(
        chunk: @escaping () -> Void, makeStep: @escaping () -> () -> Void, naive: @escaping () -> Void, ioBytes: Int
    ) {
        self.chunk = chunk
        self.makeStep = makeStep
        self.naive = naive
        self.ioBytes = ioBytes
    }
}

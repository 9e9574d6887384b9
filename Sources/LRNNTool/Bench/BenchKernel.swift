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
    /// The fixed amount of work for a sequence of length T (the dense chunk algorithm at C = 64),
    /// whatever the implementation really does.
    public var effectiveFlops: @Sendable (_ tokens: Int) -> Double
    /// Makes inputs for length T and returns the runnable paths.
    public var prepare: @Sendable (_ tokens: Int, _ seed: UInt64) -> PreparedBenchKernel
}

/// A kernel with inputs in place: each closure runs one full forward over the sequence.
public struct PreparedBenchKernel {
    /// The chunkwise (GEMM) path.
    public var chunk: () -> Void
    /// The optimised token-by-token path (the decoding step run over the whole sequence).
    public var step: () -> Void
    /// The naive reference recurrence.
    public var naive: () -> Void
    /// Bytes of the kernel's inputs and outputs (the memory target's yardstick).
    public var ioBytes: Int

    /// Creates a prepared kernel.
    public init(chunk: @escaping () -> Void, step: @escaping () -> Void, naive: @escaping () -> Void, ioBytes: Int) {
        self.chunk = chunk
        self.step = step
        self.naive = naive
        self.ioBytes = ioBytes
    }
}

import LRNNLinearAlgebra

/// One kernel as `lrnn bench` measures it: its standard shape, its effective flop count and
/// a way to prepare inputs and run each path.
package struct BenchKernel: Sendable {
    /// The kernel's name (`delta_rule`, `gla`, `s4d_conv`, …).
    package var name: String
    /// Batch size of the standard shape.
    package var batch: Int
    /// Heads (or channels for the state-space kernels).
    package var heads: Int
    /// Key dimension (state size N or P for the state-space kernels).
    package var keyDim: Int
    /// Value dimension (1 for the state-space kernels, whose channels are scalars).
    package var valueDim: Int
    /// How the effective flop count is defined (printed in docs and `--json`).
    package var flopFormula: String
    /// What each path (chunk, step, naive, forward + backward) runs, in words (for the docs).
    package var pathsDescription: String
    /// The fixed amount of work for a sequence of length T (the dense chunk algorithm at C = 64),
    /// whatever the implementation really does.
    package var effectiveFlops: @Sendable (_ tokens: Int) -> Double
    /// Makes inputs for length T and returns the runnable paths.
    package var prepare: @Sendable (_ tokens: Int, _ seed: UInt64) -> PreparedBenchKernel
    /// When set, the scaling sweep also times the step path at every T under this path name (ParaRNN:
    /// `sequential`, the solve Newton is measured against); nil for the other kernels.
    package var sweptStepPath: String? = nil

    /// Creates a kernel description.
    package init(
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

/// A kernel with inputs in place: each closure runs one full pass over the sequence.
package struct PreparedBenchKernel {
    /// The chunkwise (GEMM) path.
    package var chunk: () -> Void
    /// Builds the token-by-token step path: slices the inputs into per-token tensors (untimed)
    /// and returns the closure that runs the decoding step over the whole sequence (timed).
    /// Kept lazy so that a memory probe of the chunk path never holds the slices.
    package var makeStep: () -> () -> Void
    /// The naive reference recurrence.
    package var naive: () -> Void
    /// Builds the training path: draws seeded random cotangents (untimed) — an output gradient
    /// of the output's shape and a final-state gradient of the state's shape, both standard
    /// normal — and returns the closure that runs one forward call (the chunk path, into the
    /// same reused output and state buffers as ``chunk``; for the delta-rule family its training
    /// form, which keeps the backward's values in a kept `DeltaRule.Saved`) and one call of the
    /// kernel's `backward` with those cotangents (from those values) (timed): a training step. Kept lazy so that the forward's memory probe
    /// never holds the cotangents.
    package var makeBackward: () -> () -> Void
    /// Bytes of the kernel's inputs and outputs (the memory target's yardstick).
    package var ioBytes: Int
    /// The Newton iterations of the last ``chunk`` call (ParaRNN); nil for the other kernels.
    package var newtonIterations: (() -> Int)? = nil

    /// Creates a prepared kernel.
    ///
    /// - Parameters:
    ///   - chunk: one forward call of the chunk path.
    ///   - makeStep: builds the step path's closure (see ``makeStep``).
    ///   - naive: one call of the naive reference.
    ///   - makeBackward: builds the forward + backward closure (see ``makeBackward``).
    ///   - ioBytes: bytes of the kernel's inputs and outputs.
    package init(
        chunk: @escaping () -> Void, makeStep: @escaping () -> () -> Void, naive: @escaping () -> Void,
        makeBackward: @escaping () -> () -> Void, ioBytes: Int
    ) {
        self.chunk = chunk
        self.makeStep = makeStep
        self.naive = naive
        self.makeBackward = makeBackward
        self.ioBytes = ioBytes
    }
}

import LRNNLinearAlgebra

/// The log-decay factors of one chunk for the backward pass, exactly as the forward chunk kernel
/// forms them (see `DeltaRuleChunkKernel`): γ the within-chunk cumulative log decay, restarted
/// at 0 after a reset; `egam[i] = exp(γ_i)` (0 from the first reset on); `endFactor[j] =
/// exp(γ_c − γ_j)` (0 before the last reset); D the c×c lower decay matrix exp(γ_i − γ_j) (0 across
/// a reset, 1 on the diagonal); and the chunk-start-to-end factor exp(γ_c) (0 after a reset).
enum DeltaRuleBackwardDecay {
    /// Fills the factors of the `ns` steps of one chunk (n steps per token, gate at each token's
    /// first step) from the gate pointer `g` (the token's log decay at `g[t·stride]` for chunk
    /// token t), and returns exp(γ_c).
    ///
    /// - Parameters:
    ///   - g: the chunk's first token's log decay; token t's is `g[t·stride]`.
    ///   - stride: the distance between consecutive tokens' gates (the head count H).
    ///   - steps: the chunk's Householder steps c (`tokens·n`).
    ///   - n: the Householder steps per token.
    ///   - gam: γ (c scalars).
    ///   - egam: exp γ from the chunk start (c scalars).
    ///   - endFactor: exp(γ_c − γ_j) (c scalars).
    ///   - reset: 1 at a reset step, else 0 (c scalars).
    ///   - decay: D, c×c with leading dimension `ldd`.
    ///   - ldd: D's leading dimension.
    /// - Returns: exp(γ_c), the factor of the chunk-start state in the chunk-end state.
    @inline(__always)
    static func fill<T: LRNNScalar>(
        g: UnsafePointer<T>, stride: Int, steps ns: Int, n: Int, gam: UnsafeMutablePointer<T>,
        egam: UnsafeMutablePointer<T>, endFactor: UnsafeMutablePointer<T>, reset: UnsafeMutablePointer<T>,
        decay: UnsafeMutablePointer<T>, ldd: Int
    ) -> T {
        var acc: T = 0
        var lowest: T = 0
        var firstReset = ns
        var lastReset = 0
        let candidate = DeltaRuleChunkKernel<T>.resetCandidateBelow
        for i in 0..<ns {
            reset[i] = 0
            if i % n == 0 {
                let gt = g[(i / n) * stride]
                if gt < candidate && T.exp(gt) == 0 {
                    acc = 0
                    lastReset = i
                    reset[i] = 1
                    if firstReset == ns { firstReset = i }
                } else {
                    acc += gt
                }
            }
            gam[i] = acc
            lowest = Swift.min(lowest, acc)
        }
        // exp(γ_i − γ_j) as exp(γ_i)·exp(−γ_j) while both factors stay normal (as the forward).
        let factored = -lowest <= DeltaRuleChunkKernel<T>.factoredDecayLimit
        for i in 0..<ns { egam[i] = T.exp(gam[i]) }
        if factored { for j in 0..<ns { endFactor[j] = T.exp(-gam[j]) } }  // exp(−γ_j) for now
        var segStart = 0
        for i in 0..<ns {
            if reset[i] != 0 { segStart = i }
            let row = decay + i * ldd
            for j in 0..<segStart { row[j] = 0 }
            if factored {
                let ei = egam[i]
                for j in segStart..<i { row[j] = ei * endFactor[j] }
            } else {
                let gi = gam[i]
                for j in segStart..<i { row[j] = T.exp(gi - gam[j]) }
            }
            row[i] = 1
        }
        let last = ns > 0 ? gam[ns - 1] : 0
        for j in 0..<ns { endFactor[j] = j < lastReset ? 0 : T.exp(last - gam[j]) }
        for i in firstReset..<ns { egam[i] = 0 }
        return ns > 0 ? egam[ns - 1] : 1
    }

    /// Only the end factors `endFactor[j] = exp(γ_c − γ_j)` (0 before the last reset) and the
    /// returned exp(γ_c) (0 after a reset) of ``fill(g:stride:steps:n:gam:egam:endFactor:reset:decay:ldd:)``,
    /// with the same values, for the backward's state recomputation (no decay matrix).
    ///
    /// - Parameters:
    ///   - g: the chunk's first token's log decay; token t's is `g[t·stride]`.
    ///   - stride: the distance between consecutive tokens' gates (the head count H).
    ///   - steps: the chunk's Householder steps c (`tokens·n`).
    ///   - n: the Householder steps per token.
    ///   - gam: γ (c scalars).
    ///   - endFactor: exp(γ_c − γ_j) (c scalars).
    /// - Returns: exp(γ_c), the factor of the chunk-start state in the chunk-end state.
    @inline(__always)
    static func endFactors<T: LRNNScalar>(
        g: UnsafePointer<T>, stride: Int, steps ns: Int, n: Int, gam: UnsafeMutablePointer<T>,
        endFactor: UnsafeMutablePointer<T>
    ) -> T {
        var acc: T = 0
        var reset = false
        var lastReset = 0
        let candidate = DeltaRuleChunkKernel<T>.resetCandidateBelow
        for i in 0..<ns {
            if i % n == 0 {
                let gt = g[(i / n) * stride]
                if gt < candidate && T.exp(gt) == 0 {
                    acc = 0
                    lastReset = i
                    reset = true
                } else {
                    acc += gt
                }
            }
            gam[i] = acc
        }
        guard ns > 0 else { return 1 }
        let last = gam[ns - 1]
        for j in 0..<ns { endFactor[j] = j < lastReset ? 0 : T.exp(last - gam[j]) }
        return reset ? 0 : T.exp(last)
    }
}

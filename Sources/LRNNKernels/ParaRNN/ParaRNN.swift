import LRNNLinearAlgebra

/// What ParaRNN's two cells share: the Newton solver's options and report, and their defaults.
///
/// ParaRNN (Danieli et al., 2025, "Unlocking Parallel Training of Nonlinear RNNs for Large Language
/// Models") solves the T equations `h_t − f(h_{t−1}, x_t) = 0` of a nonlinear recurrence all at once
/// by Newton's method: each iteration linearises the cell around the current trajectory and solves
/// the linear recurrence `d_t = J_t·d_{t−1} + r_t` (`J_t = ∂f/∂h` at `h_{t−1}`, `r_t = f(h_{t−1}, x_t) − h_t`)
/// with a parallel scan, then sets `h ← h + d`. The cells, ``ParaGRU`` and ``ParaLSTM``, have diagonal
/// (GRU) or 2×2-block-diagonal (LSTM) Jacobians, so each scan is one independent scalar or 2×2
/// recurrence per state channel. The derivation is in docs/kernels/pararnn.md.
public enum ParaRNN {
    /// The default number of tokens per chunk of the Newton scans (per-chunk solves in parallel, then
    /// the carries across chunks, then the fix-up).
    public static let defaultChunkSize: Int = 128

    /// How the Newton-parallel forward pass iterates.
    ///
    /// `Sendable`: a value.
    ///
    /// Source: ParaRNN's `NewtonConfig` (`max_its`), which always runs its 3 iterations with no
    /// convergence test; here the iteration stops on a residual tolerance instead.
    public struct NewtonOptions: Sendable, Equatable {
        /// The residual the iteration stops at: `max_t |h_t − f(h_{t−1}, x_t)|` over every channel,
        /// sequence and state component, absolute (the states are bounded by max(1, |initial state|)).
        /// nil: ``ParaRNN/defaultTolerance(for:scale:)`` for the precision.
        public var tolerance: Double?
        /// The most Newton updates before the solver gives up and falls back to the sequential solve
        /// (≥ 0; 0 accepts only an initial guess that already meets the tolerance).
        public var maxIterations: Int

        /// Options with the default tolerance for the precision and at most 40 iterations.
        ///
        /// - Parameters:
        ///   - tolerance: the residual tolerance (> 0, finite), or nil for the precision's default.
        ///   - maxIterations: the iteration cap (≥ 0).
        public init(tolerance: Double? = nil, maxIterations: Int = 40) {
            self.tolerance = tolerance
            self.maxIterations = maxIterations
        }

        /// The default options.
        public static let `default` = NewtonOptions()

        /// Refuses a non-positive or non-finite tolerance and a negative cap.
        func validate() throws(KernelError) {
            if let tolerance, !(tolerance.isFinite && tolerance > 0) {
                throw .invalidArgument(name: "tolerance", reason: "must be finite and > 0, got \(tolerance)")
            }
            if maxIterations < 0 {
                throw .invalidArgument(name: "maxIterations", reason: "must be ≥ 0, got \(maxIterations)")
            }
        }
    }

    /// What the Newton solver did in one call.
    ///
    /// `Sendable`: a value.
    public struct NewtonReport: Sendable, Equatable, CustomStringConvertible {
        /// The Newton updates applied (each one parallel scan over the sequence).
        public var iterations: Int
        /// The residual `max |h_t − f(h_{t−1}, x_t)|` of the returned trajectory (after a fallback: of the
        /// last Newton iterate, NaN when it was not finite).
        public var residual: Double
        /// The tolerance the residual was held to.
        public var tolerance: Double
        /// Whether Newton met the tolerance within the cap; when false the result is the sequential
        /// solve's (``fellBack`` is then true).
        public var converged: Bool
        /// Whether the result comes from the sequential fallback.
        public var fellBack: Bool { !converged }

        /// Creates a report.
        ///
        /// - Parameters:
        ///   - iterations: the Newton updates applied.
        ///   - residual: the final residual.
        ///   - tolerance: the tolerance.
        ///   - converged: whether the tolerance was met.
        public init(iterations: Int, residual: Double, tolerance: Double, converged: Bool) {
            self.iterations = iterations
            self.residual = residual
            self.tolerance = tolerance
            self.converged = converged
        }

        /// `"newton 5 iterations, residual 1.1e-16 ≤ 3.6e-15"` or `"… not converged: sequential fallback"`.
        public var description: String {
            converged
                ? "newton \(iterations) iterations, residual \(residual) ≤ \(tolerance)"
                : "newton \(iterations) iterations, residual \(residual) > \(tolerance): sequential fallback"
        }
    }

    /// The default residual tolerance: 16 units in the last place of the states' bound, `16·ε·scale`
    /// (Float64: 3.6e-15·scale, Float32: 1.9e-6·scale). A cell evaluated in precision `T` has a residual
    /// floor of a few ulps, and Newton's last iteration reaches it (the convergence is quadratic).
    ///
    /// - Parameters:
    ///   - type: the precision.
    ///   - scale: the bound of the states, max(1, max |initial state|).
    /// - Returns: the tolerance.
    public static func defaultTolerance<T: LRNNScalar>(for type: T.Type, scale: Double = 1) -> Double {
        16 * Double(T.ulpOfOne) * Swift.max(1, scale)
    }
}

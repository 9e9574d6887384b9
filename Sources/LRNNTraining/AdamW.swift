import LRNNLinearAlgebra

/// AdamW: Adam with decoupled weight decay and bias correction (Loshchilov & Hutter, "Decoupled
/// Weight Decay Regularization", ICLR 2019, Algorithm 2), as PyTorch's `torch.optim.AdamW`
/// computes it (no amsgrad, no maximize) and as the golden training cases define it.
///
/// At update t (1, 2, …), with learning rate lr and weight decay wd of the parameter's group,
/// every element of a parameter p with gradient g becomes
///
///     p ← p · (1 − lr · wd)                                    (decoupled weight decay)
///     m ← β1 · m + (1 − β1) · g
///     v ← β2 · v + (1 − β2) · g²
///     p ← p − (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + ε)
///
/// with m = v = 0 before the first update: ε is added outside the bias-corrected √v. Parameters
/// are visited in sorted key order, so a run is deterministic. The moments are kept per
/// parameter key (`exp_avg`, `exp_avg_sq` in PyTorch's state), created at the first update.
public struct AdamW<T: LRNNScalar>: Sendable {
    /// β1, the decay of the first moment (in `[0, 1)`).
    public let beta1: T
    /// β2, the decay of the second moment (in `[0, 1)`).
    public let beta2: T
    /// ε, added to the bias-corrected √v (≥ 0).
    public let epsilon: T
    /// The decoupled weight decay of parameters outside every group (≥ 0).
    public let weightDecay: T
    /// Parameter groups; the first group that accepts a key sets that parameter's learning-rate
    /// scale and weight decay.
    public let groups: [ParameterGroup<T>]
    /// The number of updates applied (t of the last update; 0 before the first).
    public private(set) var step: Int = 0
    /// The first moments m (PyTorch's `exp_avg`), by parameter key; empty before the first update.
    public private(set) var firstMoments: [String: Tensor<T>] = [:]
    /// The second moments v (PyTorch's `exp_avg_sq`), by parameter key; empty before the first update.
    public private(set) var secondMoments: [String: Tensor<T>] = [:]

    /// Creates the optimiser with PyTorch's defaults unless given.
    ///
    /// - Parameters:
    ///   - beta1: β1 in `[0, 1)` (default 0.9).
    ///   - beta2: β2 in `[0, 1)` (default 0.999).
    ///   - epsilon: ε ≥ 0 (default 1e-8).
    ///   - weightDecay: the weight decay ≥ 0 of parameters outside every group (default 0.01).
    ///   - groups: parameter groups, first match wins (default none).
    /// - Throws: ``TrainingError/invalidArgument(name:reason:)`` naming the value out of range.
    public init(
        beta1: T = 0.9, beta2: T = 0.999, epsilon: T = 1e-8, weightDecay: T = 0.01,
        groups: [ParameterGroup<T>] = []
    ) throws(TrainingError) {
        for (name, b) in [("beta1", beta1), ("beta2", beta2)] where !(b >= 0 && b < 1) {
            throw .invalidArgument(name: name, reason: "\(b), expected a value in [0, 1)")
        }
        guard epsilon.isFinite && epsilon >= 0 else {
            throw .invalidArgument(name: "epsilon", reason: "\(epsilon), expected a finite value ≥ 0")
        }
        guard weightDecay.isFinite && weightDecay >= 0 else {
            throw .invalidArgument(name: "weightDecay", reason: "\(weightDecay), expected a finite value ≥ 0")
        }
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.groups = groups
    }

    /// The learning-rate scale and weight decay a parameter is updated with.
    ///
    /// - Parameter key: the parameter's checkpoint name.
    /// - Returns: the first accepting group's settings (its decay, or the optimiser's when the
    ///   group has none), or `(1, weightDecay)` when no group accepts the key.
    public func settings(for key: String) -> (learningRateScale: T, weightDecay: T) {
        guard let g = groups.first(where: { $0.matches(key) }) else { return (1, weightDecay) }
        return (g.learningRateScale, g.weightDecay ?? weightDecay)
    }

    /// Applies one update to every parameter (t = ``step`` + 1).
    ///
    /// - Parameters:
    ///   - parameters: the parameters, updated in place.
    ///   - gradients: dL/d(parameter) for exactly the keys of `parameters`, each of its shape
    ///     (already clipped, if clipping is wanted: ``GradientClipping``).
    ///   - learningRate: the scheduled learning rate of this update (finite, ≥ 0); each group
    ///     scales it by its ``ParameterGroup/learningRateScale``.
    /// - Throws: ``TrainingError/invalidArgument(name:reason:)`` for a bad learning rate,
    ///   ``TrainingError/missingParameter(name:key:)``,
    ///   ``TrainingError/unexpectedParameter(name:key:)`` and
    ///   ``TrainingError/shapeMismatch(tensor:shape:expected:)`` for gradients (or moments from a
    ///   checkpoint) that do not match the parameters. Nothing is changed when it throws.
    public mutating func update(
        parameters: inout [String: Tensor<T>], gradients: [String: Tensor<T>], learningRate: T
    ) throws(TrainingError) {
        let constants = try prepare(parameters: parameters, gradients: gradients, learningRate: learningRate)
        for key in parameters.keys.sorted() {
            // Taking the tensor out of the dictionary keeps its storage uniquely referenced.
            var p = parameters.removeValue(forKey: key)!
            apply(constants, key: key, parameter: &p, gradient: gradients[key]!)
            parameters[key] = p
        }
        step = constants.t
    }

    /// Applies one update to every parameter of `model` in place, through its parameter walk
    /// (``TrainableModel/modifyParameters(_:)``): no parameter is copied when the model holds the
    /// only reference to it. The same arithmetic as ``update(parameters:gradients:learningRate:)``,
    /// so the same bits.
    ///
    /// - Parameters:
    ///   - model: the model, updated in place.
    ///   - gradients: dL/d(parameter) for exactly the keys of the model's parameters, each of its
    ///     shape (already clipped, if clipping is wanted).
    ///   - learningRate: the scheduled learning rate of this update (finite, ≥ 0).
    /// - Throws: as ``update(parameters:gradients:learningRate:)``; nothing is changed when it throws.
    public mutating func update<Model: TrainableModel>(
        model: inout Model, gradients: [String: Tensor<T>], learningRate: T
    ) throws(TrainingError) where Model.Scalar == T {
        // The reading walk's references are released before the model is modified in place.
        let constants = try prepare(parameters: model.parameters(), gradients: gradients, learningRate: learningRate)
        model.modifyParameters { key, p in apply(constants, key: key, parameter: &p, gradient: gradients[key]!) }
        step = constants.t
    }

    /// The constants of update t shared by every parameter.
    struct UpdateConstants {
        var t: Int
        var learningRate, bias1, bias2Root: T
    }

    /// Checks the learning rate, the gradients and the moments against the parameters (creating
    /// zero moments at the first update) and returns the constants of the next update.
    private mutating func prepare(
        parameters: [String: Tensor<T>], gradients: [String: Tensor<T>], learningRate: T
    ) throws(TrainingError) -> UpdateConstants {
        guard learningRate.isFinite && learningRate >= 0 else {
            throw .invalidArgument(name: "learningRate", reason: "\(learningRate), expected a finite value ≥ 0")
        }
        try Self.requireSameTensors(gradients, as: parameters, name: "gradients")
        if firstMoments.isEmpty && secondMoments.isEmpty {
            for (k, p) in parameters {
                firstMoments[k] = Tensor.zeros(p.shape)
                secondMoments[k] = Tensor.zeros(p.shape)
            }
        } else {
            try Self.requireSameTensors(firstMoments, as: parameters, name: "exp_avg")
            try Self.requireSameTensors(secondMoments, as: parameters, name: "exp_avg_sq")
        }
        let t = step + 1
        return UpdateConstants(
            t: t, learningRate: learningRate, bias1: 1 - T.pow(beta1, t), bias2Root: T.sqrt(1 - T.pow(beta2, t)))
    }

    /// Updates one parameter and its moments.
    private mutating func apply(_ c: UpdateConstants, key: String, parameter p: inout Tensor<T>, gradient: Tensor<T>) {
        let (scale, wd) = settings(for: key)
        let lr = c.learningRate * scale
        let rule = Rule(
            decay: 1 - lr * wd, beta1: beta1, beta2: beta2, stepSize: lr / c.bias1, bias2Root: c.bias2Root,
            epsilon: epsilon)
        // Taking the moments out of the dictionaries keeps their storage uniquely referenced.
        var m = firstMoments.removeValue(forKey: key)!
        var v = secondMoments.removeValue(forKey: key)!
        Self.apply(rule, p: &p, m: &m, v: &v, g: gradient)
        firstMoments[key] = m
        secondMoments[key] = v
    }

    /// Restores the state a checkpoint saved.
    ///
    /// - Parameters:
    ///   - step: the number of updates applied (≥ 0).
    ///   - firstMoments: m by key (empty together with `secondMoments` when `step` is 0).
    ///   - secondMoments: v by key.
    /// - Precondition: `step ≥ 0`, and both dictionaries have the same keys.
    mutating func restore(step: Int, firstMoments: [String: Tensor<T>], secondMoments: [String: Tensor<T>]) {
        precondition(step >= 0, "AdamW.restore: step \(step) < 0")
        precondition(
            Set(firstMoments.keys) == Set(secondMoments.keys), "AdamW.restore: m and v hold different keys")
        self.step = step
        self.firstMoments = firstMoments
        self.secondMoments = secondMoments
    }

    /// The per-parameter constants of one update.
    struct Rule {
        var decay, beta1, beta2, stepSize, bias2Root, epsilon: T
    }

    /// One parameter's update, element by element.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func apply(_ r: Rule, p: inout Tensor<T>, m: inout Tensor<T>, v: inout Tensor<T>, g: Tensor<T>) {
        let (c1, c2) = (1 - r.beta1, 1 - r.beta2)
        g.withUnsafeBufferPointer { gb in
            p.withUnsafeMutableBufferPointer { pb in
                m.withUnsafeMutableBufferPointer { mb in
                    v.withUnsafeMutableBufferPointer { vb in
                        for i in 0..<gb.count {
                            let gi = gb[i]
                            let mi = r.beta1 * mb[i] + c1 * gi
                            let vi = r.beta2 * vb[i] + c2 * gi * gi
                            mb[i] = mi
                            vb[i] = vi
                            pb[i] = pb[i] * r.decay - r.stepSize * mi / (vi.squareRoot() / r.bias2Root + r.epsilon)
                        }
                    }
                }
            }
        }
    }

    /// Checks that `tensors` has exactly the keys of `parameters`, each with its shape.
    static func requireSameTensors(
        _ tensors: [String: Tensor<T>], as parameters: [String: Tensor<T>], name: String
    ) throws(TrainingError) {
        for key in parameters.keys.sorted() {
            guard let t = tensors[key] else { throw .missingParameter(name: name, key: key) }
            let expected = parameters[key]!.shape
            guard t.shape == expected else {
                throw .shapeMismatch(tensor: "\(name).\(key)", shape: t.shape, expected: expected)
            }
        }
        if let extra = tensors.keys.sorted().first(where: { parameters[$0] == nil }) {
            throw .unexpectedParameter(name: name, key: extra)
        }
    }
}

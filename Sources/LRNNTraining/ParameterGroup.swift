import LRNNLinearAlgebra

/// A set of parameters, chosen by key, with its own learning-rate scale and weight decay
/// (PyTorch's optimiser `param_groups`).
///
/// ``AdamW`` gives each parameter the settings of the first of its groups whose predicate
/// accepts the key; a key no group accepts uses the optimiser's own weight decay and the
/// scheduled learning rate unscaled.
public struct ParameterGroup<T: LRNNScalar>: Sendable {
    /// The group's name, as reports print it.
    public var name: String
    /// The factor applied to the scheduled learning rate for this group (≥ 0; 1 keeps it).
    public var learningRateScale: T
    /// The group's decoupled weight decay, or nil for the optimiser's.
    public var weightDecay: T?
    /// Whether a checkpoint key belongs to the group.
    public var matches: @Sendable (String) -> Bool

    /// Creates a group from a key predicate.
    ///
    /// - Parameters:
    ///   - name: the group's name.
    ///   - learningRateScale: the factor on the scheduled learning rate (≥ 0, finite).
    ///   - weightDecay: the weight decay (≥ 0, finite), or nil for the optimiser's.
    ///   - matches: whether a key belongs to the group.
    /// - Throws: ``TrainingError/invalidArgument(name:reason:)`` for a negative or non-finite
    ///   scale or decay.
    public init(
        name: String, learningRateScale: T = 1, weightDecay: T? = nil,
        matches: @escaping @Sendable (String) -> Bool
    ) throws(TrainingError) {
        guard learningRateScale.isFinite && learningRateScale >= 0 else {
            throw .invalidArgument(
                name: "learningRateScale", reason: "group '\(name)': \(learningRateScale), expected a finite value ≥ 0")
        }
        if let wd = weightDecay, !(wd.isFinite && wd >= 0) {
            throw .invalidArgument(name: "weightDecay", reason: "group '\(name)': \(wd), expected a finite value ≥ 0")
        }
        self.name = name
        self.learningRateScale = learningRateScale
        self.weightDecay = weightDecay
        self.matches = matches
    }

    /// A group of every parameter of the given kinds (``ParameterKind/init(key:)``).
    ///
    /// - Parameters:
    ///   - name: the group's name.
    ///   - kinds: the kinds the group holds.
    ///   - learningRateScale: the factor on the scheduled learning rate (≥ 0, finite).
    ///   - weightDecay: the weight decay (≥ 0, finite), or nil for the optimiser's.
    /// - Throws: as ``init(name:learningRateScale:weightDecay:matches:)``.
    public init(
        name: String, kinds: Set<ParameterKind>, learningRateScale: T = 1, weightDecay: T? = nil
    ) throws(TrainingError) {
        try self.init(name: name, learningRateScale: learningRateScale, weightDecay: weightDecay) {
            kinds.contains(ParameterKind(key: $0))
        }
    }

    /// The usual recipe's exemption: norms, biases, embeddings and the SSM/gate dynamics
    /// (`A_log`, `dt_bias`, …) without weight decay, at the scheduled learning rate.
    ///
    /// - Returns: the group `no_decay` of kinds ``ParameterKind/norm``, ``ParameterKind/bias``,
    ///   ``ParameterKind/embedding`` and ``ParameterKind/ssm`` with weight decay 0.
    public static func noWeightDecay() -> ParameterGroup {
        let kinds: Set<ParameterKind> = [.norm, .bias, .embedding, .ssm]
        return ParameterGroup(checkedName: "no_decay", learningRateScale: 1, weightDecay: 0) {
            kinds.contains(ParameterKind(key: $0))
        }
    }

    /// A group whose settings are known to be valid.
    private init(
        checkedName name: String, learningRateScale: T, weightDecay: T?,
        matches: @escaping @Sendable (String) -> Bool
    ) {
        self.name = name
        self.learningRateScale = learningRateScale
        self.weightDecay = weightDecay
        self.matches = matches
    }
}

import LRNNLinearAlgebra
import LRNNModels

/// A model the ``Trainer`` can optimise: a parameter tree keyed by checkpoint name, a loss with
/// its gradients, and a way to change the parameter values in place.
///
/// ``/LRNNModels/CausalLM`` conforms with the one-line `extension CausalLM: TrainableModel {}`
/// once it provides these members; any other model (a test model, a custom stack) conforms by
/// implementing them.
///
/// The loss is fla's training loss (FORMAT.md of the golden cases, "Training cases"): the mean
/// cross-entropy, natural log, over the positions whose label is not ``CrossEntropy/ignoreIndex``
/// (−100), labels not shifted (``CrossEntropy``).
public protocol TrainableModel<Scalar> {
    /// The precision the model computes in: `Float` or `Double`.
    associatedtype Scalar: LRNNScalar

    /// Every parameter keyed by its checkpoint name (the keys of `model.safetensors`; a tied
    /// embedding once).
    ///
    /// - Returns: the parameters; each tensor has the shape stored in the checkpoint.
    func parameters() -> [String: Tensor<Scalar>]

    /// A model with the same configuration and the given parameter values.
    ///
    /// - Parameter parameters: exactly the keys of ``parameters()``, each with the same shape.
    /// - Returns: the new model; the receiver is unchanged.
    /// - Throws: `ModelLoadError` naming a missing or unexpected key or a wrong shape.
    func updating(parameters: [String: Tensor<Scalar>]) throws(ModelLoadError) -> Self

    /// Replaces parameter values in place (``/LRNNModels/CausalLM/update(parameters:verify:)``
    /// for ``/LRNNModels/CausalLM``). The default replaces the model with
    /// ``TrainableModel/updating(parameters:)``, every check made.
    ///
    /// - Parameters:
    ///   - parameters: tensors by key, each of its parameter's shape.
    ///   - verify: the checks besides shapes.
    /// - Throws: `ModelLoadError` naming a missing or unexpected key, a wrong shape or a
    ///   non-finite value; the model is unchanged when it throws.
    mutating func update(parameters: [String: Tensor<Scalar>], verify: ParameterVerification) throws(ModelLoadError)

    /// Applies `body` to every parameter in place, with its key (the optimiser's update;
    /// ``/LRNNModels/CausalLM/modifyParameters(_:)`` walks the model's parameter tree). The
    /// default reads ``TrainableModel/parameters()``, applies `body` in sorted key order and rebuilds the model
    /// with ``TrainableModel/updating(parameters:)``.
    ///
    /// - Parameter body: called once per parameter, changing it in place and keeping its shape.
    mutating func modifyParameters(_ body: (_ key: String, _ value: inout Tensor<Scalar>) -> Void)

    /// The mean cross-entropy over the counted positions of a batch and dL/d(every parameter).
    ///
    /// - Parameters:
    ///   - inputIDs: one row of token ids per sequence, each starting from zero state.
    ///   - labels: the target id of every position, or −100 to ignore it; the shape of `inputIDs`.
    /// - Returns: the loss and the gradients, keyed like ``TrainableModel/parameters()``.
    /// - Throws: `ModelError` for an id outside the vocabulary, mismatched lengths, or a batch
    ///   without any counted position.
    func lossAndGradients(inputIDs: [[Int]], labels: [[Int]]) throws(ModelError)
        -> (loss: Scalar, gradients: [String: Tensor<Scalar>])

    /// The loss alone, the same definition as ``lossAndGradients(inputIDs:labels:)``.
    ///
    /// - Parameters:
    ///   - inputIDs: one row of token ids per sequence.
    ///   - labels: the target id of every position, or −100; the shape of `inputIDs`.
    /// - Returns: the mean cross-entropy over the counted positions.
    /// - Throws: `ModelError` as ``lossAndGradients(inputIDs:labels:)``.
    func loss(inputIDs: [[Int]], labels: [[Int]]) throws(ModelError) -> Scalar

    /// Writes the model as a checkpoint directory: `config.json` and `model.safetensors` with the
    /// parameters stored as `dtype` (for ``/LRNNModels/CausalLM``, the layout fla reads).
    ///
    /// - Parameters:
    ///   - directory: the directory to write into (created if needed).
    ///   - dtype: the stored dtype of every parameter (`F32` or `BF16` for fla).
    /// - Throws: the file system's error, or the model's own error when it cannot be described.
    func write(to directory: String, dtype: SafeTensorsDType) throws
}

extension TrainableModel {
    /// The model rebuilt by ``TrainableModel/updating(parameters:)`` (which makes every check, whatever
    /// `verify` asks).
    ///
    /// - Parameters:
    ///   - parameters: tensors by key, each of its parameter's shape.
    ///   - verify: ignored: every check is made.
    /// - Throws: as ``TrainableModel/updating(parameters:)``.
    public mutating func update(
        parameters: [String: Tensor<Scalar>], verify: ParameterVerification
    ) throws(ModelLoadError) {
        self = try updating(parameters: parameters)
    }

    /// ``TrainableModel/parameters()`` changed by `body` in sorted key order, then ``TrainableModel/updating(parameters:)``.
    ///
    /// - Parameter body: called once per parameter, changing it in place and keeping its shape.
    public mutating func modifyParameters(_ body: (_ key: String, _ value: inout Tensor<Scalar>) -> Void) {
        var p = parameters()
        for key in p.keys.sorted() { body(key, &p[key]!) }
        do { self = try updating(parameters: p) } catch {
            preconditionFailure("modifyParameters: the model refused its own modified parameters: \(error)")
        }
    }
}

import Foundation
import LRNNLinearAlgebra

/// What a token mixer's constructor receives besides its own configuration: the model-wide
/// fields it reads. Its parameters come afterwards, from a ``ParameterWalk``.
struct MixerContext {
    /// The model width.
    var hiddenSize: Int
    /// ε of the model's RMSNorms (`norm_eps`), for mixers with an output norm.
    var normEps: Double
    /// `fuse_norm` (GLA's fused gated norm).
    var fuseNorm: Bool
}

/// The one registration of a token-mixer type: a conformance of its configuration type, plus
/// its line in ``MixerConfiguration/registration`` (and, for an fla model type, in
/// ``MixerConfiguration/flaModelTypes``). Everything else — validation, assembly (so loading,
/// random initialisation and ``CausalLM/updating(parameters:)``), `config.json` writing — goes
/// through it. docs/CONTRIBUTING.md walks through adding one.
protocol MixerRegistration: Sendable {
    /// fla's `model_type` for a model made of this mixer (`delta_net`, …), or the engine's own
    /// name for a mixer fla has no model class for (`s4d`, `attn`).
    static var modelType: String { get }
    /// Whether fla has a model class for this mixer, so that a `config.json` of that model type
    /// loads, and a stack of this mixer is written as one.
    static var isFLAModelType: Bool { get }

    /// Refuses impossible or unsupported values.
    /// - Parameter hiddenSize: the model width.
    /// - Throws: ``ConfigurationIssue`` naming the field.
    func validate(hiddenSize: Int) throws(ConfigurationIssue)

    /// Builds the mixer with its extents; a ``ParameterWalk`` then supplies its parameters
    /// (from a checkpoint, given tensors or a seed) under the keys it names.
    func makeMixer<T: LRNNScalar>(_ context: MixerContext) -> any TokenMixer<T>

    /// The fields this mixer adds to an fla `config.json` (nil for a mixer fla has no model for).
    func flaConfigurationFields() -> [String: Any]?
}

extension MixerRegistration where Self: Encodable {
    /// The configuration's own fields, encoded under their fla names.
    func flaConfigurationFields() -> [String: Any]? {
        guard Self.isFLAModelType else { return nil }
        return encodedObject(self)
    }
}

/// `e` encoded as a JSON object (empty when it does not encode to one).
func encodedObject<E: Encodable>(_ e: E) -> [String: Any] {
    guard let d = try? JSONEncoder().encode(e),
        let o = try? JSONSerialization.jsonObject(with: d) as? [String: Any]
    else { return [:] }
    return o
}

extension DeltaNetConfiguration: MixerRegistration {
    static let modelType = "delta_net"
    static let isFLAModelType = true
    func makeMixer<T: LRNNScalar>(_ x: MixerContext) -> any TokenMixer<T> {
        DeltaNetMixer<T>(self, hiddenSize: x.hiddenSize, normEps: x.normEps)
    }
}

extension GatedDeltaNetConfiguration: MixerRegistration {
    static let modelType = "gated_deltanet"
    static let isFLAModelType = true
    func makeMixer<T: LRNNScalar>(_ x: MixerContext) -> any TokenMixer<T> {
        GatedDeltaMixer<T>(self, hiddenSize: x.hiddenSize, normEps: x.normEps)
    }
}

extension GatedDeltaProductConfiguration: MixerRegistration {
    static let modelType = "gated_deltaproduct"
    static let isFLAModelType = true
    func makeMixer<T: LRNNScalar>(_ x: MixerContext) -> any TokenMixer<T> {
        GatedDeltaMixer<T>(self, hiddenSize: x.hiddenSize, normEps: x.normEps)
    }
}

extension GLAConfiguration: MixerRegistration {
    static let modelType = "gla"
    static let isFLAModelType = true
    func makeMixer<T: LRNNScalar>(_ x: MixerContext) -> any TokenMixer<T> {
        GLAMixer<T>(self, hiddenSize: x.hiddenSize, normEps: x.normEps, fuseNorm: x.fuseNorm)
    }
}

extension S4DConfiguration: MixerRegistration {
    static let modelType = "s4d"
    static let isFLAModelType = false
    func makeMixer<T: LRNNScalar>(_ x: MixerContext) -> any TokenMixer<T> {
        S4DMixer<T>(self, hiddenSize: x.hiddenSize)
    }
}

extension AttentionConfiguration: MixerRegistration {
    static let modelType = "attn"
    static let isFLAModelType = false
    func validate(hiddenSize: Int) throws(ConfigurationIssue) { try validateLayer(hiddenSize: hiddenSize) }
    func makeMixer<T: LRNNScalar>(_ x: MixerContext) -> any TokenMixer<T> {
        AttentionMixer<T>(self, hiddenSize: x.hiddenSize)
    }
}

extension PLSTM1DConfiguration: MixerRegistration {
    static let modelType = "plstm_1d"
    static let isFLAModelType = false
    func makeMixer<T: LRNNScalar>(_ x: MixerContext) -> any TokenMixer<T> {
        PLSTM1DMixer<T>(self, hiddenSize: x.hiddenSize)
    }
}

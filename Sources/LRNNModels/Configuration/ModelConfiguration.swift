import Foundation
import LRNNLinearAlgebra

/// Which token mixer a block uses, with its configuration.
public enum MixerConfiguration: Sendable, Equatable {
    /// DeltaNet (`delta_net`).
    case deltaNet(DeltaNetConfiguration)
    /// Gated DeltaNet (`gated_deltanet`).
    case gatedDeltaNet(GatedDeltaNetConfiguration)
    /// Gated DeltaProduct (`gated_deltaproduct`).
    case gatedDeltaProduct(GatedDeltaProductConfiguration)
    /// Gated Linear Attention (`gla`).
    case gla(GLAConfiguration)
    /// An S4D block (S4D convolution, GELU, GLU output projection); not an fla model type.
    case s4d(S4DConfiguration)
    /// A ParaRNN block (ParaGRU or ParaLSTM, solved by Newton's method, then `o_proj`); not an fla model type.
    case paraRNN(ParaRNNConfiguration)
    /// Softmax attention with rotary embedding (fla's `Attention` layer, the layers an `attn`
    /// configuration names); its `layers` field is not used here.
    case attention(AttentionConfiguration)
    /// A pLSTM 1-D mixer (source, transition, mark and direct gates); not an fla model type.
    case pLSTM1D(PLSTM1DConfiguration)

    /// The mixer's registration: the one place a mixer type is listed (with
    /// ``flaModelTypes`` for an fla model type). Everything else dispatches through it.
    var registration: any MixerRegistration {
        switch self {
        case let .deltaNet(c): c
        case let .gatedDeltaNet(c): c
        case let .gatedDeltaProduct(c): c
        case let .gla(c): c
        case let .s4d(c): c
        case let .paraRNN(c): c
        case let .attention(c): c
        case let .pLSTM1D(c): c
        }
    }

    /// The fla model types this engine loads, each with the decoder of its mixer fields.
    static let flaModelTypes: [String: @Sendable (JSONDecoder, Data) throws -> MixerConfiguration] = [
        DeltaNetConfiguration.modelType: { .deltaNet(try $0.decode(DeltaNetConfiguration.self, from: $1)) },
        GatedDeltaNetConfiguration.modelType: {
            .gatedDeltaNet(try $0.decode(GatedDeltaNetConfiguration.self, from: $1))
        },
        GatedDeltaProductConfiguration.modelType: {
            .gatedDeltaProduct(try $0.decode(GatedDeltaProductConfiguration.self, from: $1))
        },
        GLAConfiguration.modelType: { .gla(try $0.decode(GLAConfiguration.self, from: $1)) },
    ]

    /// fla's `model_type` for a model made of this mixer (`s4d` and `attn` for the two mixers fla
    /// has no model class for).
    public var modelType: String { type(of: registration).modelType }

    /// Refuses unsupported or impossible values of the mixer's fields.
    /// - Parameter hiddenSize: the model width.
    /// - Throws: ``ConfigurationIssue`` naming the field.
    public func validate(hiddenSize: Int) throws(ConfigurationIssue) {
        try registration.validate(hiddenSize: hiddenSize)
    }
}

/// A whole fla `config.json`: the shared language-model fields and the token mixer of every layer.
public struct ModelConfiguration: Sendable, Equatable {
    /// The model types this engine loads.
    public static let supportedModelTypes = MixerConfiguration.flaModelTypes.keys.sorted()

    /// The shared fields (embedding, MLP, norms, head, special tokens).
    public var model: LanguageModelConfiguration
    /// The model type's own token mixer, used by every layer that `attn` does not name.
    public var mixer: MixerConfiguration

    /// The token mixer of layer `index`: softmax attention when `attn` names the layer, else `mixer`.
    ///
    /// - Parameter index: the layer index.
    public func mixer(forLayer index: Int) -> MixerConfiguration {
        model.attentionLayer(index).map { .attention($0) } ?? mixer
    }

    /// Creates a configuration from its parts.
    public init(model: LanguageModelConfiguration, mixer: MixerConfiguration) {
        self.model = model
        self.mixer = mixer
    }

    /// Parses and validates `config.json` bytes; `file` names the file in errors.
    ///
    /// - Throws: ``ModelLoadError/malformedJSON(file:reason:)`` when the JSON does not parse or a
    ///   field has the wrong type, ``ModelLoadError/unsupportedModelType(file:modelType:)``,
    ///   ``ModelLoadError/unsupportedConfiguration(file:field:value:reason:)`` and
    ///   ``ModelLoadError/invalidConfiguration(file:field:reason:)``.
    public static func parse(_ data: Data, file: String) throws(ModelLoadError) -> ModelConfiguration {
        let decoder = JSONDecoder()
        do {
            let object = try JSONSerialization.jsonObject(with: data, options: [])
            guard object is [String: Any] else {
                throw ModelLoadError.malformedJSON(file: file, reason: "top level is not an object")
            }
        } catch let e as ModelLoadError {
            throw e
        } catch {
            throw .malformedJSON(file: file, reason: error.localizedDescription)
        }
        // JSON parsers keep one of two equal keys silently; transformers' Python keeps the last.
        if let duplicate = JSONDuplicateKey.first(in: data) {
            throw .malformedJSON(file: file, reason: "key \(duplicate.location) appears twice")
        }
        let model: LanguageModelConfiguration
        let mixer: MixerConfiguration
        do {
            model = try decoder.decode(LanguageModelConfiguration.self, from: data)
            guard let decodeMixer = MixerConfiguration.flaModelTypes[model.modelType] else {
                throw ModelLoadError.unsupportedModelType(
                    file: file, modelType: model.modelType.isEmpty ? "<missing>" : model.modelType)
            }
            mixer = try decodeMixer(decoder, data)
        } catch let e as ModelLoadError {
            throw e
        } catch let e as ConfigurationIssue {
            throw .unsupportedConfiguration(file: file, field: e.field, value: e.value, reason: e.reason)
        } catch let e as DecodingError {
            throw .malformedJSON(file: file, reason: describe(e))
        } catch {
            throw .malformedJSON(file: file, reason: "\(error)")
        }
        let config = ModelConfiguration(model: model, mixer: mixer)
        do {
            try config.validate()
        } catch {
            switch error.kind {
            case .unsupported:
                throw .unsupportedConfiguration(
                    file: file, field: error.field, value: error.value, reason: error.reason)
            case .invalid:
                throw .invalidConfiguration(file: file, field: error.field, reason: "\(error.value): \(error.reason)")
            }
        }
        return config
    }

    /// Reads and parses `config.json` at `path`.
    /// - Throws: ``ModelLoadError/fileNotFound(path:)`` and the errors of ``parse(_:file:)``.
    public static func load(path: String) throws(ModelLoadError) -> ModelConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else { throw .fileNotFound(path: path) }
        return try parse(data, file: path)
    }

    /// Validates the shared and mixer fields.
    /// - Throws: ``ConfigurationIssue`` naming the field.
    public func validate() throws(ConfigurationIssue) {
        try model.validate()
        try mixer.validate(hiddenSize: model.hiddenSize)
    }

    private static func describe(_ e: DecodingError) -> String {
        func path(_ c: [CodingKey]) -> String {
            c.isEmpty
                ? "top level"
                : "field '"
                    + c.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
                    .joined(separator: ".") + "'"
        }
        switch e {
        case let .typeMismatch(t, ctx): return "\(path(ctx.codingPath)): expected \(t)"
        case let .valueNotFound(t, ctx): return "\(path(ctx.codingPath)): expected \(t), found null"
        case let .keyNotFound(k, ctx): return "\(path(ctx.codingPath + [k])): missing"
        case let .dataCorrupted(ctx): return "\(path(ctx.codingPath)): \(ctx.debugDescription)"
        @unknown default: return "\(e)"
        }
    }
}

import Foundation
import LRNNLinearAlgebra

/// One block of a model assembled in code: its token mixer and whether it has an MLP.
public struct BlockSpecification: Sendable, Equatable {
    /// The token mixer.
    public var mixer: MixerConfiguration
    /// Whether the block ends with `mlp_norm` and the SwiGLU MLP.
    public var hasMLP: Bool

    /// Creates a block specification.
    ///
    /// - Parameters:
    ///   - mixer: the token mixer.
    ///   - hasMLP: whether the block ends with `mlp_norm` and the SwiGLU MLP.
    public init(mixer: MixerConfiguration, hasMLP: Bool = true) {
        self.mixer = mixer
        self.hasMLP = hasMLP
    }
}

extension CausalLM {
    /// Builds the model and walks its parameter tree once, taking every parameter from `store`
    /// under the key the walk derives (checkpoint, given tensors or a seeded initialisation).
    static func assemble(
        _ config: LanguageModelConfiguration, blocks: [BlockSpecification], store: ParameterStore<T>,
        generation: GenerationConfiguration = GenerationConfiguration()
    ) throws(ModelLoadError) -> CausalLM<T> {
        var model = CausalLM(configuration: config, blocks: blocks, generation: generation)
        var walk = ParameterWalk<T>(mode: .supply(store))
        try model.walkParameters(&walk)
        model.parametersDidChange()
        return model
    }

    /// Loads an fla model directory: `config.json` and `model.safetensors` (or the shards of
    /// `model.safetensors.index.json`), weights converted from F32/F16/BF16/F64 to `T`, and
    /// `generation_config.json` when present (``GenerationConfiguration``: its `eos_token_id`
    /// ends generation, its sampling fields are ``defaultGenerationOptions``).
    ///
    /// The whole mapping is verified: every key the configuration implies must be present with
    /// its shape, and no other key may be stored (a stored `lm_head.weight` is allowed, checked
    /// and ignored when the embeddings are tied).
    ///
    /// - Parameter directory: the model directory.
    /// - Throws: ``ModelLoadError`` — `directoryNotFound`, `fileNotFound`, `malformedJSON`,
    ///   `unsupportedModelType`, `unsupportedConfiguration`, `invalidConfiguration` (also for a
    ///   `num_hidden_layers` above the checkpoint's layers), `checkpoint`,
    ///   `shardIndexMismatch`, `missingKeys`, `shapeMismatch`, `unexpectedKeys`, `badDType` —
    ///   naming the file and listing the keys and shapes involved.
    public static func load(directory: String) throws(ModelLoadError) -> CausalLM<T> {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDir), isDir.boolValue else {
            throw .directoryNotFound(path: directory)
        }
        let config = try ModelConfiguration.load(path: (directory as NSString).appendingPathComponent("config.json"))
        let generation = try GenerationConfiguration.load(directory: directory)
        for e in generation.eosTokenIds ?? [] where e < 0 || e >= config.model.vocabSize {
            throw .invalidConfiguration(
                file: (directory as NSString).appendingPathComponent("generation_config.json"), field: "eos_token_id",
                reason: "\(e): outside the vocabulary 0..<\(config.model.vocabSize)")
        }
        let checkpoint = try CheckpointTensors.open(directory: directory)
        // A layer count beyond the checkpoint's layers is refused before anything is built for
        // it (a huge num_hidden_layers would otherwise be allocated first and reported after).
        let layerIndices = Set(
            checkpoint.entries.keys.compactMap { key -> Int? in
                guard key.hasPrefix("model.layers.") else { return nil }
                return Int(key.dropFirst("model.layers.".count).prefix { $0 != "." })
            })
        if config.model.numHiddenLayers > layerIndices.count {
            let shown = layerIndices.sorted().prefix(8).map(String.init).joined(separator: ", ")
            throw .invalidConfiguration(
                file: (directory as NSString).appendingPathComponent("config.json"), field: "num_hidden_layers",
                reason: "\(config.model.numHiddenLayers), but \(checkpoint.displayName) holds the keys of "
                    + (layerIndices.isEmpty
                        ? "no layer"
                        : "\(layerIndices.count) layer(s) (\(shown)\(layerIndices.count > 8 ? ", …" : ""))"))
        }
        let store = ParameterStore<T>(checkpoint: checkpoint)
        let blocks = (0..<config.model.numHiddenLayers).map { BlockSpecification(mixer: config.mixer(forLayer: $0)) }
        let model = try assemble(config.model, blocks: blocks, store: store, generation: generation)
        try store.finish()
        return model
    }
}

/// Assembles a model in code from chosen token mixers, with seeded random weights.
///
/// ```swift
/// var builder = ModelBuilder(vocabSize: 256, hiddenSize: 64)
/// builder.append(.gatedDeltaNet(GatedDeltaNetConfiguration(numHeads: 2, headDim: 32)))
/// builder.append(.gla(GLAConfiguration(numHeads: 2)))
/// let model: CausalLM<Float> = try builder.build(seed: 7)
/// ```
///
/// Parameters take fla's key names (block i's mixer under `model.layers.{i}.attn.`, derived by
/// the parameter walk), so a composed model has the same structure a checkpoint of it would have.
public struct ModelBuilder: Sendable {
    /// The shared configuration (vocabulary, width, MLP width, norm ε, special tokens).
    public var configuration: LanguageModelConfiguration
    /// The blocks, in order.
    public var blocks: [BlockSpecification] = []
    /// The standard deviation of random linear and embedding weights (fla's `initializer_range`, 0.02).
    public var initializerRange: Double = 0.02

    /// Starts an empty stack.
    /// - Parameters:
    ///   - vocabSize: the number of token ids.
    ///   - hiddenSize: the model width.
    ///   - intermediateSize: the MLP width (nil: fla's rule from `hidden_ratio` 4).
    ///   - normEps: ε of every RMSNorm.
    ///   - tieWordEmbeddings: whether the head reuses the embedding matrix.
    ///   - eosTokenIds: the ids that end generation.
    public init(
        vocabSize: Int, hiddenSize: Int, intermediateSize: Int? = nil, normEps: Double = 1e-6,
        tieWordEmbeddings: Bool = false, eosTokenIds: [Int] = []
    ) {
        configuration = LanguageModelConfiguration(
            vocabSize: vocabSize, hiddenSize: hiddenSize, numHiddenLayers: 0, intermediateSize: intermediateSize,
            normEps: normEps, tieWordEmbeddings: tieWordEmbeddings, eosTokenIds: eosTokenIds)
    }

    /// Appends a block with the given token mixer (and, by default, an MLP).
    ///
    /// - Parameters:
    ///   - mixer: the block's token mixer.
    ///   - mlp: whether the block has an RMSNorm and SwiGLU MLP after the mixer.
    public mutating func append(_ mixer: MixerConfiguration, mlp: Bool = true) {
        blocks.append(BlockSpecification(mixer: mixer, hasMLP: mlp))
        configuration.numHiddenLayers = blocks.count
    }

    /// Builds the model with weights drawn from `seed` (linear and embedding weights
    /// N(0, ``initializerRange``²), norms 1, convolutions U(±1/√W), decay parameters as fla
    /// initialises them).
    /// - Parameters:
    ///   - type: the run precision, `Float` or `Double`.
    ///   - seed: the seed of every random weight.
    /// - Throws: ``ModelError/invalidConfiguration(field:reason:)`` for an impossible or
    ///   unsupported configuration.
    public func build<T: LRNNScalar>(as type: T.Type = T.self, seed: UInt64) throws(ModelError) -> CausalLM<T> {
        do {
            try configuration.validate()
            for b in blocks { try b.mixer.validate(hiddenSize: configuration.hiddenSize) }
        } catch {
            throw .invalidConfiguration(field: error.field, reason: "\(error.value): \(error.reason)")
        }
        guard !blocks.isEmpty else { throw .invalidConfiguration(field: "blocks", reason: "no blocks appended") }
        do {
            return try CausalLM<T>.assemble(
                configuration, blocks: blocks, store: ParameterStore(seed: seed, initializerRange: initializerRange))
        } catch {
            // A seeded store draws every parameter and records no problem: nothing to report.
            preconditionFailure("ModelBuilder: a random initialisation reported a checkpoint problem: \(error)")
        }
    }
}

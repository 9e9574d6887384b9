import LRNNLinearAlgebra

extension CausalLM {
    /// Every parameter keyed by its checkpoint name: exactly the keys of the `model.safetensors`
    /// that ``write(to:dtype:)`` writes for this configuration (with tied embeddings the matrix
    /// appears once, as `model.embeddings.weight`, and there is no `lm_head.weight`).
    ///
    /// The tensors share storage with the layers (copy on write): reading them copies nothing.
    /// They are the ones the assembly walk handed to the layers (``namedParameters``), so loading,
    /// random initialisation, ``updating(parameters:)`` and checkpoint writing see one tree.
    ///
    /// - Returns: `[key: tensor]`, each tensor of the shape the configuration implies
    ///   (e.g. `model.layers.0.attn.q_proj.weight` `[key_dim, hidden]`).
    public func parameters() -> [String: Tensor<T>] {
        Dictionary(namedParameters.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
    }

    /// A model with this configuration (mixers, blocks, generation defaults) and the given
    /// parameters, assembled by the same walk that loads a checkpoint, with the same checks.
    ///
    /// With tied embeddings an `lm_head.weight` entry is accepted, shape-checked and not used,
    /// as a stored one is when loading.
    ///
    /// - Parameter parameters: one tensor per key of ``parameters()``, of the same shape.
    /// - Returns: the new model; this one is unchanged.
    /// - Throws: ``ModelLoadError/missingKeys(file:keys:)`` (file `parameters`) naming each absent
    ///   key with its expected shape, ``ModelLoadError/shapeMismatch(file:mismatches:)``,
    ///   ``ModelLoadError/unexpectedKeys(file:keys:)`` for keys the configuration does not use,
    ///   ``ModelLoadError/nonFiniteWeights(file:keys:)`` for tensors holding NaN or ±∞ — in that
    ///   order of precedence, each listing every key of its kind.
    public func updating(parameters: [String: Tensor<T>]) throws(ModelLoadError) -> CausalLM<T> {
        let store = ParameterStore<T>(parameters: parameters)
        let blocks = zip(mixers, layers).map { BlockSpecification(mixer: $0, hasMLP: $1.mlp != nil) }
        let model = try Self.assemble(configuration, blocks: blocks, store: store, generation: generationConfiguration)
        try store.finish()
        return model
    }
}

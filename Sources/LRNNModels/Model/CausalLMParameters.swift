import LRNNLinearAlgebra

extension CausalLM {
    /// Every parameter keyed by its checkpoint name: exactly the keys of the `model.safetensors`
    /// that ``write(to:dtype:)`` writes for this configuration (with tied embeddings the matrix
    /// appears once, as `model.embeddings.weight`, and there is no `lm_head.weight`).
    ///
    /// One reading walk over the parameter tree (``ParameterContainer``); the tensors share
    /// storage with the layers (copy on write), so reading them copies nothing. mlx-swift's
    /// `Module.parameters()` flattened, fla's `state_dict()` keys.
    ///
    /// - Returns: `[key: tensor]`, each tensor of the shape the configuration implies
    ///   (e.g. `model.layers.0.attn.q_proj.weight` `[key_dim, hidden]`).
    public func parameters() -> [String: Tensor<T>] {
        Dictionary(namedParameterList().map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
    }

    /// Replaces parameter values in place, after checking every given tensor against the tree:
    /// nothing is written when a check fails.
    ///
    /// Shapes are always checked; `verify` chooses the other checks. With tied embeddings an
    /// `lm_head.weight` entry is accepted, shape-checked and not used, as a stored one is when
    /// loading. Derived state (convolution taps, S4D's discretisation) is recomputed. mlx-swift's
    /// `Module.update(parameters:verify:)` is the analogue.
    ///
    /// - Parameters:
    ///   - given: tensors by checkpoint key (``parameters()``'s keys), each of its parameter's
    ///     shape; a key left out keeps its value when `verify` lacks
    ///     ``ParameterVerification/noMissingKeys``.
    ///   - verify: the checks besides shapes (default: all of them).
    /// - Throws: ``ModelLoadError/missingKeys(file:keys:)`` (file `parameters`) naming each absent
    ///   key with its expected shape, ``ModelLoadError/shapeMismatch(file:mismatches:)``,
    ///   ``ModelLoadError/unexpectedKeys(file:keys:)`` for keys the configuration does not use,
    ///   ``ModelLoadError/nonFiniteWeights(file:keys:)`` for tensors holding NaN or ±∞ — in that
    ///   order of precedence, each listing every key of its kind (missing, mismatched and
    ///   non-finite keys in walk order, unexpected keys sorted); then
    ///   ``ModelLoadError/invalidParameterValue(file:key:reason:)`` for a value outside a layer's
    ///   domain (an S4D `A_re` > 0, an overflowing `log_dt`).
    public mutating func update(
        parameters given: [String: Tensor<T>], verify: ParameterVerification = .all
    ) throws(ModelLoadError) {
        let file = "parameters"
        var reader = self
        var walk = ParameterWalk<T>(mode: .collect)
        try reader.walkParameters(&walk)
        let expected = walk.collected.map { KeyShape($0.key, $0.value.shape) } + walk.ignored
        let ignored = Set(walk.ignored.map(\.key))
        if verify.contains(.noMissingKeys) {
            let missing = expected.filter { given[$0.key] == nil && !ignored.contains($0.key) }
            if !missing.isEmpty { throw .missingKeys(file: file, keys: missing) }
        }
        let mismatches = expected.compactMap { e -> KeyShapeMismatch? in
            guard let t = given[e.key], t.shape != e.shape else { return nil }
            return KeyShapeMismatch(key: e.key, shape: t.shape, expected: e.shape)
        }
        if !mismatches.isEmpty { throw .shapeMismatch(file: file, mismatches: mismatches) }
        if verify.contains(.noUnexpectedKeys) {
            let known = Set(expected.map(\.key))
            let unexpected = given.keys.filter { !known.contains($0) }.sorted()
            if !unexpected.isEmpty {
                throw .unexpectedKeys(file: file, keys: unexpected.map { KeyShape($0, given[$0]!.shape) })
            }
        }
        if verify.contains(.finiteValues) {
            let nonFinite = expected.compactMap { e -> String? in
                guard let t = given[e.key], NonFiniteScan.scan(t).nonFinite else { return nil }
                return e.key
            }
            if !nonFinite.isEmpty { throw .nonFiniteWeights(file: file, keys: nonFinite) }
        }
        // Into a copy (the tensors are replaced, not copied), so that a layer's own domain check
        // during the walk (S4D's) leaves this model unchanged when it throws.
        var updated = self
        var assign = ParameterWalk<T>(mode: .assign(given))
        try updated.walkParameters(&assign)
        updated.parametersDidChange()
        self = updated
    }

    /// A copy of this model with the given parameters (``update(parameters:verify:)`` with every
    /// check); this model is unchanged.
    ///
    /// - Parameter parameters: one tensor per key of ``parameters()``, of the same shape.
    /// - Returns: the new model.
    /// - Throws: as ``update(parameters:verify:)``.
    public func updating(parameters: [String: Tensor<T>]) throws(ModelLoadError) -> CausalLM<T> {
        var copy = self
        try copy.update(parameters: parameters, verify: .all)
        return copy
    }

    /// Applies `body` to every parameter in place, in walk order, with its checkpoint key (the
    /// optimiser's update: no parameter is copied when the model holds the only reference).
    /// Derived state is recomputed afterwards. mlx-swift's `Module.apply(filter:map:)` in place.
    ///
    /// - Parameter body: called once per parameter with its key and tensor, which it changes in
    ///   place keeping the shape.
    /// - Precondition: `body` keeps every tensor's shape.
    public mutating func modifyParameters(_ body: (_ key: String, _ value: inout Tensor<T>) -> Void) {
        withoutActuallyEscaping(body) { body in
            var walk = ParameterWalk<T>(mode: .modify(body))
            do { try walkParameters(&walk) } catch {
                preconditionFailure("CausalLM: a modifying walk threw \(error)")
            }
        }
        parametersDidChange()
    }
}

/// A configuration field whose value is one of a fixed set of spellings: a `String`-backed enum
/// whose raw values are the spellings of fla's `config.json`.
///
/// Decoding through `KeyedDecodingContainer.updateChoice(_:_:)` refuses any other
/// spelling with a ``ConfigurationIssue`` naming the field and the accepted spellings, which
/// ``ModelConfiguration/parse(_:file:)`` reports as
/// ``ModelLoadError/unsupportedConfiguration(file:field:value:reason:)``.
public protocol ConfigurationChoice: RawRepresentable, CaseIterable, Codable, Sendable, Equatable
where RawValue == String {}

extension ConfigurationChoice {
    /// The accepted spellings, as `a, b or c`.
    static var spellings: String {
        let all = allCases.map(\.rawValue)
        return all.count < 2 ? all.joined() : all.dropLast().joined(separator: ", ") + " or " + all.last!
    }
}

/// fla's `attn_mode`: which of its kernels a layer calls. All of them compute the same function,
/// so this engine reads the field only to refuse a mode the layer does not have.
public enum AttentionMode: String, ConfigurationChoice {
    /// `chunk`: the chunked parallel form.
    case chunk
    /// `fused_recurrent`: the token-by-token recurrence.
    case fusedRecurrent = "fused_recurrent"
    /// `fused_chunk`: GLA's fused chunked kernel.
    case fusedChunk = "fused_chunk"
}

/// DeltaNet's `qk_activation`: the feature map applied to q and k after the short convolution.
public enum QKActivation: String, ConfigurationChoice {
    /// `silu` (fla's default; fused into the short convolution).
    case silu
    /// `relu`.
    case relu
    /// `elu`: fla's `elu_p1`, `elu(x) + 1`.
    case elu
    /// `identity`.
    case identity

    /// The pointwise function.
    public var activation: Activation {
        switch self {
        case .silu: .silu
        case .relu: .relu
        case .elu: .eluPlusOne
        case .identity: .identity
        }
    }
}

/// DeltaNet's `qk_norm`: how q and k are normalised per head.
public enum QKNorm: String, ConfigurationChoice {
    /// `l2`: divided by their L2 norm (fla's `l2_norm`).
    case l2
    /// `sum`: divided by their sum (fla's `sum_norm`).
    case sum
}

/// Gated DeltaNet's `output_gate_activation`: the gate of the gated output RMSNorm.
public enum OutputGateActivation: String, ConfigurationChoice {
    /// `swish` (fla's default), the same function as `silu`.
    case swish
    /// `silu`.
    case silu
    /// `sigmoid`.
    case sigmoid

    /// The pointwise function.
    public var activation: Activation { self == .sigmoid ? .sigmoid : .silu }
}

/// GLA's `feature_map`: the function applied to q and k (null in the file: none).
public enum GLAFeatureMap: String, ConfigurationChoice {
    /// `relu`.
    case relu
    /// `silu`.
    case silu
    /// `swish`, the same function as `silu`.
    case swish
    /// `sigmoid`.
    case sigmoid
    /// `tanh`.
    case tanh
    /// `gelu` (exact form).
    case gelu

    /// The pointwise function.
    public var activation: Activation {
        switch self {
        case .relu: .relu
        case .silu, .swish: .silu
        case .sigmoid: .sigmoid
        case .tanh: .tanh
        case .gelu: .gelu
        }
    }
}

/// `hidden_act`: the activation of the gated MLP. Only SwiGLU is implemented.
public enum HiddenActivation: String, ConfigurationChoice {
    /// `swish` (fla's default).
    case swish
    /// `silu`, the same function.
    case silu
}

extension KeyedDecodingContainer {
    /// Overwrites `value` with the field `key` when it is present and not null; an absent or null
    /// field keeps the default already in `value`.
    ///
    /// - Throws: `DecodingError` for a value of the wrong type.
    func update<V: Decodable>(_ value: inout V, _ key: Key) throws {
        if let v = try decodeIfPresent(V.self, forKey: key) { value = v }
    }

    /// Overwrites `choice` with the field `key` when it is present and not null.
    ///
    /// - Throws: ``ConfigurationIssue`` (unsupported) naming the field when the spelling is not
    ///   one of the choice's; `DecodingError` when the value is not a string.
    func updateChoice<C: ConfigurationChoice>(_ choice: inout C, _ key: Key) throws {
        guard let s = try decodeIfPresent(String.self, forKey: key) else { return }
        guard let c = C(rawValue: s) else {
            throw ConfigurationIssue.unsupported(key.stringValue, s, "expected \(C.spellings)")
        }
        choice = c
    }

    /// Overwrites an optional `choice` with the field `key`; a null or absent field gives nil.
    ///
    /// - Throws: as ``updateChoice(_:_:)``.
    func updateChoice<C: ConfigurationChoice>(_ choice: inout C?, _ key: Key) throws {
        guard let s = try decodeIfPresent(String.self, forKey: key) else {
            choice = nil
            return
        }
        guard let c = C(rawValue: s) else {
            throw ConfigurationIssue.unsupported(key.stringValue, s, "expected null, \(C.spellings)")
        }
        choice = c
    }
}

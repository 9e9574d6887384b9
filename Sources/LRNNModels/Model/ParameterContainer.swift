import LRNNLinearAlgebra

/// A node of a model's parameter tree: a layer, a token mixer, a block or the whole model.
///
/// A container names each of its own parameters and each of its children once, by the
/// component of the fla checkpoint key it stands for (`weight`, `q_proj`, `attn`, `layers.0`),
/// in ``walkParameters(_:)``. One generic walk (``ParameterWalk``) joins the components into
/// full checkpoint keys (`model.layers.0.attn.q_proj.weight`), so that loading and its
/// verification, random initialisation, ``CausalLM/parameters()``,
/// ``CausalLM/update(parameters:verify:)``, checkpoint writing, the optimiser's in-place update
/// (``CausalLM/modifyParameters(_:)``) and the gradients all see the same keys — no constructor or caller concatenates key strings.
///
/// The analogue of mlx-swift's `Module` with its `parameters()` / `update(parameters:verify:)`,
/// on value types: a container is a struct whose parameter tensors the walk reads or replaces
/// in place (copy on write keeps other copies of the model unchanged).
public protocol ParameterContainer<Scalar> {
    /// The precision of the parameters.
    associatedtype Scalar: LRNNScalar

    /// Visits every parameter and child of this container, in a fixed order, through `walk`:
    /// `walk.parameter(_:_:shape:initializer:)` for an own tensor (with the shape its
    /// configuration implies and how a model built in code initialises it) and
    /// `walk.child(_:_:)` for a child container. The walk may read or replace each tensor.
    ///
    /// The order is also the order in which a seeded initialisation draws the tensors, so it is
    /// part of the container's contract: changing it changes every model built from a seed.
    ///
    /// - Parameter walk: the walk; its current key prefix is this container's key.
    /// - Throws: ``ModelLoadError`` from the walk (a loading walk that meets more missing or
    ///   misshapen keys than the checkpoint itself could fill).
    mutating func walkParameters(_ walk: inout ParameterWalk<Scalar>) throws(ModelLoadError)

    /// Recomputes whatever the container derives from its parameters (a transposed copy of a
    /// convolution kernel, a discretised recurrence) after a walk has replaced them. The
    /// default does nothing.
    mutating func parametersDidChange()
}

extension ParameterContainer {
    /// Nothing derived: the default.
    public mutating func parametersDidChange() {}

    /// Every parameter under its checkpoint key relative to this container (`weight`,
    /// `q_proj.weight`, …), in walk order. The tensors share storage with the container.
    /// PyTorch's `named_parameters()`, mlx-swift's `parameters().flattened()`.
    ///
    /// - Returns: `(key, tensor)` pairs, one per parameter.
    public func namedParameterList() -> [(key: String, value: Tensor<Scalar>)] {
        var copy = self
        var walk = ParameterWalk<Scalar>(mode: .collect)
        do { try copy.walkParameters(&walk) } catch {
            preconditionFailure("ParameterContainer: a reading walk threw \(error)")
        }
        return walk.collected
    }
}

/// How a parameter of a model built in code is initialised (fla's `_init_weights` schemes,
/// simplified), declared beside the parameter in ``ParameterContainer/walkParameters(_:)``.
public enum ParameterInitializer: Sendable, Equatable {
    /// Normal with mean 0 and the given standard deviation.
    case normal(std: Double)
    /// Normal with mean 0 and the model's initializer range as standard deviation (fla's
    /// `initializer_range`, 0.02: linear and embedding weights).
    case normalInitializerRange
    /// All zeros (biases).
    case zeros
    /// All ones (norm weights).
    case ones
    /// Uniform in `[−bound, bound]` (convolution weights: 1/√W).
    case uniform(bound: Double)
    /// `A_log = log A` with A uniform in [1, 16] (Gated DeltaNet's decay rates).
    case logDecayRate
    /// `dt_bias = softplus⁻¹(dt)` with dt log-uniform in [0.001, 0.1].
    case inverseSoftplusTimeStep
}

/// One walk over a parameter tree (``ParameterContainer``): it carries the key prefix of the
/// container being visited and does one thing to every parameter it meets — supply it while a
/// model is assembled (from a checkpoint, from given tensors, or from a seeded initialisation),
/// read it, replace it with a given tensor, or modify it in place.
///
/// Containers only call ``parameter(_:_:shape:initializer:)``, ``parameter(_:_:shape:make:)``,
/// ``child(_:_:)`` and ``ignoredParameter(_:shape:)``; the walks themselves are started by the
/// model (``CausalLM/parameters()``, ``CausalLM/update(parameters:verify:)``,
/// ``CausalLM/modifyParameters(_:)``, loading). Keys are joined with dots, as PyTorch's
/// `state_dict()` and mlx-swift's flattened parameter dictionaries join them.
public struct ParameterWalk<T: LRNNScalar> {
    /// What the walk does to each parameter.
    enum Mode {
        /// Assembling: the store supplies every value (and records problems).
        case supply(ParameterStore<T>)
        /// Reading: every `(key, value)` is appended to ``collected``.
        case collect
        /// Replacing: the tensor of each key present here replaces the parameter (already verified).
        case assign([String: Tensor<T>])
        /// Modifying every parameter in place.
        case modify((String, inout Tensor<T>) -> Void)
    }

    let mode: Mode
    /// The key of the container being visited, with a trailing dot (empty at the root).
    private(set) var prefix = ""
    /// The parameters read by a collecting walk, in walk order.
    private(set) var collected: [(key: String, value: Tensor<T>)] = []
    /// Keys a checkpoint may hold besides the parameters (a tied head's stored copy), with the
    /// shape they must have, in walk order (collecting walks only).
    private(set) var ignored: [KeyShape] = []

    init(mode: Mode) {
        self.mode = mode
    }

    /// Whether this walk replaces parameter values (so containers refresh derived state).
    var changesValues: Bool {
        if case .collect = mode { return false }
        return true
    }

    /// A seed for a container with its own seeded initialisation (S4D's), drawn from the seeded
    /// store; nil when the walk does not draw random parameters.
    ///
    /// - Returns: the next seed of a random initialisation, or nil.
    public mutating func seedForInitialization() -> UInt64? {
        guard case let .supply(store) = mode, store.isRandom else { return nil }
        return store.nextSeed()
    }

    /// Visits the parameter `name` of the current container.
    ///
    /// - Parameters:
    ///   - name: the key component (`weight`, `A_log`).
    ///   - value: the stored tensor, read or replaced.
    ///   - shape: the shape the configuration implies.
    ///   - initializer: how a model built in code draws it.
    /// - Throws: ``ModelLoadError`` when a loading walk meets more missing or misshapen keys than
    ///   the checkpoint could fill (every problem recorded so far).
    public mutating func parameter(
        _ name: String, _ value: inout Tensor<T>, shape: [Int], initializer: ParameterInitializer
    ) throws(ModelLoadError) {
        let key = prefix + name
        switch mode {
        case let .supply(store): value = try store.tensor(key, shape, initializer)
        case .collect: collected.append((key, value))
        case let .assign(given): if let t = given[key] { value = t }
        case let .modify(body):
            let before = value.shape
            body(key, &value)
            // A programmer error (the closure must keep every shape): later reads would go out of bounds.
            precondition(
                value.shape == before, "modifyParameters: \(key) changed shape from \(before) to \(value.shape)")
        }
    }

    /// Visits the parameter `name` whose random initialisation `make` computes (components with
    /// their own initialisation, like S4D's); `make` runs only when a model is built from a seed.
    ///
    /// - Parameters:
    ///   - name: the key component.
    ///   - value: the stored tensor, read or replaced.
    ///   - shape: the shape the configuration implies.
    ///   - make: the random initial value, of `shape`.
    /// - Throws: as ``parameter(_:_:shape:initializer:)``.
    public mutating func parameter(
        _ name: String, _ value: inout Tensor<T>, shape: [Int], make: () -> Tensor<T>
    ) throws(ModelLoadError) {
        if case let .supply(store) = mode {
            value = try store.tensor(prefix + name, shape, make: make)
        } else {
            try parameter(name, &value, shape: shape, initializer: .zeros)
        }
    }

    /// A key a checkpoint may hold without it being a parameter (fla writes `lm_head.weight`
    /// even when it is tied to the embeddings): checked for its shape when present, never used.
    ///
    /// - Parameters:
    ///   - name: the key component.
    ///   - shape: the shape it must have when present.
    /// - Throws: as ``parameter(_:_:shape:initializer:)``.
    public mutating func ignoredParameter(_ name: String, shape: [Int]) throws(ModelLoadError) {
        switch mode {
        case let .supply(store): _ = try store.optionalTensor(prefix + name, shape)
        case .collect: ignored.append(KeyShape(prefix + name, shape))
        case .assign, .modify: break
        }
    }

    /// Visits the child container `name` (its keys are `name.…`), then lets it refresh what it
    /// derives from its parameters when the walk changed them.
    ///
    /// - Parameters:
    ///   - name: the child's key component (`q_proj`, `attn`, `layers.0`).
    ///   - child: the child, read or updated in place.
    /// - Throws: as ``parameter(_:_:shape:initializer:)``.
    public mutating func child<C: ParameterContainer>(_ name: String, _ child: inout C) throws(ModelLoadError)
    where C.Scalar == T {
        let saved = prefix
        prefix += name + "."
        defer { prefix = saved }
        try child.walkParameters(&self)
        if changesValues { child.parametersDidChange() }
    }
}

/// Which checks ``CausalLM/update(parameters:verify:)`` makes before it writes anything (shapes
/// are always checked: a tensor of another shape never enters a layer). mlx-swift's
/// `Module.VerifyUpdate` is the analogue.
public struct ParameterVerification: OptionSet, Sendable {
    /// The raw bits.
    public let rawValue: Int

    /// Creates a set from its bits.
    ///
    /// - Parameter rawValue: the bits.
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// Every parameter of the model must be given (``ModelLoadError/missingKeys(file:keys:)``).
    public static let noMissingKeys = ParameterVerification(rawValue: 1)
    /// No key outside the model's parameters may be given (``ModelLoadError/unexpectedKeys(file:keys:)``).
    public static let noUnexpectedKeys = ParameterVerification(rawValue: 2)
    /// Every given value must be finite (``ModelLoadError/nonFiniteWeights(file:keys:)``).
    public static let finiteValues = ParameterVerification(rawValue: 4)
    /// All checks, as loading a checkpoint makes them.
    public static let all: ParameterVerification = [.noMissingKeys, .noUnexpectedKeys, .finiteValues]
}

import LRNNLinearAlgebra
import RealModule

/// Supplies the parameters while a model is assembled: from a checkpoint (recording missing,
/// misshapen and badly typed keys, all reported by ``finish()``), or from a seeded random
/// initialisation.
/// The supplying ``ParameterWalk`` asks it for every parameter under the key the walk derived
/// from the model's tree.
final class ParameterStore<T: LRNNScalar> {
    private let checkpoint: CheckpointTensors?
    private var rng: SeededGenerator
    private(set) var requested: Set<String> = []
    /// The standard deviation of ``ParameterInitializer/normalInitializerRange``.
    private let initializerRange: Double
    private var missing: [KeyShape] = []
    private var mismatches: [KeyShapeMismatch] = []
    private var badDTypes: [KeyDType] = []
    private var nonFinite: [String] = []
    private var readError: SafeTensorsError?

    /// Elements of the zero tensors handed out in place of missing or misshapen parameters so far.
    private var placeholderElements = 0
    /// The most placeholder elements before assembly stops: the checkpoint's own element count.
    /// A configuration whose implied shapes exceed what the checkpoint holds cannot match it, and
    /// its placeholders (a `hidden_size` of 2⁴⁰, a `conv_size` of 10⁹) must not be allocated.
    private let placeholderBudget: Int

    /// A store reading `checkpoint`.
    init(checkpoint: CheckpointTensors) {
        self.checkpoint = checkpoint
        self.rng = SeededGenerator(seed: 0)
        initializerRange = 0
        placeholderBudget = checkpoint.entries.values.reduce(1 << 20) { $0 &+ $1.info.count }
    }

    /// A store drawing random parameters from `seed`, linear and embedding weights with standard
    /// deviation `initializerRange`.
    init(seed: UInt64, initializerRange: Double = 0.02) {
        self.checkpoint = nil
        self.rng = SeededGenerator(seed: seed)
        self.initializerRange = initializerRange
        placeholderBudget = .max
    }

    /// The name problems are reported against.
    /// The file problems are reported against (`parameters` for tensors given in memory).
    var sourceName: String { checkpoint?.displayName ?? "parameters" }

    /// Whether parameters come from a checkpoint (not drawn at random).
    private var isVerified: Bool { checkpoint != nil }

    /// Whether parameters are drawn from a seed.
    var isRandom: Bool { !isVerified }

    /// A zero tensor standing in for a parameter whose problem has been recorded, or the recorded
    /// problems thrown at once when its shape would take the placeholders past the budget.
    private func placeholder(_ shape: [Int]) throws(ModelLoadError) -> Tensor<T> {
        var count = 1
        var overflow = false
        for d in shape {
            let (p, o) = count.multipliedReportingOverflow(by: Swift.max(d, 0))
            count = p
            overflow = overflow || o
        }
        let (total, o2) = placeholderElements.addingReportingOverflow(count)
        if overflow || o2 || total > placeholderBudget { try throwRecorded() }
        placeholderElements = total
        return Tensor(zeros: shape)
    }

    /// The parameter `key` of `shape`: read and converted to `T`, or drawn with `initializer`.
    /// A problem is recorded (and a zero tensor returned) so that every problem is listed at
    /// the end by ``finish()``.
    ///
    /// - Throws: every problem recorded so far (as ``finish()`` would) when a placeholder for a
    ///   missing or misshapen key would exceed what the checkpoint itself holds.
    func tensor(_ key: String, _ shape: [Int], _ initializer: ParameterInitializer) throws(ModelLoadError)
        -> Tensor<T>
    {
        let value: Tensor<T>
        if let checkpoint {
            requested.insert(key)
            if let (file, info) = checkpoint.entries[key] {
                value = try read(file, info, shape)
            } else {
                missing.append(KeyShape(key, shape))
                value = try placeholder(shape)
            }
        } else {
            value = random(shape, initializer)
        }
        return value
    }

    /// The parameter `key` of `shape`: read from the checkpoint, or `make()` for random models
    /// (for parameters with their own initialisation, like S4D's).
    func tensor(_ key: String, _ shape: [Int], make: () -> Tensor<T>) throws(ModelLoadError) -> Tensor<T> {
        if isVerified { return try tensor(key, shape, .zeros) }
        let value = make()
        precondition(value.shape == shape, "ParameterStore: \(key) made with \(value.shape), declared \(shape)")
        return value
    }

    /// A fresh seed drawn from the store's generator (for components with their own seeded initialisation).
    func nextSeed() -> UInt64 { rng.next() }

    /// The parameter `key` when the checkpoint holds it (checked like ``tensor(_:_:_:)``), nil
    /// otherwise and for random models; used for keys fla may or may not write (a tied head).
    func optionalTensor(_ key: String, _ shape: [Int]) throws(ModelLoadError) -> Tensor<T>? {
        guard let checkpoint, let (file, info) = checkpoint.entries[key] else { return nil }
        requested.insert(key)
        return try read(file, info, shape)
    }

    private func read(_ file: SafeTensorsFile, _ info: SafeTensorInfo, _ shape: [Int]) throws(ModelLoadError)
        -> Tensor<T>
    {
        guard info.dtype.isFloatingPoint else {
            badDTypes.append(KeyDType(key: info.name, dtype: info.dtype.rawValue))
            return try placeholder(shape)
        }
        guard info.shape == shape else {
            mismatches.append(KeyShapeMismatch(key: info.name, shape: info.shape, expected: shape))
            return try placeholder(shape)
        }
        do {
            let values = try file.withRawBytes(info.name) { raw in
                convertWeights(raw, dtype: info.dtype, count: info.count, as: T.self)
            }
            if !allFinite(values) { nonFinite.append(info.name) }
            return Tensor(shape: shape, scalars: values)
        } catch let error as SafeTensorsError {
            readError = readError ?? error
        } catch {
            readError = readError ?? .missingTensor(file: file.path, tensor: info.name)
        }
        return try placeholder(shape)
    }

    /// Throws the first kind of problem recorded (missing, wrong shape, unexpected, dtype), each
    /// listing every key of that kind.
    /// Throws the first kind of problem recorded so far (missing, wrong shape, dtype, read error),
    /// for an assembly stopped before every key was requested (so no key is "unexpected" yet).
    private func throwRecorded() throws(ModelLoadError) {
        let file = sourceName
        if !missing.isEmpty { throw .missingKeys(file: file, keys: missing) }
        if !mismatches.isEmpty { throw .shapeMismatch(file: file, mismatches: mismatches) }
        if !badDTypes.isEmpty { throw .badDType(file: file, keys: badDTypes) }
        if let readError { throw .checkpoint(readError) }
    }

    func finish() throws(ModelLoadError) {
        guard isVerified else { return }
        let file = sourceName
        if !missing.isEmpty { throw .missingKeys(file: file, keys: missing) }
        if !mismatches.isEmpty { throw .shapeMismatch(file: file, mismatches: mismatches) }
        let shapes = checkpoint!.entries.mapValues(\.info.shape)
        let unexpected = shapes.keys.filter { !requested.contains($0) }.sorted()
        if !unexpected.isEmpty {
            throw .unexpectedKeys(file: file, keys: unexpected.map { KeyShape($0, shapes[$0]!) })
        }
        if !badDTypes.isEmpty { throw .badDType(file: file, keys: badDTypes) }
        if !nonFinite.isEmpty { throw .nonFiniteWeights(file: file, keys: nonFinite) }
        if let readError { throw .checkpoint(readError) }
    }

    private func random(_ shape: [Int], _ initializer: ParameterInitializer) -> Tensor<T> {
        let n = shape.reduce(1, *)
        var s = [T]()
        s.reserveCapacity(n)
        for _ in 0..<n {
            let x: Double
            switch initializer {
            case let .normal(std): x = std * rng.normal()
            case .normalInitializerRange: x = initializerRange * rng.normal()
            case .zeros: x = 0
            case .ones: x = 1
            case let .uniform(b): x = (2 * rng.unit() - 1) * b
            case .logDecayRate: x = Double.log(1 + 15 * rng.unit())
            case .inverseSoftplusTimeStep:
                let dt = Double.exp(Double.log(0.001) + rng.unit() * (Double.log(0.1) - Double.log(0.001)))
                x = dt + Double.log(-Double.expMinusOne(-dt))
            }
            s.append(T(x))
        }
        return Tensor(shape: shape, scalars: s)
    }
}

/// Whether every value is finite.
@_specialize(where T == Float)
@_specialize(where T == Double)
func allFinite<T: LRNNScalar>(_ values: [T]) -> Bool {
    values.withUnsafeBufferPointer { b in
        var ok = true
        for x in b where !x.isFinite {
            ok = false
            break
        }
        return ok
    }
}

/// Converts little-endian F64/F32/F16/BF16 weights to `T` (the caller has checked the dtype).
@_specialize(where T == Float)
@_specialize(where T == Double)
func convertWeights<T: LRNNScalar>(
    _ raw: UnsafeRawBufferPointer, dtype: SafeTensorsDType, count n: Int, as: T.Type
) -> [T] {
    [T](unsafeUninitializedCapacity: n) { out, initialized in
        switch dtype {
        case .float64:
            for i in 0..<n {
                out[i] = T(Double(bitPattern: raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self).littleEndian))
            }
        case .float32:
            for i in 0..<n {
                out[i] = T(Float(bitPattern: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self).littleEndian))
            }
        case .float16:
            for i in 0..<n {
                out[i] = T(
                    Float(Float16(bitPattern: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian)))
            }
        case .bfloat16:
            for i in 0..<n {
                let bits = UInt32(raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian) << 16
                out[i] = T(Float(bitPattern: bits))
            }
        default:
            for i in 0..<n { out[i] = 0 }
        }
        initialized = n
    }
}

import LRNNKernels
import LRNNLinearAlgebra

/// A pLSTM 2-D layer for image-shaped inputs `[B, X, Y, features]` (``PLSTM2DConfiguration``):
/// per-cell projections to queries, keys, values and the gates of P-mode or D-mode, the
/// ``/LRNNKernels/PLSTM2D`` recurrence over the grid from the top-left corner (one orientation;
/// their layer averages several flipped orientations), and an output projection back to the
/// features.
///
/// Parameters (``parameters``, by key; weights `[out, features]`, biases `[out]`): `q_proj`,
/// `k_proj`, `v_proj` (no bias), `direct_proj`, and in P-mode `orientation_proj`, `source_proj`,
/// `transition_proj`, `mark_proj`, in D-mode `source_r_proj`, `source_d_proj`, `transition_r_proj`,
/// `transition_d_proj`, `transition_rd_proj`, `mark_l_proj`, `mark_u_proj`; `o_proj.weight`
/// `[features, H·DV·JO]`.
///
/// `Sendable`: an immutable value of tensors.
public struct PLSTM2DLayer<T: LRNNScalar>: Sendable {
    /// The configuration.
    public let configuration: PLSTM2DConfiguration
    /// The feature size of the input and output.
    public let features: Int
    /// Every parameter, by key (`q_proj.weight`, `source_proj.bias`, …).
    public let parameters: [String: Tensor<T>]

    /// The gate projections of the configuration's mode: (name, output size, activation is tanh).
    static func gateProjections(_ c: PLSTM2DConfiguration) -> [(String, Int, Bool)] {
        let h = c.numHeads
        let source = h * c.transitionStates * c.keyStates * c.valueStates
        let transition = h * c.transitionStates * c.transitionStates
        let mark = h * c.outputStates * c.queryStates * c.transitionStates
        let direct = h * c.outputStates * c.queryStates * c.keyStates * c.valueStates
        if c.mode == .directed {
            return [
                ("orientation_proj", h, false), ("source_proj", source, false), ("transition_proj", transition, true),
                ("mark_proj", mark, false), ("direct_proj", direct, false),
            ]
        }
        return [
            ("source_r_proj", source, false), ("source_d_proj", source, false), ("transition_r_proj", transition, true),
            ("transition_d_proj", transition, true), ("transition_rd_proj", transition, true),
            ("mark_l_proj", mark, false), ("mark_u_proj", mark, false), ("direct_proj", direct, false),
        ]
    }

    /// The shape of every parameter of a configuration, by key.
    ///
    /// - Parameters:
    ///   - configuration: the configuration.
    ///   - features: the feature size.
    /// - Returns: the shapes by key.
    public static func parameterShapes(_ configuration: PLSTM2DConfiguration, features: Int) -> [String: [Int]] {
        let c = configuration
        let h = c.numHeads
        var out: [String: [Int]] = [
            "q_proj.weight": [h * c.keyDim * c.queryStates, features],
            "k_proj.weight": [h * c.keyDim * c.keyStates, features],
            "v_proj.weight": [h * c.valueDim * c.valueStates, features],
            "o_proj.weight": [features, h * c.valueDim * c.outputStates],
        ]
        for (name, size, _) in gateProjections(c) {
            out[name + ".weight"] = [size, features]
            out[name + ".bias"] = [size]
        }
        return out
    }

    /// A layer with random weights drawn from `seed`: weights N(0, `std`²), biases zero (the
    /// transitions' uniform in ±0.5, so that they start away from zero).
    ///
    /// - Parameters:
    ///   - configuration: the configuration.
    ///   - features: the feature size (≥ 1).
    ///   - seed: the seed of every weight.
    ///   - std: the standard deviation of the weights.
    /// - Throws: ``ModelError/invalidConfiguration(field:reason:)`` for an impossible or unbuilt
    ///   configuration, ``ModelError/invalidArgument(name:reason:)`` for `features` below 1.
    public init(_ configuration: PLSTM2DConfiguration, features: Int, seed: UInt64, std: Double = 0.2)
        throws(ModelError)
    {
        try Self.validate(configuration, features: features)
        let store = ParameterStore<T>(seed: seed)
        var params: [String: Tensor<T>] = [:]
        for (key, shape) in Self.parameterShapes(configuration, features: features).sorted(by: { $0.key < $1.key }) {
            let initializer: ParameterInitializer =
                key.hasSuffix(".weight")
                ? .normal(std: std) : key.hasPrefix("transition") ? .uniform(bound: 0.5) : .zeros
            do {
                params[key] = try store.tensor(key, shape, initializer)
            } catch {
                preconditionFailure("PLSTM2DLayer: a random parameter store failed: \(error)")
            }
        }
        self.configuration = configuration
        self.features = features
        self.parameters = params
    }

    /// A layer with the given parameters (every key of ``parameterShapes(_:features:)`` with its shape).
    ///
    /// - Parameters:
    ///   - configuration: the configuration.
    ///   - features: the feature size (≥ 1).
    ///   - parameters: the parameters by key.
    /// - Throws: ``ModelError/invalidConfiguration(field:reason:)`` for an impossible or unbuilt
    ///   configuration, ``ModelError/invalidArgument(name:reason:)`` naming a missing, extra or
    ///   misshapen parameter.
    public init(_ configuration: PLSTM2DConfiguration, features: Int, parameters: [String: Tensor<T>])
        throws(ModelError)
    {
        try Self.validate(configuration, features: features)
        let shapes = Self.parameterShapes(configuration, features: features)
        for (key, shape) in shapes.sorted(by: { $0.key < $1.key }) {
            guard let p = parameters[key] else { throw .invalidArgument(name: key, reason: "missing") }
            guard p.shape == shape else {
                throw .invalidArgument(name: key, reason: "shape \(p.shape), expected \(shape)")
            }
        }
        if let extra = parameters.keys.sorted().first(where: { shapes[$0] == nil }) {
            throw .invalidArgument(name: extra, reason: "not a parameter of this configuration")
        }
        self.configuration = configuration
        self.features = features
        self.parameters = parameters
    }

    static func validate(_ c: PLSTM2DConfiguration, features: Int) throws(ModelError) {
        do { try c.validate() } catch {
            throw .invalidConfiguration(field: error.field, reason: "\(error.value): \(error.reason)")
        }
        guard features >= 1 else { throw .invalidArgument(name: "features", reason: "must be ≥ 1, got \(features)") }
    }

    func linear(_ name: String) -> Linear<T> {
        Linear(weight: parameters[name + ".weight"]!, bias: parameters[name + ".bias"])
    }

    /// The activated gates of `x [rows, features]` by projection name, `[rows, out]`.
    func gates(_ x: Tensor<T>) -> [String: Tensor<T>] {
        let f = T(configuration.transitionFactor)
        var out: [String: Tensor<T>] = [:]
        for (name, _, isTanh) in Self.gateProjections(configuration) {
            var z = linear(name)(x)
            if isTanh {
                z.withUnsafeMutableBufferPointer { b in for i in 0..<b.count { b[i] = T.tanh(f * b[i]) } }
            } else {
                sigmoidScaled(&z, factor: 1)
            }
            out[name] = z
        }
        return out
    }

    /// `o [rows, H]` times each head's group of `s [rows, H·G]`.
    static func headScaled(_ o: Tensor<T>, _ s: Tensor<T>, heads: Int) -> Tensor<T> {
        let rows = o.count / heads
        let group = s.count / Swift.max(rows * heads, 1)
        var out = s
        for r in 0..<rows {
            for h in 0..<heads {
                let w = o.scalars[r * heads + h]
                for g in 0..<group { out.scalars[(r * heads + h) * group + g] *= w }
            }
        }
        return out
    }

    /// The kernel inputs of `x [B, X, Y, features]` and the gates they came from.
    func kernelInputs(_ x: Tensor<T>) throws(KernelError) -> (inputs: PLSTM2D.Inputs<T>, gates: [String: Tensor<T>]) {
        guard x.rank == 4, x.shape[3] == features else {
            throw .shapeMismatch(tensor: "x", shape: x.shape, expected: "[B, X, Y, \(features)]")
        }
        try KernelError.requireFinite(x, "x")
        let c = configuration
        let h = c.numHeads
        let lead = Array(x.shape[0..<3])
        let rows = lead.reduce(1, *)
        let x2 = x.reshaped([rows, features])
        let g = gates(x2)
        let sShape = lead + [h, c.transitionStates, c.keyStates, c.valueStates]
        let tShape = lead + [h, c.transitionStates, c.transitionStates]
        let mShape = lead + [h, c.outputStates, c.queryStates, c.transitionStates]
        let q = linear("q_proj")(x2).reshaped(lead + [h, c.keyDim, c.queryStates])
        let k = linear("k_proj")(x2).reshaped(lead + [h, c.keyDim, c.keyStates])
        let v = linear("v_proj")(x2).reshaped(lead + [h, c.valueDim, c.valueStates])
        let d = g["direct_proj"]!.reshaped(lead + [h, c.outputStates, c.queryStates, c.keyStates, c.valueStates])
        if c.mode == .directed {
            let o = g["orientation_proj"]!
            let sr = Self.headScaled(o, g["source_proj"]!, heads: h)
            let tr = Self.headScaled(o, g["transition_proj"]!, heads: h)
            let sd = sr.map { 1 - $0 }
            let td = tr.map { 1 - $0 }
            let m = g["mark_proj"]!.reshaped(mShape)
            return (
                PLSTM2D.Inputs(
                    q: q, k: k, v: v, S_r: sr.reshaped(sShape), S_d: sd.reshaped(sShape), T_rl: tr.reshaped(tShape),
                    T_du: td.reshaped(tShape), T_ru: tr.reshaped(tShape), T_dl: td.reshaped(tShape), M_l: m, M_u: m,
                    D: d),
                g
            )
        }
        let cross = g["transition_rd_proj"]!.reshaped(tShape)
        return (
            PLSTM2D.Inputs(
                q: q, k: k, v: v, S_r: g["source_r_proj"]!.reshaped(sShape), S_d: g["source_d_proj"]!.reshaped(sShape),
                T_rl: g["transition_r_proj"]!.reshaped(tShape), T_du: g["transition_d_proj"]!.reshaped(tShape),
                T_ru: c.chirality == .left ? cross : nil, T_dl: c.chirality == .right ? cross : nil,
                M_l: g["mark_l_proj"]!.reshaped(mShape), M_u: g["mark_u_proj"]!.reshaped(mShape), D: d),
            g
        )
    }

    /// The layer's output for `x [B, X, Y, features]`: `[B, X, Y, features]`.
    ///
    /// - Parameter x: the input grid.
    /// - Returns: the output grid.
    /// - Throws: ``/LRNNKernels/KernelError/shapeMismatch(tensor:shape:expected:)`` naming `x` for a
    ///   wrong shape, ``/LRNNKernels/KernelError/nonFinite(tensor:)`` for NaN/±∞ in it.
    public func callAsFunction(_ x: Tensor<T>) throws(KernelError) -> Tensor<T> {
        let (inputs, _) = try kernelInputs(x)
        let y = try PLSTM2D.chunked(inputs).output
        let rows = x.count / features
        return linear("o_proj")(y.reshaped([rows, y.count / Swift.max(rows, 1)])).reshaped(x.shape)
    }

    /// dL/dx and dL/d(parameter) of `L = Σ self(x) ⊙ outputGradient`: the output projection, the
    /// kernel's tiled ``/LRNNKernels/PLSTM2D/backward(_:scale:chunkSize:outputGradient:finalStateGradient:)``,
    /// the mode's gate construction and the projections, differentiated.
    ///
    /// - Parameters:
    ///   - x: the input grid `[B, X, Y, features]`.
    ///   - outputGradient: dL/d(output), `[B, X, Y, features]`.
    /// - Returns: dL/dx and the gradient of every parameter, by key.
    /// - Throws: as ``callAsFunction(_:)``, and a shape or NaN error naming `outputGradient`.
    public func backward(_ x: Tensor<T>, outputGradient: Tensor<T>) throws(KernelError)
        -> (input: Tensor<T>, parameters: [String: Tensor<T>])
    {
        let (inputs, g) = try kernelInputs(x)
        try KernelError.requireShape(outputGradient, x.shape, "outputGradient")
        try KernelError.requireFinite(outputGradient, "outputGradient")
        let c = configuration
        let h = c.numHeads
        let rows = x.count / features
        let x2 = x.reshaped([rows, features])
        let y = try PLSTM2D.chunked(inputs).output
        let y2 = y.reshaped([rows, y.count / Swift.max(rows, 1)])
        var grads: [String: Tensor<T>] = [:]
        let oProj = linear("o_proj")
        let dy = outputGradient.reshaped([rows, features])
        grads["o_proj.weight"] = oProj.parameterGradients(input: y2, outputGradient: dy).weight
        let d = try PLSTM2D.backward(
            inputs, outputGradient: oProj.inputGradient(dy).reshaped(y.shape), finalStateGradient: nil)
        func flat(_ t: Tensor<T>) -> Tensor<T> { t.reshaped([rows, t.count / Swift.max(rows, 1)]) }
        // dL/d(gate value) per projection.
        var dGate: [String: Tensor<T>] = [:]
        if c.mode == .directed {
            let o = g["orientation_proj"]!, s = g["source_proj"]!, t = g["transition_proj"]!
            let gs = Tensor(shape: s.shape, scalars: zip(flat(d.S_r).scalars, flat(d.S_d).scalars).map { $0 - $1 })
            var gtScalars = flat(d.T_rl).scalars
            for (i, (a, (b2, c2))) in zip(flat(d.T_ru!).scalars, zip(flat(d.T_dl!).scalars, flat(d.T_du).scalars))
                .enumerated()
            {
                gtScalars[i] += a - b2 - c2
            }
            let gt = Tensor(shape: t.shape, scalars: gtScalars)
            var dO = Tensor<T>.zeros(o.shape)
            let groupS = s.count / Swift.max(rows * h, 1)
            let groupT = t.count / Swift.max(rows * h, 1)
            for r in 0..<rows {
                for hh in 0..<h {
                    var acc: T = 0
                    for k in 0..<groupS {
                        acc += gs.scalars[(r * h + hh) * groupS + k] * s.scalars[(r * h + hh) * groupS + k]
                    }
                    for k in 0..<groupT {
                        acc += gt.scalars[(r * h + hh) * groupT + k] * t.scalars[(r * h + hh) * groupT + k]
                    }
                    dO.scalars[r * h + hh] = acc
                }
            }
            dGate["orientation_proj"] = dO
            dGate["source_proj"] = Self.headScaled(o, gs, heads: h)
            dGate["transition_proj"] = Self.headScaled(o, gt, heads: h)
            dGate["mark_proj"] = Tensor(
                shape: [rows, d.M_l.count / Swift.max(rows, 1)],
                scalars: zip(d.M_l.scalars, d.M_u.scalars).map { $0 + $1 })
        } else {
            dGate["source_r_proj"] = flat(d.S_r)
            dGate["source_d_proj"] = flat(d.S_d)
            dGate["transition_r_proj"] = flat(d.T_rl)
            dGate["transition_d_proj"] = flat(d.T_du)
            dGate["transition_rd_proj"] = flat(c.chirality == .left ? d.T_ru! : d.T_dl!)
            dGate["mark_l_proj"] = flat(d.M_l)
            dGate["mark_u_proj"] = flat(d.M_u)
        }
        dGate["direct_proj"] = flat(d.D)
        var dx = Tensor<T>.zeros([rows, features])
        let factor = T(c.transitionFactor)
        var projections: [(String, Tensor<T>)] = [("q_proj", flat(d.q)), ("k_proj", flat(d.k)), ("v_proj", flat(d.v))]
        for (name, _, isTanh) in Self.gateProjections(c) {
            let value = g[name]!
            let dv = dGate[name]!
            let dz = Tensor(
                shape: value.shape,
                scalars: zip(dv.scalars, value.scalars).map {
                    isTanh ? $0 * factor * (1 - $1 * $1) : $0 * $1 * (1 - $1)
                })
            projections.append((name, dz))
        }
        for (name, dz) in projections {
            let layer = linear(name)
            let p = layer.parameterGradients(input: x2, outputGradient: dz)
            grads[name + ".weight"] = p.weight
            if let b = p.bias { grads[name + ".bias"] = b }
            layer.accumulateInputGradient(dz, into: &dx)
        }
        return (dx.reshaped(x.shape), grads)
    }
}

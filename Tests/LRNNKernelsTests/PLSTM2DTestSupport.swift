import LRNNKernels
import LRNNLinearAlgebra
import LRNNTestSupport

/// The transitions a random 2-D case has: P-mode (all four), D-mode chirality L (`T_ru`) or R (`T_dl`).
enum PLSTM2DMode: String, CaseIterable, Sendable {
    case p = "P"
    case dLeft = "D-L"
    case dRight = "D-R"
}

/// A random pLSTM 2-D call with its cotangents.
struct PLSTM2DCase<T: LRNNScalar> {
    var inputs: PLSTM2D.Inputs<T>
    var outputGradient: Tensor<T>?
    var finalStateGradient: PLSTM2D.BoundaryStates<T>?

    init(
        _ rng: inout SeededRandom, b: Int, x: Int, y: Int, h: Int, sizes z: PLSTMSizes, mode: PLSTM2DMode,
        withBoundary: Bool = true, withOutputGradient: Bool = true, withFinalStateGradient: Bool = true
    ) {
        let grid = [b, x, y, h]
        // Transitions scaled so that the path sums through the grid stay bounded.
        let tr = 0.45 / Double(z.jt)
        inputs = PLSTM2D.Inputs(
            q: rng.tensor(grid + [z.dk, z.jq]), k: rng.tensor(grid + [z.dk, z.jk]), v: rng.tensor(grid + [z.dv, z.jv]),
            S_r: rng.tensor(grid + [z.jt, z.jk, z.jv], 0...1), S_d: rng.tensor(grid + [z.jt, z.jk, z.jv], 0...1),
            T_rl: rng.tensor(grid + [z.jt, z.jt], -tr...tr), T_du: rng.tensor(grid + [z.jt, z.jt], -tr...tr),
            T_ru: mode != .dRight ? rng.tensor(grid + [z.jt, z.jt], -tr...tr) : nil,
            T_dl: mode != .dLeft ? rng.tensor(grid + [z.jt, z.jt], -tr...tr) : nil,
            M_l: rng.tensor(grid + [z.jo, z.jq, z.jt], 0...1), M_u: rng.tensor(grid + [z.jo, z.jq, z.jt], 0...1),
            D: rng.tensor(grid + [z.jo, z.jq, z.jk, z.jv], 0...1),
            C_left: withBoundary ? rng.tensor([b, y, h, z.dk, z.dv, z.jt]) : nil,
            C_top: withBoundary ? rng.tensor([b, x, h, z.dk, z.dv, z.jt]) : nil)
        outputGradient = withOutputGradient ? rng.tensor(grid + [z.dv, z.jo]) : nil
        finalStateGradient =
            withFinalStateGradient
            ? PLSTM2D.BoundaryStates(
                right: rng.tensor([b, y, h, z.dk, z.dv, z.jt]), bottom: rng.tensor([b, x, h, z.dk, z.dv, z.jt])) : nil
    }

    /// The loss `Σ y ⊙ dy + Σ C_right ⊙ dC_right + Σ C_bottom ⊙ dC_bottom` of the reference forward.
    func loss(_ x: PLSTM2D.Inputs<T>) throws -> Double {
        let r = try PLSTM2D.reference(x)
        return dotProduct(r.output, outputGradient) + dotProduct(r.finalState.right, finalStateGradient?.right)
            + dotProduct(r.finalState.bottom, finalStateGradient?.bottom)
    }
}

/// The named tensors of a 2-D gradient (or input set), in the golden files' names, present ones only.
func plstm2DFields<T: LRNNScalar>(_ g: PLSTM2D.Inputs<T>) -> [(String, Tensor<T>)] {
    var out = [
        ("dq", g.q), ("dk", g.k), ("dv", g.v), ("dS_r", g.S_r), ("dS_d", g.S_d), ("dT_rl", g.T_rl), ("dT_du", g.T_du),
    ]
    if let t = g.T_ru { out.append(("dT_ru", t)) }
    if let t = g.T_dl { out.append(("dT_dl", t)) }
    out += [("dM_l", g.M_l), ("dM_u", g.M_u), ("dD", g.D)]
    if let t = g.C_left { out.append(("dC_left", t)) }
    if let t = g.C_top { out.append(("dC_top", t)) }
    return out
}

/// The largest error over the matching fields of two 2-D gradients (infinity when presence differs).
func plstm2DGradientError<T: LRNNScalar, U: LRNNScalar>(_ a: PLSTM2D.Inputs<T>, _ b: PLSTM2D.Inputs<U>) -> Double {
    let fa = plstm2DFields(a)
    let fb = plstm2DFields(b)
    guard fa.map(\.0) == fb.map(\.0) else { return .infinity }
    return zip(fa, fb).map { plstmError($0.1, $1.1) }.max() ?? 0
}

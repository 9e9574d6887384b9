import ComplexModule
import LRNNKernels
import LRNNLinearAlgebra
import LRNNTestSupport

/// `Σ y·dy + Σ Re(conj(x)·dx)` over a call's outputs and final states.
func loss(_ y: Tensor<Double>, _ dy: Tensor<Double>?, _ final: Tensor<Complex<Double>>, _ df: Tensor<Complex<Double>>?)
    -> Double
{
    var l = 0.0
    if let dy { for (a, b) in zip(y.scalars, dy.scalars) { l += a * b } }
    if let df { for (a, b) in zip(final.scalars, df.scalars) { l += a.real * b.real + a.imaginary * b.imaginary } }
    return l
}

/// A complex tensor flattened as `[re, im, re, im, …]`.
func interleaved(_ x: Tensor<Complex<Double>>?) -> [Double] {
    x?.scalars.flatMap { [$0.real, $0.imaginary] } ?? []
}

/// The inverse of ``interleaved(_:)``.
func complexTensor(_ values: [Double], shape: [Int]) -> Tensor<Complex<Double>> {
    Tensor(shape: shape, scalars: (0..<(values.count / 2)).map { Complex(values[2 * $0], values[2 * $0 + 1]) })
}

/// Central finite differences of `loss` along every element of every field, against `gradient`:
/// the largest per-field relative error `max|fd − g| / max|g|`, with the field's name.
func finiteDifferenceError(
    fields: [[Double]], names: [String], gradient: [[Double]], loss: ([[Double]]) throws -> Double
) throws -> [(String, Double)] {
    var errors: [(String, Double)] = []
    for f in fields.indices {
        var worst = 0.0
        var scale = 0.0
        for i in fields[f].indices {
            let eps = 1e-5 * Swift.max(1, Swift.abs(fields[f][i]))
            var plus = fields
            plus[f][i] += eps
            var minus = fields
            minus[f][i] -= eps
            let fd = (try loss(plus) - loss(minus)) / (2 * eps)
            worst = Swift.max(worst, Swift.abs(fd - gradient[f][i]))
            scale = Swift.max(scale, Swift.abs(gradient[f][i]))
        }
        errors.append((names[f], scale > 0 ? worst / scale : worst))
    }
    return errors
}

/// The largest relative error between two gradient values, field by field (u, the parameter
/// fields, the initial state), with the name of each field.
func fieldErrors(_ a: [[Double]], _ b: [[Double]], names: [String]) -> [(String, Double)] {
    zip(names, zip(a, b)).map { name, pair in
        let (x, y) = pair
        var num = 0.0
        var den = 0.0
        for (p, q) in zip(x, y) {
            num = Swift.max(num, Swift.abs(p - q))
            den = Swift.max(den, Swift.abs(q))
        }
        return (name, den > 0 ? num / den : num)
    }
}

// MARK: - S4D

let s4dFieldNames = ["u", "log_dt", "A_re", "A_im", "B_re", "B_im", "C_re", "C_im", "D", "initialState"]

/// The fields of S4D inputs (or gradients) as Float64 arrays, in ``s4dFieldNames`` order.
func s4dFields<T: LRNNScalar>(_ x: S4D.Inputs<T>) -> [[Double]] {
    let p = x.parameters
    return [x.u, p.logDt, p.aRe, p.aIm, p.bRe, p.bIm, p.cRe, p.cIm, p.d].map { $0.scalars.map { Double($0) } }
        + [interleaved(x.initialState.map { $0.map { Complex(Double($0.real), Double($0.imaginary)) } })]
}

/// S4D inputs from fields shaped like `like`.
func s4dInputs(_ f: [[Double]], like x: S4D.Inputs<Double>) throws -> S4D.Inputs<Double> {
    let p = x.parameters
    func t(_ i: Int, _ shape: [Int]) -> Tensor<Double> { Tensor(shape: shape, scalars: f[i]) }
    let s = p.aRe.shape
    let parameters = try S4DParameters(
        logDt: t(1, p.logDt.shape), aRe: t(2, s), aIm: t(3, s), bRe: t(4, s), bIm: t(5, s), cRe: t(6, s), cIm: t(7, s),
        d: t(8, p.d.shape))
    return S4D.Inputs(
        u: t(0, x.u.shape), parameters: parameters,
        initialState: x.initialState.map { complexTensor(f[9], shape: $0.shape) })
}

/// The S4D loss through the library's forward (``S4D/chunked(_:discretization:sequences:chunkSize:)``
/// on the packed sequences).
func s4dLoss(
    _ x: S4D.Inputs<Double>, _ disc: SSMDiscretization, sequences: SequenceBoundaries?, dy: Tensor<Double>?,
    df: Tensor<Complex<Double>>?
) throws -> Double {
    let (y, final) = try S4D.chunked(x, discretization: disc, sequences: sequences)
    return loss(y, dy, final, df)
}

/// Seeded S4D inputs: `u [B, T, H]`, parameters with `A_re ∈ [−1, −0.05]`, an optional initial state.
func randomS4DInputs(
    batch: Int, length: Int, channels: Int, modes: Int, sequences: Int?, initialState: Bool, seed: UInt64,
    logDt: ClosedRange<Double> = -4...(-1)
) throws -> S4D.Inputs<Double> {
    var r = SeededRandom(seed: seed)
    let p = try randomS4D(channels: channels, modes: modes, seed: seed &+ 1, as: Double.self, logDt: logDt)
    let n = sequences ?? batch
    let x0: Tensor<Complex<Double>>? =
        initialState
        ? complexTensor((0..<(2 * n * channels * modes)).map { _ in r.normal() }, shape: [n, channels, modes]) : nil
    return S4D.Inputs(u: r.normalTensor([batch, length, channels]), parameters: p, initialState: x0)
}

/// Seeded cotangents for a call: `dy` like u, `dFinal [N, …]` complex.
func randomCotangents(
    like u: Tensor<Double>, stateShape: [Int], seed: UInt64
) -> (dy: Tensor<Double>, df: Tensor<Complex<Double>>) {
    var r = SeededRandom(seed: seed)
    let dy: Tensor<Double> = r.normalTensor(u.shape)
    let n = stateShape.reduce(1, *)
    return (dy, complexTensor((0..<(2 * n)).map { _ in r.normal() }, shape: stateShape))
}

// MARK: - S5

let s5FieldNames = ["u", "Lambda_re", "Lambda_im", "B_re", "B_im", "C_re", "C_im", "log_step", "D", "initialState"]

/// The fields of S5 inputs (or gradients) as Float64 arrays, in ``s5FieldNames`` order.
func s5Fields<T: LRNNScalar>(_ x: S5.Inputs<T>) -> [[Double]] {
    let p = x.parameters
    return [x.u, p.lambdaRe, p.lambdaIm, p.bRe, p.bIm, p.cRe, p.cIm, p.logStep, p.d].map {
        $0.scalars.map { Double($0) }
    } + [interleaved(x.initialState.map { $0.map { Complex(Double($0.real), Double($0.imaginary)) } })]
}

/// S5 inputs from fields shaped like `like`.
func s5Inputs(_ f: [[Double]], like x: S5.Inputs<Double>) throws -> S5.Inputs<Double> {
    let p = x.parameters
    func t(_ i: Int, _ shape: [Int]) -> Tensor<Double> { Tensor(shape: shape, scalars: f[i]) }
    let parameters = try S5Parameters(
        lambdaRe: t(1, p.lambdaRe.shape), lambdaIm: t(2, p.lambdaIm.shape), bRe: t(3, p.bRe.shape),
        bIm: t(4, p.bIm.shape), cRe: t(5, p.cRe.shape), cIm: t(6, p.cIm.shape), logStep: t(7, p.logStep.shape),
        d: t(8, p.d.shape), conjugateSymmetric: p.conjugateSymmetric)
    return S5.Inputs(
        u: t(0, x.u.shape), parameters: parameters,
        initialState: x.initialState.map { complexTensor(f[9], shape: $0.shape) })
}

/// The S5 loss through the library's forward (``S5/chunked(_:discretization:sequences:chunkSize:)`` on the packed sequences).
func s5Loss(
    _ x: S5.Inputs<Double>, _ disc: SSMDiscretization, sequences: SequenceBoundaries?, dy: Tensor<Double>?,
    df: Tensor<Complex<Double>>?
) throws -> Double {
    let (y, final) = try S5.chunked(x, discretization: disc, sequences: sequences)
    return loss(y, dy, final, df)
}

/// Seeded S5 inputs: `u [B, T, H]`, P states with `Re Λ ∈ [−1, −0.05]`, an optional initial state.
func randomS5Inputs(
    batch: Int, length: Int, channels h: Int, states p: Int, sequences: Int?, initialState: Bool,
    conjugateSymmetric: Bool, seed: UInt64, logStep: ClosedRange<Double> = -4...(-1)
) throws -> S5.Inputs<Double> {
    var r = SeededRandom(seed: seed)
    let parameters = try S5Parameters<Double>(
        lambdaRe: r.tensor([p], -1...(-0.05)), lambdaIm: r.tensor([p], -10...10), bRe: r.tensor([p, h]),
        bIm: r.tensor([p, h]), cRe: r.tensor([h, p]), cIm: r.tensor([h, p]), logStep: r.tensor([p], logStep),
        d: r.tensor([h]), conjugateSymmetric: conjugateSymmetric)
    let n = sequences ?? batch
    let x0: Tensor<Complex<Double>>? =
        initialState ? complexTensor((0..<(2 * n * p)).map { _ in r.normal() }, shape: [n, p]) : nil
    return S5.Inputs(u: r.normalTensor([batch, length, h]), parameters: parameters, initialState: x0)
}

import ComplexModule
import Foundation
import LRNNKernels
import LRNNLinearAlgebra

/// How `lrnn ptd` chooses the perturbation of its "ptd" variant.
package enum PTDMethod: String, Sendable, CaseIterable {
    /// Minimise `cond₂(V)² + λ‖E‖_F` under `‖E‖₂ ≤ ε‖A‖₂` (``PTD/optimizedPerturbation(a:options:)``).
    case optimize
    /// A seeded Gaussian E with `‖E‖₂ = ε‖A‖₂`.
    case random
    /// No perturbation: LegS diagonalised as it is (cond₂(V) ≈ 1e20 at N = 64).
    case none
}

/// The figures of one diagonalised variant of HiPPO-LegS.
package struct PTDVariantFigures: Sendable, Equatable {
    /// `cond₂(V)`.
    package var cond: Double
    /// `‖E‖₂/‖A‖₂`.
    package var perturbationRatio: Double
    /// The largest real part of the eigenvalues.
    package var maxRealEig: Double
    /// The mean relative transfer error over the seeded output vectors.
    package var transferError: Double
}

/// The comparison `lrnn ptd` prints: S4D-LegS (normal part), random PTD and the chosen PTD on
/// HiPPO-LegS of size N, judged by the relative transfer error
/// `sup_ω |G_diag − G_A| / sup_ω |G_A|` on `ω ∈ {0} ∪ logspace(−2, 5)`, averaged over five
/// seeded random unit output vectors C (B is LegS's B).
package struct PTDReport: Sendable {
    /// N.
    package var n: Int
    /// The chosen method.
    package var method: PTDMethod
    /// The perturbation size ε (random variant; the bound of the optimised one).
    package var eps: Double
    /// The seed.
    package var seed: UInt64
    /// Wall-clock seconds for the whole report.
    package var seconds: Double
    /// Gradient evaluations of the optimisation (0 for other methods).
    package var iterations: Int
    /// Figures in order: `s4d_legs`, `random`, `ptd`.
    package var variants: [(key: String, figures: PTDVariantFigures)]
    /// `|G(iω)|` for the first output vector on the ω > 0 grid: frequencies and the curves
    /// `hippo`, `s4d_legs`, `ptd`.
    package var curves: (omega: [Double], hippo: [Double], s4dLegS: [Double], ptd: [Double])

    /// Computes the report.
    /// - Parameters:
    ///   - n: N ≥ 2.
    ///   - method: the chosen method.
    ///   - eps: ε > 0, finite.
    ///   - seed: seeds the random E, the optimiser's start and the output vectors.
    ///   - options: optimiser settings (its `maxRatio` and `seed` are set from ε and seed).
    /// - Throws: ``PTD/Failure`` on bad arguments or a LAPACK failure.
    package static func run(
        n: Int, method: PTDMethod, eps: Double, seed: UInt64,
        options: PTDOptimizationOptions = PTDOptimizationOptions()
    ) throws -> PTDReport {
        guard n >= 2 else { throw PTD.Failure.invalidArgument(name: "n", reason: "must be ≥ 2, got \(n)") }
        guard eps > 0, eps.isFinite else {
            throw PTD.Failure.invalidArgument(name: "eps", reason: "must be finite and > 0, got \(eps)")
        }
        let start = Date()
        let (a, bt) = try HiPPO.transition(.legs, n: n, as: Double.self)
        let b = bt.scalars
        let omegas = PTD.frequencyGrid()
        let resolvents = try PTD.resolventVectors(a: a, b: b, omegas: omegas)
        let outputs = PTD.randomUnitVectors(n: n, count: 5, seed: seed &+ 1)
        func figures(_ d: PTDDecomposition) -> PTDVariantFigures {
            let errs = PTD.relativeTransferErrors(d, resolvents: resolvents, omegas: omegas, outputs: outputs)
            return PTDVariantFigures(
                cond: d.eigenvectorCondition, perturbationRatio: d.perturbationRatio, maxRealEig: d.maxRealPart,
                transferError: errs.reduce(0, +) / Double(errs.count))
        }
        let legs = try PTD.s4dLegS(n: n)
        let random = try PTD.decompose(a: a, b: b, perturbation: PTD.randomPerturbation(a: a, ratio: eps, seed: seed))
        var iterations = 0
        let chosen: PTDDecomposition
        switch method {
        case .random:
            chosen = random
        case .none:
            chosen = try PTD.decompose(a: a, b: b, perturbation: Tensor(shape: [n, n], repeating: 0))
        case .optimize:
            var o = options
            o.maxRatio = eps
            o.initialRatio = Swift.min(o.initialRatio, eps)
            o.seed = seed
            let result = try PTD.optimizedPerturbation(a: a, b: b, options: o)
            iterations = result.iterations
            chosen = try PTD.decompose(a: a, b: b, perturbation: result.perturbation)
        }
        // |G| curves for the first output vector, ω > 0 only (log axis).
        let c0 = outputs[0]
        var curveOmega: [Double] = []
        var hippo: [Double] = []
        var s4d: [Double] = []
        var ptd: [Double] = []
        let ctLegs = legs.projectedC(c0)
        let ctPTD = chosen.projectedC(c0)
        for (w, x) in zip(omegas, resolvents) where w > 0 {
            var g = Complex<Double>.zero
            for i in 0..<n { g = g + x[i].multiplied(by: c0[i]) }
            curveOmega.append(w)
            hippo.append(g.length)
            s4d.append(legs.transfer(projectedC: ctLegs, omega: w).length)
            ptd.append(chosen.transfer(projectedC: ctPTD, omega: w).length)
        }
        return PTDReport(
            n: n, method: method, eps: eps, seed: seed, seconds: Date().timeIntervalSince(start),
            iterations: iterations,
            variants: [("s4d_legs", figures(legs)), ("random", figures(random)), ("ptd", figures(chosen))],
            curves: (curveOmega, hippo, s4d, ptd))
    }

    /// The side-by-side table.
    package func text() -> String {
        let labels = ["s4d_legs": "S4D-LegS (normal part)", "random": "random PTD", "ptd": "PTD (\(method.rawValue))"]
        var rows = [["variant", "cond2(V)", "|E|/|A|", "max Re(lambda)", "transfer error"]]
        for (k, f) in variants {
            rows.append([
                labels[k] ?? k, String(format: "%.3e", f.cond), String(format: "%.4f", f.perturbationRatio),
                String(format: "%+.4f", f.maxRealEig), String(format: "%.4f", f.transferError),
            ])
        }
        let widths = (0..<rows[0].count).map { c in rows.map { $0[c].count }.max() ?? 0 }
        var out = "HiPPO-LegS N = \(n), method \(method.rawValue), eps \(eps), seed \(seed)"
        if method == .optimize { out += ", \(iterations) gradient steps" }
        out += String(format: ", %.2f s\n", seconds)
        for r in rows {
            out +=
                r.enumerated().map { i, s in
                    i == 0
                        ? s.padding(toLength: widths[i], withPad: " ", startingAt: 0)
                        : String(repeating: " ", count: widths[i] - s.count) + s
                }.joined(separator: "  ") + "\n"
        }
        out +=
            "transfer error = sup_w |G_diag - G_A| / sup_w |G_A|, w in {0} U logspace(-2, 5), mean of 5 seeded unit C\n"
        return out
    }

    /// One JSON object, pretty-printed with sorted keys like the other subcommands' `--json`:
    /// `{"n", "method", "eps", "seed", "seconds", "iterations", "variants": {name: {cond,
    /// perturbation_ratio, max_real_eig, transfer_error}}}` (non-finite numbers as `null`).
    package func json() -> String {
        func num(_ x: Double) -> Any { x.isFinite ? x : NSNull() }
        var vs: [String: Any] = [:]
        for (name, f) in variants {
            vs[name] = [
                "cond": num(f.cond), "perturbation_ratio": num(f.perturbationRatio),
                "max_real_eig": num(f.maxRealEig), "transfer_error": num(f.transferError),
            ]
        }
        let object: [String: Any] = [
            "n": n, "method": method.rawValue, "eps": num(eps), "seed": seed, "seconds": num(seconds),
            "iterations": iterations, "variants": vs,
        ]
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]),
            let text = String(data: data, encoding: .utf8)
        else { preconditionFailure("PTDReport.json: the report holds only numbers, strings and nulls") }
        return text
    }
}

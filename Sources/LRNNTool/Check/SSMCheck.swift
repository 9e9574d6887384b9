import ComplexModule
import Foundation
import LRNNKernels
import LRNNLinearAlgebra

/// Golden checkers for the state-space ops: `s4d_kernel`, `s4d_conv`, `s5`, `hippo`, `ptd`.
package enum SSMCheck {
    /// Why a state-space golden case cannot be evaluated.
    package struct CaseError: Error, CustomStringConvertible {
        /// What is wrong with the case.
        package let description: String
    }

    static let precisions = ["Float64", "Float32"]

    static func discretization(_ file: SafeTensorsFile) throws -> SSMDiscretization {
        guard let raw = file.metadata["discretization"] else {
            throw CaseError(description: "metadata 'discretization' missing, expected zoh or bilinear")
        }
        guard let d = SSMDiscretization(rawValue: raw) else {
            throw CaseError(description: "metadata 'discretization' is '\(raw)', expected zoh or bilinear")
        }
        return d
    }

    static func s4dParameters<T: LRNNScalar>(_ file: SafeTensorsFile, as: T.Type) throws -> S4DParameters<T> {
        try S4DParameters(
            logDt: file.tensor("log_dt", as: T.self), aRe: file.tensor("A_re", as: T.self),
            aIm: file.tensor("A_im", as: T.self), bRe: file.tensor("B_re", as: T.self),
            bIm: file.tensor("B_im", as: T.self), cRe: file.tensor("C_re", as: T.self),
            cIm: file.tensor("C_im", as: T.self),
            d: file.contains("D")
                ? file.tensor("D", as: T.self) : Tensor(shape: [file.info("log_dt").count], repeating: 0))
    }

    /// One measured line (shapes compared first; any error is a FAIL line carrying it).
    static func line<T: BinaryFloatingPoint>(
        _ name: String, _ op: String, _ precision: String, _ path: String,
        _ body: () throws -> [(String, Tensor<T>, Tensor<Double>)]
    ) -> CheckLine {
        GoldenCheck.measure(
            name: name, op: op, precision: precision, path: path, tolerance: GoldenCheck.opTolerance(precision),
            body)
    }

    /// The longest kernel a case may ask for (`L`), so that a file cannot make the check allocate
    /// without bound.
    static let maxKernelLength = 1 << 24

    /// `s4d_kernel`: the factored-Vandermonde kernel against `K`.
    package static func s4dKernel(_ file: SafeTensorsFile, _ name: String) throws -> [CheckLine] {
        let disc = try discretization(file)
        guard let l = try file.metadataInteger("L", in: 0...maxKernelLength) else {
            throw CaseError(description: "metadata 'L' missing")
        }
        let ref = try file.tensor("K", as: Double.self)
        let channels = try file.info("log_dt").count
        let (elements, overflow) = channels.multipliedReportingOverflow(by: Swift.max(l, 1))
        guard !overflow, elements <= maxCheckElements else {
            throw CaseError(
                description: "a kernel of \(channels) channels × L = \(l) exceeds \(maxCheckElements) elements, "
                    + "the most a golden case may ask for")
        }
        func run<T: LRNNScalar>(_: T.Type) -> CheckLine {
            line(name, "s4d_kernel", T.precisionName, "vandermonde") {
                // The kernel's shape is known before it is computed: compare it first.
                if ref.shape != [channels, l] {
                    throw GoldenShapeMismatch(tensor: "K", computed: [channels, l], expected: ref.shape)
                }
                let k = try S4D.kernel(try s4dParameters(file, as: T.self), length: l, discretization: disc)
                return [("K", k, ref)]
            }
        }
        return [run(Double.self), run(Float.self)]
    }

    /// `s4d_conv`: the chunked convolution and the recurrent path against `y`.
    package static func s4dConv(_ file: SafeTensorsFile, _ name: String) throws -> [CheckLine] {
        let disc = try discretization(file)
        let ref = try file.tensor("y", as: Double.self)
        func run<T: LRNNScalar>(_: T.Type) -> [CheckLine] {
            let inputs = Result { () throws -> (S4DParameters<T>, Tensor<T>) in
                (try s4dParameters(file, as: T.self), try file.tensor("u", as: T.self))
            }
            return [
                line(name, "s4d_conv", T.precisionName, "chunk") {
                    let (p, u) = try inputs.get()
                    return [("y", try S4D.chunked(S4D.Inputs(u: u, parameters: p), discretization: disc).output, ref)]
                },
                line(name, "s4d_conv", T.precisionName, "recurrent") {
                    let (p, u) = try inputs.get()
                    return [
                        ("y", try S4D.recurrent(S4D.Inputs(u: u, parameters: p), discretization: disc).output, ref)
                    ]
                },
            ]
        }
        return run(Double.self) + run(Float.self)
    }

    /// `s5`: the chunked GEMM path and the recurrent step against `y`.
    package static func s5(_ file: SafeTensorsFile, _ name: String) throws -> [CheckLine] {
        let disc = try discretization(file)
        let ref = try file.tensor("y", as: Double.self)
        func run<T: LRNNScalar>(_: T.Type) -> [CheckLine] {
            let inputs = Result { () throws -> S5.Inputs<T> in
                let p = try S5Parameters(
                    lambdaRe: file.tensor("Lambda_re", as: T.self), lambdaIm: file.tensor("Lambda_im", as: T.self),
                    bRe: file.tensor("B_re", as: T.self), bIm: file.tensor("B_im", as: T.self),
                    cRe: file.tensor("C_re", as: T.self), cIm: file.tensor("C_im", as: T.self),
                    logStep: file.tensor("log_step", as: T.self), d: file.tensor("D", as: T.self),
                    conjugateSymmetric: try file.metadataStrictBool("conj_sym") ?? false)
                return S5.Inputs(u: try file.tensor("u", as: T.self), parameters: p)
            }
            return [
                line(name, "s5", T.precisionName, "chunk") {
                    [("y", try S5.chunked(inputs.get(), discretization: disc).output, ref)]
                },
                line(name, "s5", T.precisionName, "recurrent") {
                    [("y", try S5.recurrent(inputs.get(), discretization: disc).output, ref)]
                },
            ]
        }
        return run(Double.self) + run(Float.self)
    }

    /// `hippo`: the transition matrix A and input vector B (worst of the two).
    package static func hippo(_ file: SafeTensorsFile, _ name: String) throws -> [CheckLine] {
        let raw = file.metadata["measure"] ?? ""
        guard let measure = HiPPOMeasure(rawValue: raw) else {
            throw CaseError(description: "metadata 'measure' is '\(raw)', expected legs, legt, lagt or fout")
        }
        let refA = try file.tensor("A", as: Double.self)
        let refB = try file.tensor("B", as: Double.self)
        guard refA.rank == 2, refA.shape[0] <= 4096 else {
            throw CaseError(description: "A has shape \(refA.shape), expected [N, N] with N ≤ 4096")
        }
        let n = refA.shape[0]
        if let stated = try file.metadataInteger("N", in: 0...4096), stated != n {
            throw CaseError(description: "metadata 'N' is \(stated), but A has shape \(refA.shape)")
        }
        func run<T: LRNNScalar>(_: T.Type) -> CheckLine {
            line(name, "hippo", T.precisionName, "matrix") {
                let (a, b) = try HiPPO.transition(measure, n: n, as: T.self)
                return [("A", a, refA), ("B", b, refB)]
            }
        }
        return [run(Double.self), run(Float.self)]
    }

    /// `ptd` (Float64 only, tolerance 1e-8): the eigenvalues of `A + E` as a multiset (each
    /// reference eigenvalue paired with the nearest unused computed one), `G_perturbed` from the
    /// diagonalised system `Σ C̃_n·B̃_n/(iω − λ_n)`, and `G_hippo` from solves `(iωI − A)x = B`.
    package static func ptd(_ file: SafeTensorsFile, _ name: String) throws -> [CheckLine] {
        let a = try file.tensor("A", as: Double.self)
        let e = try file.tensor("E", as: Double.self)
        let b = try file.tensor("B", as: Double.self).scalars
        let c = try file.tensor("C", as: Double.self).scalars
        let omega = try file.tensor("omega", as: Double.self).scalars
        let refRe = try file.tensor("lambda_re", as: Double.self).scalars
        let refIm = try file.tensor("lambda_im", as: Double.self).scalars
        guard c.count == b.count else {
            throw CaseError(description: "C has \(c.count) entries, B has \(b.count)")
        }
        guard refRe.count == refIm.count, refRe.count == b.count else {
            throw CaseError(
                description: "lambda_re/lambda_im have \(refRe.count)/\(refIm.count) entries, N = \(b.count)")
        }
        let tol = 1e-8
        let d = try PTD.decompose(a: a, b: b, perturbation: e)
        // Eigenvalues: nearest pairing.
        var unused = d.eigenvalues
        var num = 0.0
        var den = 0.0
        for (re, im) in zip(refRe, refIm) {
            let r = Complex(re, im)
            guard let k = unused.indices.min(by: { (unused[$0] - r).length < (unused[$1] - r).length }) else { break }
            num = Swift.max(num, (unused[k] - r).length)
            den = Swift.max(den, r.length)
            unused.remove(at: k)
        }
        let eigError = den > 0 ? num / den : num
        func complexError(_ x: [Complex<Double>], _ reRef: String, _ imRef: String) throws -> Double {
            let re = try file.tensor(reRef, as: Double.self).scalars
            let im = try file.tensor(imRef, as: Double.self).scalars
            guard re.count == x.count, im.count == x.count else {
                throw CaseError(description: "\(reRef) has \(re.count) entries, omega has \(x.count)")
            }
            var n = 0.0
            var m = 0.0
            for i in x.indices {
                let r = Complex(re[i], im[i])
                n = Swift.max(n, (x[i] - r).length)
                m = Swift.max(m, r.length)
            }
            return m > 0 ? n / m : n
        }
        let ct = d.projectedC(c)
        let gPerturbed = omega.map { d.transfer(projectedC: ct, omega: $0) }
        let gHippo = try PTD.resolventVectors(a: a, b: b, omegas: omega).map { x in
            zip(x, c).reduce(Complex<Double>.zero) { $0 + $1.0.multiplied(by: $1.1) }
        }
        var note = String(format: "cond2(V) = %.6g", d.eigenvectorCondition)
        if let ref = file.metadataNumber("eigenvector_condition") { note += String(format: " (golden %.6g)", ref) }
        return [
            .measured(
                name: name, op: "ptd", precision: "Float64", path: "eigenvalues", error: eigError, tolerance: tol),
            .measured(
                name: name, op: "ptd", precision: "Float64", path: "G_perturbed",
                error: try complexError(gPerturbed, "G_perturbed_re", "G_perturbed_im"), tolerance: tol, note: note),
            .measured(
                name: name, op: "ptd", precision: "Float64", path: "G_hippo",
                error: try complexError(gHippo, "G_hippo_re", "G_hippo_im"), tolerance: tol),
        ]
    }
}

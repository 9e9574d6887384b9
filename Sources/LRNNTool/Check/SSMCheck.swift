import ComplexModule
import Foundation
import LRNNKernels
import LRNNLinearAlgebra

/// Golden checkers for the state-space ops: `s4d_kernel`, `s4d_conv`, `s5`, `hippo`, `ptd`.
public enum SSMCheck {
    /// Why a state-space golden case cannot be evaluated.
    public struct CaseError: Error, CustomStringConvertible {
        /// What is wrong with the case.
        public let description: String
    }

    static let precisions = ["Float64", "Float32"]

    static func discretization(_ file: SafeTensorsFile) throws -> SSMDiscretization {
        let raw = file.metadata["discretization"] ?? "zoh"
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

    static func line(
        _ name: String, _ op: String, _ precision: String, _ path: String, _ error: Double, note: String? = nil
    ) -> CheckLine {
        .measured(
            name: name, op: op, precision: precision, path: path, error: error,
            tolerance: GoldenCheck.opTolerance(precision), note: note)
    }

    /// `s4d_kernel`: the factored-Vandermonde kernel against `K`.
    public static func s4dKernel(_ file: SafeTensorsFile, _ name: String) throws -> [CheckLine] {
        let disc = try discretization(file)
        guard let l = file.metadataNumber("L"), l >= 0, l == l.rounded() else {
            throw CaseError(description: "metadata 'L' missing or not a non-negative integer")
        }
        let ref = try file.tensor("K", as: Double.self)
        func run<T: LRNNScalar>(_: T.Type) throws -> CheckLine {
            let k = try S4D.kernel(try s4dParameters(file, as: T.self), length: Int(l), discretization: disc)
            return line(name, "s4d_kernel", T.precisionName, "vandermonde", goldenError(k, ref))
        }
        return [try run(Double.self), try run(Float.self)]
    }

    /// `s4d_conv`: the chunked convolution and the recurrent path against `y`.
    public static func s4dConv(_ file: SafeTensorsFile, _ name: String) throws -> [CheckLine] {
        let disc = try discretization(file)
        let ref = try file.tensor("y", as: Double.self)
        func run<T: LRNNScalar>(_: T.Type) throws -> [CheckLine] {
            let p = try s4dParameters(file, as: T.self)
            let u = try file.tensor("u", as: T.self)
            let chunk = try S4D.convolve(u, parameters: p, discretization: disc).y
            let rec = try S4DRecurrence(p, discretization: disc).run(u).y
            return [
                line(name, "s4d_conv", T.precisionName, "chunk", goldenError(chunk, ref)),
                line(name, "s4d_conv", T.precisionName, "recurrent", goldenError(rec, ref)),
            ]
        }
        return try run(Double.self) + run(Float.self)
    }

    /// `s5`: the chunked GEMM path and the recurrent step against `y`.
    public static func s5(_ file: SafeTensorsFile, _ name: String) throws -> [CheckLine] {
        let disc = try discretization(file)
        let ref = try file.tensor("y", as: Double.self)
        func run<T: LRNNScalar>(_: T.Type) throws -> [CheckLine] {
            let p = try S5Parameters(
                lambdaRe: file.tensor("Lambda_re", as: T.self), lambdaIm: file.tensor("Lambda_im", as: T.self),
                bRe: file.tensor("B_re", as: T.self), bIm: file.tensor("B_im", as: T.self),
                cRe: file.tensor("C_re", as: T.self), cIm: file.tensor("C_im", as: T.self),
                logStep: file.tensor("log_step", as: T.self), d: file.tensor("D", as: T.self),
                conjugateSymmetric: file.metadataBool("conj_sym") ?? false)
            let u = try file.tensor("u", as: T.self)
            let system = S5System(p, discretization: disc)
            let chunk = try S5.run(u, system: system).y
            // Recurrent: one token at a time through `step`.
            let (b, t, h) = (u.shape[0], u.shape[1], u.shape[2])
            var state = system.zeroState(batch: b)
            var rec = Tensor<T>(shape: u.shape, repeating: 0)
            for s in 0..<t {
                var ut = [T](repeating: 0, count: b * h)
                for i in 0..<b { for j in 0..<h { ut[i * h + j] = u.scalars[(i * t + s) * h + j] } }
                let yt = try S5.step(Tensor(shape: [b, h], scalars: ut), system: system, state: &state)
                for i in 0..<b { for j in 0..<h { rec.scalars[(i * t + s) * h + j] = yt.scalars[i * h + j] } }
            }
            return [
                line(name, "s5", T.precisionName, "chunk", goldenError(chunk, ref)),
                line(name, "s5", T.precisionName, "recurrent", goldenError(rec, ref)),
            ]
        }
        return try run(Double.self) + run(Float.self)
    }

    /// `hippo`: the transition matrix A and input vector B (worst of the two).
    public static func hippo(_ file: SafeTensorsFile, _ name: String) throws -> [CheckLine] {
        let raw = file.metadata["measure"] ?? ""
        guard let measure = HiPPOMeasure(rawValue: raw) else {
            throw CaseError(description: "metadata 'measure' is '\(raw)', expected legs, legt, lagt or fout")
        }
        let refA = try file.tensor("A", as: Double.self)
        let refB = try file.tensor("B", as: Double.self)
        guard refA.rank == 2 else { throw CaseError(description: "A has shape \(refA.shape), expected [N, N]") }
        let n = refA.shape[0]
        func run<T: LRNNScalar>(_: T.Type) throws -> CheckLine {
            let (a, b) = try HiPPO.transition(measure, n: n, as: T.self)
            let ea = goldenError(a, refA)
            let eb = goldenError(b, refB)
            return line(name, "hippo", T.precisionName, "matrix", Swift.max(ea, eb), note: ea >= eb ? "A" : "B")
        }
        return [try run(Double.self), try run(Float.self)]
    }
}

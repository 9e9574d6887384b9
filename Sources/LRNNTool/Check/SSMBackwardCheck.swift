import ComplexModule
import Foundation
import LRNNKernels
import LRNNLinearAlgebra

/// Golden checkers for the state-space backward ops `s4d_conv_backward` and `s5_backward`: per
/// precision, the chunked backward ("chunk", with the chunked forward for `y`) and the reference
/// backward ("naive", with the reference forward), one line each; the error is the largest over
/// `y` and every gradient the case stores.
package enum SSMBackwardCheck {
    /// The gradient tensors of an `s4d_conv_backward` case, by the field of ``S4DParameters`` they
    /// hold (FORMAT.md, "Backward cases").
    static let s4dGradients = ["dlog_dt", "dA_re", "dA_im", "dB_re", "dB_im", "dC_re", "dC_im", "dD"]

    /// The gradient tensors of an `s5_backward` case.
    static let s5Gradients = [
        "dLambda_re", "dLambda_im", "dB_re", "dB_im", "dC_re", "dC_im", "dlog_step", "dD",
    ]

    /// `s4d_conv_backward`: gradients of `Σ y·dy` with respect to u and every S4D parameter.
    ///
    /// - Parameters:
    ///   - file: the case.
    ///   - name: the case name.
    /// - Returns: four lines (chunk and naive, Float64 and Float32).
    /// - Throws: ``SSMCheck/CaseError`` for a missing or unknown discretisation.
    package static func s4dConvBackward(_ file: SafeTensorsFile, _ name: String) throws -> [CheckLine] {
        let disc = try SSMCheck.discretization(file)
        func run<T: LRNNScalar>(_: T.Type, path: String) -> CheckLine {
            SSMCheck.line(name, "s4d_conv_backward", T.precisionName, path) {
                let p = try SSMCheck.s4dParameters(file, as: T.self)
                let inputs = S4D.Inputs(u: try file.tensor("u", as: T.self), parameters: p)
                let dy = try file.tensor("dy", as: T.self)
                let y: Tensor<T>
                let g: S4D.Inputs<T>
                if path == "chunk" {
                    y = try S4D.chunked(inputs, discretization: disc).output
                    g = try S4D.backward(
                        inputs, discretization: disc, outputGradient: dy, finalStateGradient: nil)
                } else {
                    y = try S4D.reference(inputs, discretization: disc).output
                    g = try S4D.referenceBackward(
                        inputs, discretization: disc, outputGradient: dy, finalStateGradient: nil)
                }
                let q = g.parameters
                let computed = [q.logDt, q.aRe, q.aIm, q.bRe, q.bIm, q.cRe, q.cIm, q.d]
                return try [
                    ("y", y, file.tensor("y", as: Double.self)), ("du", g.u, file.tensor("du", as: Double.self)),
                ]
                    + zip(s4dGradients, computed).map { key, x in (key, x, try file.tensor(key, as: Double.self)) }
            }
        }
        return [
            run(Double.self, path: "chunk"), run(Double.self, path: "naive"), run(Float.self, path: "chunk"),
            run(Float.self, path: "naive"),
        ]
    }

    /// `s5_backward`: gradients of `Σ y·dy` with respect to u and every S5 parameter.
    ///
    /// - Parameters:
    ///   - file: the case.
    ///   - name: the case name.
    /// - Returns: four lines (chunk and naive, Float64 and Float32).
    /// - Throws: ``SSMCheck/CaseError`` for a missing or unknown discretisation.
    package static func s5Backward(_ file: SafeTensorsFile, _ name: String) throws -> [CheckLine] {
        let disc = try SSMCheck.discretization(file)
        func run<T: LRNNScalar>(_: T.Type, path: String) -> CheckLine {
            SSMCheck.line(name, "s5_backward", T.precisionName, path) {
                let p = try S5Parameters(
                    lambdaRe: file.tensor("Lambda_re", as: T.self), lambdaIm: file.tensor("Lambda_im", as: T.self),
                    bRe: file.tensor("B_re", as: T.self), bIm: file.tensor("B_im", as: T.self),
                    cRe: file.tensor("C_re", as: T.self), cIm: file.tensor("C_im", as: T.self),
                    logStep: file.tensor("log_step", as: T.self), d: file.tensor("D", as: T.self),
                    conjugateSymmetric: try file.metadataStrictBool("conj_sym") ?? false)
                let inputs = S5.Inputs(u: try file.tensor("u", as: T.self), parameters: p)
                let dy = try file.tensor("dy", as: T.self)
                let y: Tensor<T>
                let g: S5.Inputs<T>
                if path == "chunk" {
                    y = try S5.chunked(inputs, discretization: disc).output
                    g = try S5.backward(inputs, discretization: disc, outputGradient: dy, finalStateGradient: nil)
                } else {
                    // The reference backward validates u before the reference forward reads it.
                    g = try S5.referenceBackward(
                        inputs, discretization: disc, outputGradient: dy, finalStateGradient: nil)
                    y = try S5.reference(inputs, discretization: disc).output
                }
                let q = g.parameters
                let computed = [q.lambdaRe, q.lambdaIm, q.bRe, q.bIm, q.cRe, q.cIm, q.logStep, q.d]
                return try [
                    ("y", y, file.tensor("y", as: Double.self)), ("du", g.u, file.tensor("du", as: Double.self)),
                ]
                    + zip(s5Gradients, computed).map { key, x in (key, x, try file.tensor(key, as: Double.self)) }
            }
        }
        return [
            run(Double.self, path: "chunk"), run(Double.self, path: "naive"), run(Float.self, path: "chunk"),
            run(Float.self, path: "naive"),
        ]
    }
}

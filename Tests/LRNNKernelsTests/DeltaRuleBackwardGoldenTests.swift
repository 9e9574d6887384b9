import Foundation
import LRNNKernels
import LRNNLinearAlgebra
import LRNNTestSupport
import Testing

/// The golden backward cases of the delta-rule family (`*_backward_*`: cotangents `do`, optional
/// `dht`; expected `dq`, `dk`, `dv`, `dbeta`, `dg`, `dh0`), through the chunked and the reference
/// backward in both precisions (Float64 ≤ 1e-9, Float32 ≤ 1e-4 per gradient).
@Suite(.enabled(if: Golden.isAvailable, Golden.skipMessage))
struct DeltaRuleBackwardGoldenTests {
    static let ops: Set<String> = ["delta_rule_backward", "gated_delta_rule_backward", "delta_product_backward"]

    /// The golden case files whose op is a delta-rule backward.
    static var cases: [String] {
        Golden.caseFiles.filter { name in
            guard let f = try? SafeTensorsFile(path: Golden.path(name)), let op = f.metadata["op"] else { return false }
            return ops.contains(op)
        }
    }

    /// The worst gradient error of one case in precision T: (chunk, reference), each with its field.
    static func run<T: LRNNScalar>(_ name: String, _: T.Type) throws -> [(path: String, error: Double, field: String)] {
        let f = try SafeTensorsFile(path: Golden.path(name))
        let inputs = DeltaRule.Inputs<T>(
            q: try f.tensor("q", as: T.self), k: try f.tensor("k", as: T.self), v: try f.tensor("v", as: T.self),
            beta: try f.tensor("beta", as: T.self), g: f.contains("g") ? try f.tensor("g", as: T.self) : nil,
            initialState: f.contains("h0") ? try f.tensor("h0", as: T.self) : nil)
        let sequences = f.contains("cu_seqlens") ? try SequenceBoundaries(f.integerTensor("cu_seqlens").scalars) : nil
        let n = Int(f.metadataNumber("num_householder") ?? 1)
        let scale = f.metadataNumber("scale").map { T($0) }
        let dO = try f.tensor("do", as: T.self)
        let dht = f.contains("dht") ? try f.tensor("dht", as: T.self) : nil
        let expected = DeltaRule.Inputs<Double>(
            q: try f.tensor("dq", as: Double.self), k: try f.tensor("dk", as: Double.self),
            v: try f.tensor("dv", as: Double.self), beta: try f.tensor("dbeta", as: Double.self),
            g: f.contains("g") ? try f.tensor("dg", as: Double.self) : nil,
            initialState: f.contains("h0") ? try f.tensor("dh0", as: Double.self) : nil)
        let chunk = try DeltaRule.backward(
            inputs, scale: scale, numHouseholder: n, sequences: sequences, outputGradient: dO, finalStateGradient: dht)
        let reference = try DeltaRule.referenceBackward(
            inputs, scale: scale, numHouseholder: n, sequences: sequences, outputGradient: dO, finalStateGradient: dht)
        let c = gradientError(chunk, expected)
        let r = gradientError(reference, expected)
        return [("chunk", c.error, c.field), ("naive", r.error, r.field)]
    }

    @Test("every delta-rule backward golden case, both paths, Float64 ≤ 1e-9 and Float32 ≤ 1e-4")
    func goldens() throws {
        let names = Self.cases
        #expect(names.count >= 5, "found \(names)")
        for name in names {
            for (path, error, field) in try Self.run(name, Double.self) {
                #expect(error <= 1e-9, "\(name) Float64 \(path): \(error) in \(field)")
            }
            for (path, error, field) in try Self.run(name, Float.self) {
                #expect(error <= 1e-4, "\(name) Float32 \(path): \(error) in \(field)")
            }
        }
    }
}

import Foundation
import LRNNLinearAlgebra
import LRNNModels
import LRNNTestSupport
import Testing

/// The training cases (`model_*_train/train_golden.safetensors`, FORMAT.md "Training cases"):
/// the loss and the gradient of every checkpoint tensor, through the library API.
@Suite(.enabled(if: Golden.isAvailable, Golden.skipMessage))
struct GoldenTrainingTests {
    static let cases = [
        "model_delta_net_train", "model_gated_deltanet_train", "model_gated_deltaproduct_train", "model_gla_train",
    ]

    /// The largest error over the loss and every gradient, and the checks on the key sets.
    func errors<T: LRNNScalar>(_ name: String, _: T.Type) throws -> (loss: Double, gradients: [String: Double]) {
        let dir = Golden.path(name)
        let g = try SafeTensorsFile(path: dir + "/train_golden.safetensors")
        let model = try CausalLM<T>.load(directory: dir)
        let ids = try g.integerTensor("input_ids")
        let labels = try g.integerTensor("labels")
        let t = ids.shape[1]
        let rows = { (x: Tensor<Int>) in (0..<x.shape[0]).map { Array(x.scalars[($0 * t)..<(($0 + 1) * t)]) } }
        let (loss, grads) = try model.lossAndGradients(inputIDs: rows(ids), labels: rows(labels))
        let refLoss = try g.tensor("loss", as: Double.self).scalars[0]
        let checkpoint = try SafeTensorsFile(path: dir + "/model.safetensors")
        // Exactly one gradient per checkpoint tensor, and one golden gradient per tensor.
        #expect(Set(grads.keys) == Set(checkpoint.names))
        #expect(Set(g.names.filter { $0.hasPrefix("grad.") }.map { String($0.dropFirst(5)) }) == Set(checkpoint.names))
        #expect(Set(model.parameters().keys) == Set(checkpoint.names))
        var out: [String: Double] = [:]
        for key in checkpoint.names {
            let ref = try g.tensor("grad." + key, as: Double.self)
            let got = try #require(grads[key])
            #expect(got.shape == ref.shape, "\(key)")
            out[key] = got.converted(to: Double.self).relativeError(to: ref)
        }
        let lossErr = abs(Double(loss) - refLoss) / abs(refLoss)
        // loss() agrees with lossAndGradients' loss.
        let alone = try model.loss(inputIDs: rows(ids), labels: rows(labels))
        #expect(abs(Double(alone) - Double(loss)) <= (T.self == Double.self ? 1e-12 : 1e-5) * abs(refLoss))
        return (lossErr, out)
    }

    @Test(arguments: cases)
    func float64(_ name: String) throws {
        let (loss, grads) = try errors(name, Double.self)
        #expect(loss <= 1e-8, "\(name) loss error \(loss)")
        for (k, e) in grads.sorted(by: { $0.key < $1.key }) { #expect(e <= 1e-8, "\(name) \(k): \(e)") }
    }

    @Test(arguments: cases)
    func float32(_ name: String) throws {
        let (loss, grads) = try errors(name, Float.self)
        #expect(loss <= 1e-4, "\(name) loss error \(loss)")
        for (k, e) in grads.sorted(by: { $0.key < $1.key }) { #expect(e <= 1e-4, "\(name) \(k): \(e)") }
    }
}

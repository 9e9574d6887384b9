import Foundation
import LRNNLinearAlgebra
import LRNNModels
import LRNNTraining

/// `lrnn check` for op `model_train` (FORMAT.md, "Training cases"): `train_golden.safetensors`
/// inside a model directory, holding a batch (`input_ids`, `labels` `[B, T]`), the loss and
/// `grad.<key>` for every tensor of the directory's `model.safetensors`.
///
/// Per precision, the `gradients` line loads the model beside the file, runs
/// ``/LRNNModels/CausalLM/lossAndGradients(inputIDs:labels:)`` and reports the largest golden
/// error over the loss and every gradient (tolerance 1e-8 in Float64, 1e-4 in Float32). The
/// case's `grad.` keys must be exactly the model's parameter keys. Per precision, the
/// `trajectory` line runs the case's AdamW steps with clipping (``TrainCheck``) and compares the
/// loss and gradient-norm trajectories (tolerance 1e-8 in Float64, 1e-4 in Float32).
package enum ModelTrainCheck {
    /// The tolerance of the loss and gradients: 1e-8 in Float64, 1e-4 in Float32.
    package static func tolerance(_ precision: String) -> Double {
        precision == "Float64" ? 1e-8 : 1e-4
    }

    /// The checker registered for op `model_train`.
    package static let check: GoldenOpChecker = { file, name in
        let directory = (file.path as NSString).deletingLastPathComponent
        let batch = Result { try batchRows(file) }
        return [
            gradientsLine(Double.self, file, directory, batch, name),
            gradientsLine(Float.self, file, directory, batch, name),
            trajectoryLine(Double.self, file, directory, batch, name),
            trajectoryLine(Float.self, file, directory, batch, name),
        ]
    }

    /// The `trajectory` line of one precision (``TrainCheck/trajectoryLine(_:name:inputIDs:labels:model:)``
    /// on the model beside the file).
    static func trajectoryLine<T: LRNNScalar>(
        _: T.Type, _ file: SafeTensorsFile, _ directory: String,
        _ batch: Result<(ids: [[Int]], labels: [[Int]]), any Error>,
        _ name: String
    ) -> CheckLine {
        switch batch {
        case let .success((ids, labels)):
            return TrainCheck.trajectoryLine(file, name: name, inputIDs: ids, labels: labels) {
                try CausalLM<T>.load(directory: directory)
            }
        case let .failure(error):
            return CheckLine(
                name: name, op: "model_train", precision: T.precisionName, path: "trajectory", error: nil,
                tolerance: tolerance(T.precisionName), status: .fail, note: "\(error)")
        }
    }

    /// `input_ids` and `labels` as rows, validated: both `[B, T]` with B ≥ 1, the same shape.
    static func batchRows(_ file: SafeTensorsFile) throws -> (ids: [[Int]], labels: [[Int]]) {
        let ids = try file.integerTensor("input_ids")
        let labels = try file.integerTensor("labels")
        guard ids.rank == 2, ids.shape[0] >= 1 else {
            throw GoldenCaseError("\(file.path): input_ids has shape \(ids.shape), expected [B, T] with B ≥ 1")
        }
        guard labels.shape == ids.shape else {
            throw GoldenShapeMismatch(tensor: "labels", computed: ids.shape, expected: labels.shape)
        }
        let t = ids.shape[1]
        func rows(_ x: Tensor<Int>) -> [[Int]] { (0..<x.shape[0]).map { Array(x.scalars[($0 * t)..<(($0 + 1) * t)]) } }
        return (rows(ids), rows(labels))
    }

    /// The `gradients` line of one precision.
    static func gradientsLine<T: LRNNScalar>(
        _: T.Type, _ file: SafeTensorsFile, _ directory: String,
        _ batch: Result<(ids: [[Int]], labels: [[Int]]), any Error>,
        _ name: String
    ) -> CheckLine {
        let precision = T.precisionName
        return GoldenCheck.measure(
            name: name, op: "model_train", precision: precision, path: "gradients", tolerance: tolerance(precision)
        ) {
            let (ids, labels) = try batch.get()
            let model = try CausalLM<T>.load(directory: directory)
            let keys = Set(model.parameters().keys)
            let golden = Set(file.names.filter { $0.hasPrefix("grad.") }.map { String($0.dropFirst("grad.".count)) })
            if let missing = keys.subtracting(golden).sorted().first {
                throw GoldenCaseError("\(file.path): no grad.\(missing) for the parameter \(missing)")
            }
            if let extra = golden.subtracting(keys).sorted().first {
                throw GoldenCaseError("\(file.path): grad.\(extra) names no parameter of the model")
            }
            let (loss, gradients) = try model.lossAndGradients(inputIDs: ids, labels: labels)
            var triples = [("loss", Tensor(shape: [1], scalars: [loss]), try file.tensor("loss", as: Double.self))]
            for key in keys.sorted() {
                triples.append(("grad." + key, gradients[key]!, try file.tensor("grad." + key, as: Double.self)))
            }
            return triples
        }
    }
}

import Foundation
import LRNNLinearAlgebra
import LRNNModels
import LRNNTraining

/// A "model" whose loss is a fixed function of its parameters (the batch is ignored), for
/// optimiser tests:
/// - ``Objective/quadratic``: `L = ½ Σ a (p − c)²`, `dL/dp = a (p − c)`;
/// - ``Objective/squareRootOfMagnitude``: `L = Σ √|p|`, `dL/dp = sign(p) / (2√|p|)`: finite loss,
///   non-finite gradient where p = 0.
public struct ObjectiveModel<T: LRNNScalar>: TrainableModel, Sendable {
    /// The loss function.
    public enum Objective: Sendable {
        /// `½ Σ a (p − c)²` with curvature a and target c per key.
        case quadratic(curvature: [String: Tensor<T>], target: [String: Tensor<T>])
        /// `Σ √|p|`.
        case squareRootOfMagnitude
    }

    /// The loss function.
    public let objective: Objective
    private let values: [String: Tensor<T>]

    /// A model at the given parameters.
    public init(parameters: [String: Tensor<T>], objective: Objective) {
        values = parameters
        self.objective = objective
    }

    public func parameters() -> [String: Tensor<T>] { values }

    public func updating(parameters: [String: Tensor<T>]) throws(ModelLoadError) -> ObjectiveModel<T> {
        let missing = values.keys.sorted().filter { parameters[$0] == nil }.map { KeyShape($0, values[$0]!.shape) }
        if !missing.isEmpty { throw .missingKeys(file: "parameters", keys: missing) }
        return ObjectiveModel(parameters: parameters, objective: objective)
    }

    /// The gradient of the objective at `p` under `key`.
    public func gradient(_ key: String, _ p: Tensor<T>) -> Tensor<T> {
        switch objective {
        case let .quadratic(a, c):
            Tensor(
                shape: p.shape,
                scalars: (0..<p.count).map { a[key]!.scalars[$0] * (p.scalars[$0] - c[key]!.scalars[$0]) })
        case .squareRootOfMagnitude:
            p.map { x in (x > 0 ? 1 : x < 0 ? -1 : 0) / (2 * Swift.abs(x).squareRoot()) }
        }
    }

    public func loss(inputIDs: [[Int]], labels: [[Int]]) throws(ModelError) -> T {
        var total: T = 0
        for k in values.keys.sorted() {
            let p = values[k]!
            for i in 0..<p.count {
                switch objective {
                case let .quadratic(a, c):
                    let r = p.scalars[i] - c[k]!.scalars[i]
                    total += a[k]!.scalars[i] * r * r / 2
                case .squareRootOfMagnitude: total += Swift.abs(p.scalars[i]).squareRoot()
                }
            }
        }
        return total
    }

    public func lossAndGradients(inputIDs: [[Int]], labels: [[Int]]) throws(ModelError)
        -> (loss: T, gradients: [String: Tensor<T>])
    {
        var g: [String: Tensor<T>] = [:]
        for (k, p) in values { g[k] = gradient(k, p) }
        return (try loss(inputIDs: inputIDs, labels: labels), g)
    }

    /// Writes `model.safetensors` (the objective is code, not data: there is no `config.json`).
    public func write(to directory: String, dtype: SafeTensorsDType) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var w = SafeTensorsWriter(metadata: ["format": "pt"])
        for k in values.keys.sorted() { w.add(k, values[k]!, as: dtype) }
        try w.write(to: (directory as NSString).appendingPathComponent("model.safetensors"))
    }
}

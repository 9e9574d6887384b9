import Foundation
import LRNNLinearAlgebra
import LRNNTraining

/// The golden training cases' trajectory (FORMAT.md, "Training cases") written out element by
/// element in Double, independently of ``AdamW`` and ``GradientClipping``: the loss before each
/// step, the global norm before clipping, clipping by `min(1, c / (n + 1e-6))`, then per element
/// `p ← p(1 − lr·wd)`, `m ← β1 m + (1 − β1) g`, `v ← β2 v + (1 − β2) g²`,
/// `p ← p − (lr / (1 − β1^t)) m / (√v / √(1 − β2^t) + ε)`.
public enum ReferenceAdamW {
    /// The result of a reference run.
    public struct Run {
        /// The loss before each step, then after the last: S + 1 values.
        public var losses: [Double]
        /// The global gradient norm before clipping at each step.
        public var norms: [Double]
        /// The final parameters by key.
        public var parameters: [String: Tensor<Double>]
    }

    /// Runs `steps` steps on one batch.
    ///
    /// - Parameters:
    ///   - model: the model at its starting parameters.
    ///   - inputIDs: the batch.
    ///   - labels: its labels.
    ///   - steps: S.
    ///   - lr: the learning rate (constant).
    ///   - beta1: β1.
    ///   - beta2: β2.
    ///   - eps: ε.
    ///   - weightDecay: wd of each key.
    ///   - learningRateScale: the factor on lr of each key.
    ///   - clip: c.
    public static func run<M: TrainableModel>(
        _ model: M, inputIDs: [[Int]], labels: [[Int]], steps: Int, lr: Double, beta1: Double, beta2: Double,
        eps: Double, weightDecay: (String) -> Double, learningRateScale: (String) -> Double = { _ in 1 },
        clip: Double
    ) throws -> Run where M.Scalar == Double {
        var model = model
        let shapes = model.parameters().mapValues(\.shape)
        var p = model.parameters().mapValues(\.scalars)
        var m = p.mapValues { [Double](repeating: 0, count: $0.count) }
        var v = m
        var losses: [Double] = []
        var norms: [Double] = []
        for s in 0..<steps {
            let (loss, gradients) = try model.lossAndGradients(inputIDs: inputIDs, labels: labels)
            losses.append(loss)
            var squares = 0.0
            for k in p.keys { for x in gradients[k]!.scalars { squares += x * x } }
            let n = squares.squareRoot()
            norms.append(n)
            let factor = min(1, clip / (n + 1e-6))
            let t = Double(s + 1)
            for k in p.keys {
                let rate = lr * learningRateScale(k)
                for i in 0..<p[k]!.count {
                    let g = gradients[k]!.scalars[i] * factor
                    p[k]![i] *= 1 - rate * weightDecay(k)
                    m[k]![i] = beta1 * m[k]![i] + (1 - beta1) * g
                    v[k]![i] = beta2 * v[k]![i] + (1 - beta2) * g * g
                    let mHat = m[k]![i] / (1 - pow(beta1, t))
                    p[k]![i] -= rate * mHat / (v[k]![i].squareRoot() / (1 - pow(beta2, t)).squareRoot() + eps)
                }
            }
            model = try model.updating(
                parameters: Dictionary(
                    uniqueKeysWithValues: p.map { k, x in (k, Tensor(shape: shapes[k]!, scalars: x)) }))
        }
        losses.append(try model.loss(inputIDs: inputIDs, labels: labels))
        return Run(losses: losses, norms: norms, parameters: model.parameters())
    }
}

import Foundation
import LRNNLinearAlgebra
import LRNNModels
import LRNNTraining

/// The AdamW trajectory of a training case (FORMAT.md, "Training cases"): S steps on the case's
/// one batch from the stored parameters, each recording the loss and the global gradient norm
/// before clipping, then clipping with ``/LRNNTraining/GradientClipping`` and updating with
/// ``/LRNNTraining/AdamW`` (weight decay on every parameter, no groups, constant learning rate).
/// The hyperparameters come from the case's metadata: `adamw_steps`, `adamw_lr`, `adamw_beta1`,
/// `adamw_beta2`, `adamw_eps`, `adamw_weight_decay`, `clip_grad_norm`.
package enum TrainCheck {
    /// The tolerance of the trajectories: 1e-8 in Float64, 1e-4 in Float32.
    package static func tolerance(_ precision: String) -> Double {
        precision == "Float64" ? 1e-8 : 1e-4
    }

    /// The hyperparameters of a case's trajectory, read from its metadata.
    package struct Hyperparameters: Sendable, Equatable {
        /// S, the number of optimiser steps (1…1000).
        package var steps: Int
        /// The learning rate.
        package var learningRate: Double
        /// β1.
        package var beta1: Double
        /// β2.
        package var beta2: Double
        /// ε.
        package var epsilon: Double
        /// The decoupled weight decay.
        package var weightDecay: Double
        /// c of global-norm clipping.
        package var clipNorm: Double

        /// Reads and validates the metadata of a training case.
        ///
        /// - Parameter file: the case file.
        /// - Throws: ``GoldenCaseError`` naming a missing or malformed metadata value.
        package init(_ file: SafeTensorsFile) throws(GoldenCaseError) {
            func number(_ key: String) throws(GoldenCaseError) -> Double {
                guard let d = try file.metadataFiniteNumber(key) else {
                    throw GoldenCaseError("\(file.path): no metadata '\(key)'")
                }
                return d
            }
            guard let s = try file.metadataInteger("adamw_steps", in: 1...1000) else {
                throw GoldenCaseError("\(file.path): no metadata 'adamw_steps'")
            }
            steps = s
            learningRate = try number("adamw_lr")
            beta1 = try number("adamw_beta1")
            beta2 = try number("adamw_beta2")
            epsilon = try number("adamw_eps")
            weightDecay = try number("adamw_weight_decay")
            clipNorm = try number("clip_grad_norm")
        }
    }

    /// Runs the trajectory.
    ///
    /// - Parameters:
    ///   - model: the model at the case's stored parameters.
    ///   - inputIDs: the batch's rows.
    ///   - labels: the batch's labels (−100: ignored).
    ///   - hyperparameters: S and the optimiser's settings.
    /// - Returns: `loss [S + 1]` (the loss before each step, then after the last) and
    ///   `gradNorm [S]` (the global norm before clipping at each step).
    /// - Throws: the model's `ModelError`, or ``/LRNNTraining/TrainingError`` for settings out of
    ///   range.
    package static func trajectory<M: TrainableModel>(
        _ model: M, inputIDs: [[Int]], labels: [[Int]], hyperparameters h: Hyperparameters
    ) throws -> (loss: Tensor<M.Scalar>, gradNorm: Tensor<M.Scalar>) {
        typealias T = M.Scalar
        var model = model
        var optimizer = try AdamW<T>(
            beta1: T(h.beta1), beta2: T(h.beta2), epsilon: T(h.epsilon), weightDecay: T(h.weightDecay))
        var losses: [T] = []
        var norms: [T] = []
        for _ in 0..<h.steps {
            var (loss, gradients) = try model.lossAndGradients(inputIDs: inputIDs, labels: labels)
            losses.append(loss)
            norms.append(try GradientClipping.clip(&gradients, maxNorm: T(h.clipNorm)))
            try optimizer.update(model: &model, gradients: gradients, learningRate: T(h.learningRate))
        }
        losses.append(try model.loss(inputIDs: inputIDs, labels: labels))
        return (Tensor(shape: [losses.count], scalars: losses), Tensor(shape: [norms.count], scalars: norms))
    }

    /// The `trajectory` line of one precision: `loss_trajectory` and `grad_norm_trajectory`
    /// against the case's, the larger error reported.
    ///
    /// - Parameters:
    ///   - file: the training case (`train_golden.safetensors`).
    ///   - name: the case name.
    ///   - inputIDs: the batch's rows (from ``ModelTrainCheck``'s validation).
    ///   - labels: the batch's labels.
    ///   - model: builds the model at the case's stored parameters, in the line's precision.
    /// - Returns: a measured line (path `trajectory`), or a FAIL line carrying the error.
    package static func trajectoryLine<M: TrainableModel>(
        _ file: SafeTensorsFile, name: String, inputIDs: [[Int]], labels: [[Int]], model: () throws -> M
    ) -> CheckLine {
        let precision = M.Scalar.precisionName
        return GoldenCheck.measure(
            name: name, op: "model_train", precision: precision, path: "trajectory", tolerance: tolerance(precision)
        ) {
            let h = try Hyperparameters(file)
            let (loss, norm) = try trajectory(try model(), inputIDs: inputIDs, labels: labels, hyperparameters: h)
            return [
                ("loss_trajectory", loss, try file.tensor("loss_trajectory", as: Double.self)),
                ("grad_norm_trajectory", norm, try file.tensor("grad_norm_trajectory", as: Double.self)),
            ]
        }
    }
}

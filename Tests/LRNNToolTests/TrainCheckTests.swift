import Foundation
import LRNNLinearAlgebra
import LRNNTestSupport
import LRNNTool
import LRNNTraining
import Testing

@Suite("lrnn check: AdamW trajectories of training cases")
struct TrainCheckTests {
    static let metadata = [
        "op": "model_train", "adamw_steps": "6", "adamw_lr": "0.01", "adamw_beta1": "0.9", "adamw_beta2": "0.999",
        "adamw_eps": "1e-08", "adamw_weight_decay": "0.01", "clip_grad_norm": "0.5",
    ]

    /// A training case for the toy model whose trajectories come from ``ReferenceAdamW``.
    static func toyCase(in d: ScratchDirectory, metadata: [String: String] = metadata, perturb: Double = 0) throws -> (
        file: SafeTensorsFile, ids: [[Int]], labels: [[Int]]
    ) {
        let ids = [[1, 4, 2, 9, 3], [7, 7, 0, 5, 11]]
        let labels = [[4, 2, -100, 3, 8], [-100, 0, 5, 11, 6]]
        let run = try ReferenceAdamW.run(
            ToyLanguageModel<Double>(vocabSize: 12, hiddenSize: 5, seed: 81), inputIDs: ids, labels: labels, steps: 6,
            lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: { _ in 0.01 }, clip: 0.5)
        var losses = run.losses
        losses[3] *= 1 + perturb
        var w = SafeTensorsWriter(metadata: metadata)
        w.add("loss_trajectory", Tensor(shape: [7], scalars: losses), as: .float64)
        w.add("grad_norm_trajectory", Tensor(shape: [6], scalars: run.norms), as: .float64)
        let path = try d.file("toy_train.safetensors", contents: "")
        try w.write(to: path)
        return (try SafeTensorsFile(path: path), ids, labels)
    }

    @Test func toyTrajectoryPassesInBothPrecisions() throws {
        let d = try ScratchDirectory()
        let (file, ids, labels) = try Self.toyCase(in: d)
        let f64 = TrainCheck.trajectoryLine(file, name: "toy", inputIDs: ids, labels: labels) {
            ToyLanguageModel<Double>(vocabSize: 12, hiddenSize: 5, seed: 81)
        }
        #expect(f64.status == .pass && f64.path == "trajectory" && f64.tolerance == 1e-8)
        #expect(f64.error! <= 1e-13)
        let f32 = TrainCheck.trajectoryLine(file, name: "toy", inputIDs: ids, labels: labels) {
            ToyLanguageModel<Float>(vocabSize: 12, hiddenSize: 5, seed: 81)
        }
        #expect(f32.status == .pass && f32.precision == "Float32" && f32.tolerance == 1e-4, "\(f32)")
    }

    @Test func aPerturbedTrajectoryFailsInFloat64() throws {
        let d = try ScratchDirectory()
        let (file, ids, labels) = try Self.toyCase(in: d, perturb: 1e-6)
        let line = TrainCheck.trajectoryLine(file, name: "toy", inputIDs: ids, labels: labels) {
            ToyLanguageModel<Double>(vocabSize: 12, hiddenSize: 5, seed: 81)
        }
        #expect(line.status == .fail && line.note == "worst: loss_trajectory")
        #expect(line.error! > 5e-7)
    }

    @Test func missingOrBadHyperparametersFailTheLine() throws {
        let d = try ScratchDirectory()
        var meta = Self.metadata
        meta["adamw_lr"] = nil
        let (file, ids, labels) = try Self.toyCase(in: d, metadata: meta)
        let line = TrainCheck.trajectoryLine(file, name: "toy", inputIDs: ids, labels: labels) {
            ToyLanguageModel<Double>(vocabSize: 12, hiddenSize: 5, seed: 81)
        }
        #expect(line.status == .fail && line.note == "\(file.path): no metadata 'adamw_lr'")
        meta = Self.metadata
        meta["adamw_beta2"] = "1.5"
        let bad = try Self.toyCase(in: d, metadata: meta)
        let line2 = TrainCheck.trajectoryLine(bad.file, name: "toy", inputIDs: ids, labels: labels) {
            ToyLanguageModel<Double>(vocabSize: 12, hiddenSize: 5, seed: 81)
        }
        #expect(line2.status == .fail && line2.note == "argument 'beta2': 1.5, expected a value in [0, 1)")
    }

    @Test(.enabled(if: Golden.isAvailable, Golden.skipMessage))
    func aGoldenCaseWithAShiftedLossTrajectoryFailsOnlyInFloat64() throws {
        let d = try ScratchDirectory()
        let (source, dir) = try copyGoldenModel(
            "model_delta_net_train", files: ["config.json", "model.safetensors"], into: d, as: "train")
        let golden = try SafeTensorsFile(path: source + "/train_golden.safetensors")
        var w = SafeTensorsWriter(metadata: golden.metadata)
        for n in golden.names {
            if n == "input_ids" || n == "labels" {
                w.add(n, integers: try golden.integerTensor(n))
            } else {
                var t = try golden.tensor(n, as: Double.self)
                if n == "loss_trajectory" { t.scalars[5] *= 1 + 1e-6 }
                w.add(n, t, as: .float64)
            }
        }
        try w.write(to: dir + "/train_golden.safetensors")
        let lines = GoldenCheck.run(.file(path: dir + "/train_golden.safetensors"))
        #expect(lines.map(\.path) == ["gradients", "gradients", "trajectory", "trajectory"])
        #expect(lines.map(\.status) == [.pass, .pass, .fail, .pass])
        #expect(lines[2].note == "worst: loss_trajectory")
    }
}

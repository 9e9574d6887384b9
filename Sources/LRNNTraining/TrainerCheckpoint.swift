import Foundation
import LRNNLinearAlgebra
import LRNNModels

extension Trainer {
    /// The name of the trainer-state file inside a checkpoint directory.
    public static var stateFileName: String { "trainer_state.safetensors" }

    /// The `format` metadata value of a trainer-state file.
    public static var stateFormat: String { "lrnn-trainer-state-1" }

    /// Writes a checkpoint: the model (`config.json` and `model.safetensors` by
    /// ``TrainableModel/write(to:dtype:)``) and the trainer state (``stateFileName``).
    ///
    /// The state file holds, for every parameter key k, `parameters.k` (the parameters in the
    /// training precision: F64 for `Double`, F32 for `Float`, so that resuming starts from the
    /// exact values even when the model file is F32 or BF16), `exp_avg.k` and `exp_avg_sq.k`
    /// (AdamW's m and v; zeros before the first update), and the metadata `format`,
    /// `precision`, `adamw_step` (t), `schedule_step` (s), `skipped_steps`, `data_seed`,
    /// `data_epoch`, `data_position`, `data_count`, `data_source` (`examples`, or `batch_source`
    /// for a trainer fed by a ``TrainingBatchSource``), plus the hyperparameters for reference
    /// (`adamw_beta1`, `adamw_beta2`, `adamw_eps`, `adamw_weight_decay`, `batch_size`,
    /// `micro_batch_size`, `clip_grad_norm`, `schedule`). The state file is written to a
    /// temporary name and renamed, so a checkpoint interrupted while writing never leaves a
    /// partial state file under its final name.
    ///
    /// - Parameters:
    ///   - directory: the checkpoint directory (created if needed).
    ///   - modelDType: the dtype of `model.safetensors` (`F32` or `BF16` for fla).
    /// - Throws: ``TrainingError/fileSystem(path:reason:)`` when a file cannot be written or the
    ///   model cannot be described as a checkpoint.
    public func saveCheckpoint(to directory: String, modelDType: SafeTensorsDType = .float32) throws(TrainingError) {
        do { try model.write(to: directory, dtype: modelDType) } catch {
            throw .fileSystem(path: directory, reason: "writing the model: \(error)")
        }
        let dtype: SafeTensorsDType = MemoryLayout<Scalar>.size == 8 ? .float64 : .float32
        var meta: [String: String] = [
            "format": Self.stateFormat,
            "precision": Scalar.precisionName,
            "adamw_step": String(optimizer.step),
            "schedule_step": String(stepsTaken),
            "skipped_steps": String(skippedSteps),
            "data_seed": String(dataOrder.seed),
            "data_epoch": String(dataOrder.epoch),
            "data_position": String(dataOrder.position),
            "data_count": String(dataOrder.count),
            "data_source": batchSource == nil ? "examples" : "batch_source",
            "adamw_beta1": "\(optimizer.beta1)",
            "adamw_beta2": "\(optimizer.beta2)",
            "adamw_eps": "\(optimizer.epsilon)",
            "adamw_weight_decay": "\(optimizer.weightDecay)",
            "batch_size": String(configuration.batchSize),
            "micro_batch_size": String(configuration.microBatchSize),
            "schedule": "\(configuration.schedule)",
        ]
        if let c = configuration.maxGradientNorm { meta["clip_grad_norm"] = "\(c)" }
        var w = SafeTensorsWriter(metadata: meta)
        let parameters = model.parameters()
        for key in parameters.keys.sorted() {
            let p = parameters[key]!
            w.add("parameters." + key, p, as: dtype)
            w.add("exp_avg." + key, optimizer.firstMoments[key] ?? Tensor.zeros(p.shape), as: dtype)
            w.add("exp_avg_sq." + key, optimizer.secondMoments[key] ?? Tensor.zeros(p.shape), as: dtype)
        }
        let path = (directory as NSString).appendingPathComponent(Self.stateFileName)
        let temporary = path + ".partial"
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            // Only a previous state file is replaced; a directory of that name is never removed.
            throw .fileSystem(path: path, reason: "is a directory, expected the trainer state file or nothing")
        }
        do {
            try w.write(to: temporary)
            if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
            try FileManager.default.moveItem(atPath: temporary, toPath: path)
        } catch {
            throw .fileSystem(path: path, reason: "\(error)")
        }
    }

    /// Resumes training from a checkpoint ``saveCheckpoint(to:modelDType:)`` wrote.
    ///
    /// The parameters, AdamW's step and moments, the schedule position, the skip counter and the
    /// data order (seed, epoch, position) come from the state file; the hyperparameters, groups,
    /// schedule and batch sizes come from the arguments (pass those of the interrupted run for an
    /// exact continuation; the file records them). Resuming with the same arguments continues
    /// the interrupted run bit for bit.
    ///
    /// - Parameters:
    ///   - directory: the checkpoint directory.
    ///   - model: a model of the checkpoint's configuration (its parameter values are replaced).
    ///   - optimizer: the optimiser's hyperparameters and groups (its state is replaced).
    ///   - configuration: batches, schedule and clipping (its seed is replaced by the stored one).
    ///   - examples: the training examples, as many as when the checkpoint was written.
    /// - Returns: the trainer at the saved step.
    /// - Throws: ``TrainingError/checkpoint(_:)`` for an unreadable or malformed state file or a
    ///   missing tensor; ``TrainingError/invalidCheckpoint(file:reason:)`` for another format,
    ///   another precision, another example count or a malformed metadata value;
    ///   ``TrainingError/missingParameter(name:key:)``, ``TrainingError/unexpectedParameter(name:key:)``
    ///   and ``TrainingError/shapeMismatch(tensor:shape:expected:)`` when the stored tensors do not
    ///   match the model's parameters; ``TrainingError/modelLoad(_:)`` when the model refuses them.
    public static func resume(
        from directory: String, model: Model, optimizer: AdamW<Scalar>, configuration: TrainerConfiguration<Scalar>,
        examples: [TrainingExample]
    ) throws(TrainingError) -> Trainer {
        try resume(
            from: directory, model: model, optimizer: optimizer, configuration: configuration, examples: examples,
            batchSource: nil)
    }

    /// Resumes a trainer fed by a ``TrainingBatchSource`` from a checkpoint
    /// ``saveCheckpoint(to:modelDType:)`` wrote: as
    /// ``resume(from:model:optimizer:configuration:examples:)``, and step s continues with
    /// `batchSource.batch(step: s, size:)`, so the same source continues the run bit for bit.
    ///
    /// - Parameters:
    ///   - directory: the checkpoint directory.
    ///   - model: a model of the checkpoint's configuration (its parameter values are replaced).
    ///   - optimizer: the optimiser's hyperparameters and groups (its state is replaced).
    ///   - configuration: batches, schedule and clipping.
    ///   - batchSource: the source of the interrupted run.
    /// - Returns: the trainer at the saved step.
    /// - Throws: as ``resume(from:model:optimizer:configuration:examples:)``, and
    ///   ``TrainingError/invalidCheckpoint(file:reason:)`` when the state was saved by a trainer
    ///   that visited an example list.
    public static func resume(
        from directory: String, model: Model, optimizer: AdamW<Scalar>, configuration: TrainerConfiguration<Scalar>,
        batchSource: any TrainingBatchSource
    ) throws(TrainingError) -> Trainer {
        try resume(
            from: directory, model: model, optimizer: optimizer, configuration: configuration, examples: [],
            batchSource: batchSource)
    }

    private static func resume(
        from directory: String, model: Model, optimizer: AdamW<Scalar>, configuration: TrainerConfiguration<Scalar>,
        examples: [TrainingExample], batchSource: (any TrainingBatchSource)?
    ) throws(TrainingError) -> Trainer {
        let path = (directory as NSString).appendingPathComponent(stateFileName)
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(path: path) } catch { throw .checkpoint(error) }
        guard file.metadata["format"] == stateFormat else {
            throw .invalidCheckpoint(
                file: path, reason: "metadata 'format' is '\(file.metadata["format"] ?? "")', expected '\(stateFormat)'"
            )
        }
        guard file.metadata["precision"] == Scalar.precisionName else {
            throw .invalidCheckpoint(
                file: path,
                reason:
                    "the state was saved in \(file.metadata["precision"] ?? "an unnamed precision"), resuming in \(Scalar.precisionName) would not continue it exactly"
            )
        }
        func integer(_ key: String) throws(TrainingError) -> Int {
            guard let raw = file.metadata[key], let v = Int(raw), v >= 0 else {
                throw .invalidCheckpoint(
                    file: path,
                    reason: "metadata '\(key)' is '\(file.metadata[key] ?? "absent")', expected an integer ≥ 0")
            }
            return v
        }
        let adamStep = try integer("adamw_step")
        let scheduleStep = try integer("schedule_step")
        let skipped = try integer("skipped_steps")
        let epoch = try integer("data_epoch")
        let position = try integer("data_position")
        let count = try integer("data_count")
        guard let seedText = file.metadata["data_seed"], let seed = UInt64(seedText) else {
            throw .invalidCheckpoint(
                file: path,
                reason:
                    "metadata 'data_seed' is '\(file.metadata["data_seed"] ?? "absent")', expected a 64-bit unsigned integer"
            )
        }
        let source = file.metadata["data_source"] ?? "examples"
        guard source == (batchSource == nil ? "examples" : "batch_source") else {
            throw .invalidCheckpoint(
                file: path,
                reason: "metadata 'data_source' is '\(source)', resuming "
                    + (batchSource == nil ? "with an example list" : "with a batch source"))
        }
        guard batchSource != nil || count == examples.count else {
            throw .invalidCheckpoint(
                file: path, reason: "the data order was saved for \(count) examples, resuming with \(examples.count)")
        }
        let order: DataOrder
        do { order = try DataOrder(count: count, seed: seed, epoch: epoch, position: position) } catch {
            throw .invalidCheckpoint(file: path, reason: "data order: \(error)")
        }
        let expected = model.parameters()
        let prefixes = ["parameters.", "exp_avg.", "exp_avg_sq."]
        for name in file.names {
            guard let prefix = prefixes.first(where: { name.hasPrefix($0) }),
                expected[String(name.dropFirst(prefix.count))] != nil
            else { throw .unexpectedParameter(name: path, key: name) }
        }
        var stored: [[String: Tensor<Scalar>]] = [[:], [:], [:]]
        for key in expected.keys.sorted() {
            for (i, prefix) in prefixes.enumerated() {
                let name = prefix + key
                guard file.contains(name) else { throw .missingParameter(name: path, key: name) }
                let t: Tensor<Scalar>
                do { t = try file.tensor(name, as: Scalar.self) } catch { throw .checkpoint(error) }
                guard t.shape == expected[key]!.shape else {
                    throw .shapeMismatch(tensor: name, shape: t.shape, expected: expected[key]!.shape)
                }
                stored[i][key] = t
            }
        }
        var restoredModel = model
        do { try restoredModel.update(parameters: stored[0], verify: .all) } catch { throw .modelLoad(error) }
        var restoredOptimizer = optimizer
        restoredOptimizer.restore(
            step: adamStep, firstMoments: adamStep == 0 ? [:] : stored[1],
            secondMoments: adamStep == 0 ? [:] : stored[2])
        let restoredConfiguration = try TrainerConfiguration(
            batchSize: configuration.batchSize, microBatchSize: configuration.microBatchSize,
            schedule: configuration.schedule, maxGradientNorm: configuration.maxGradientNorm, seed: seed)
        return Trainer(
            model: restoredModel, optimizer: restoredOptimizer,
            configuration: restoredConfiguration, examples: examples, dataOrder: order, batchSource: batchSource,
            stepsTaken: scheduleStep,
            skippedSteps: skipped)
    }
}

import LRNNKernels
import LRNNLinearAlgebra

extension CausalLM {
    /// The mean cross-entropy of a batch and dL/d(every parameter), keyed like ``parameters()``.
    ///
    ///     L = (1/N) Σ_{(b,t): labels[b][t] ≠ −100} (logsumexp_j logits[b,t,j] − logits[b,t,labels[b][t]])
    ///
    /// with N the number of counted positions; labels are the targets as given (position t is
    /// scored against `labels[b][t]`, nothing is shifted), as PyTorch's `cross_entropy` with
    /// `ignore_index = -100` and the golden training cases define it. Each row of `inputIDs` is
    /// one sequence from zero recurrent and convolution state; rows may have different lengths
    /// (they are packed back to back, each on its own).
    ///
    /// One forward pass keeps the activations the backward needs (layer inputs, projections,
    /// pre-activations, the kernels' inputs; the kernels' backward passes recompute their own
    /// chunk states), then the backward runs the chunked kernel backward passes
    /// (``/LRNNKernels/DeltaRule/backward(_:scale:numHouseholder:sequences:chunkSize:outputGradient:finalStateGradient:)``,
    /// ``/LRNNKernels/GLA/backward(_:scale:sequences:chunkSize:subChunkSize:outputGradient:finalStateGradient:)``,
    /// ``/LRNNKernels/S4D/backward(_:discretization:sequences:chunkSize:outputGradient:finalStateGradient:)``,
    /// the blocked softmax-attention backward
    /// ``SoftmaxAttention/backward(q:k:v:outputGradient:cuSeqlensQ:cuSeqlensK:windowSize:scale:blockSize:)``, …)
    /// and every layer's backward in reverse. The head runs on the counted positions only.
    /// Gradients are taken with respect to the stored tensors themselves (`A_log`, `dt_bias`,
    /// norm weights, biases, convolution weights); with tied embeddings the one matrix gets the
    /// sum of its two uses.
    ///
    /// - Parameters:
    ///   - inputIDs: B ≥ 1 sequences of token ids in `0..<vocabSize`.
    ///   - labels: one label per position, of the same lengths: a target id or −100 (ignored).
    /// - Returns: L and `[key: dL/dparameter]`, one gradient per key of ``parameters()``, each of
    ///   its parameter's shape.
    /// - Throws: ``ModelError/invalidArgument(name:reason:)`` for an empty batch, labels of
    ///   another count or length than the ids, a label neither −100 nor a token id, or no counted
    ///   position; ``ModelError/tokenOutOfRange(token:vocabSize:)``;
    ///   ``ModelError/notDifferentiable(layer:mixer:)`` for a token mixer without a training path
    ///   (every mixer `ModelBuilder` composes has one: softmax attention and S4D included);
    ///   ``ModelError/kernel(layer:_:)`` when a kernel refuses its inputs (non-finite activations).
    public func lossAndGradients(inputIDs: [[Int]], labels: [[Int]]) throws(ModelError)
        -> (loss: T, gradients: [String: Tensor<T>])
    {
        let batch = try TrainingBatch(inputIDs: inputIDs, labels: labels, vocabSize: vocabSize)
        var mixers: [any DifferentiableTokenMixer<T>] = []
        for (i, block) in layers.enumerated() {
            guard let m = block.attn as? any DifferentiableTokenMixer<T> else {
                throw .notDifferentiable(layer: i, mixer: self.mixers[i].modelType)
            }
            mixers.append(m)
        }
        return try gradients(batch, mixers: mixers)
    }

    /// The loss of ``lossAndGradients(inputIDs:labels:)`` alone, through the inference forward
    /// pass (no activations kept).
    ///
    /// - Parameters:
    ///   - inputIDs: B ≥ 1 sequences of token ids in `0..<vocabSize`.
    ///   - labels: one label per position, of the same lengths: a target id or −100 (ignored).
    /// - Returns: the mean cross-entropy over the counted positions.
    /// - Throws: as ``lossAndGradients(inputIDs:labels:)``, except that no mixer is refused.
    public func loss(inputIDs: [[Int]], labels: [[Int]]) throws(ModelError) -> T {
        let batch = try TrainingBatch(inputIDs: inputIDs, labels: labels, vocabSize: vocabSize)
        var none: [MixerState<T>]? = nil
        let h = try hiddenStates(batch.ids, layout: batch.layout, states: &none)
        var logits = lmHead(gatherRows(h, batch.countedRows))
        return CrossEntropy.lossAndGradient(
            logits: &logits, labels: batch.countedLabels, count: batch.countedRows.count)
    }

    /// The training forward and backward over a validated batch.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    private func gradients(_ batch: TrainingBatch, mixers: [any DifferentiableTokenMixer<T>]) throws(ModelError)
        -> (loss: T, gradients: [String: Tensor<T>])
    {
        let layout = batch.layout
        var h = try embeddings(batch.ids)
        var tapes: [BlockTape<T>] = []
        tapes.reserveCapacity(layers.count)
        for (i, block) in layers.enumerated() {
            var tape: BlockTape<T>
            do {
                let (a, pullback) = try mixers[i].forwardWithPullback(block.attnNorm(h), layout: layout)
                tape = BlockTape(input: h, pullback: pullback)
                addInPlace(&h, a)
            } catch {
                throw .kernel(layer: i, error)
            }
            if let mlp = block.mlp, let mlpNorm = block.mlpNorm {
                let xn = mlpNorm(h)
                let (m, gate, up) = mlp.forwardSaving(xn)
                tape.mlpInput = h
                tape.mlpNormed = xn
                tape.gate = gate
                tape.up = up
                addInPlace(&h, m)
            }
            tapes.append(tape)
        }
        let hn = norm(h)
        let counted = gatherRows(hn, batch.countedRows)
        var dLogits = lmHead(counted)
        let loss = CrossEntropy.lossAndGradient(
            logits: &dLogits, labels: batch.countedLabels, count: batch.countedRows.count)

        // The gradient is a model of this model's own structure, each parameter replaced by its
        // gradient: its checkpoint keys come from the parameter walk, never from written keys.
        var grad = self
        let dHead = lmHead.parameterGradients(input: counted, outputGradient: dLogits).weight
        if grad.untiedHead != nil { grad.untiedHead!.weight = dHead }
        let dhn = scatterRows(lmHead.inputGradient(dLogits), batch.countedRows, rows: layout.tokenCount)
        let (dh0, dNorm) = norm.backward(input: h, outputGradient: dhn)
        grad.norm.weight = dNorm!
        var dh = dh0
        for (i, block) in layers.enumerated().reversed() {
            let tape = tapes[i]
            if let mlp = block.mlp, let mlpNorm = block.mlpNorm {
                let d = mlp.backward(input: tape.mlpNormed!, gate: tape.gate!, up: tape.up!, outputGradient: dh)
                grad.layers[i].mlp!.gateProj.weight = d.gateWeight
                grad.layers[i].mlp!.upProj.weight = d.upWeight
                grad.layers[i].mlp!.downProj.weight = d.downWeight
                let (dIn, dw) = mlpNorm.backward(input: tape.mlpInput!, outputGradient: d.input)
                grad.layers[i].mlpNorm!.weight = dw!
                addInPlace(&dh, dIn)
            }
            let dxn: Tensor<T>
            do {
                (dxn, grad.layers[i].attn) = try tape.pullback(dh)
            } catch {
                throw .kernel(layer: i, error)
            }
            let (dIn, dw) = block.attnNorm.backward(input: tape.input, outputGradient: dxn)
            grad.layers[i].attnNorm.weight = dw!
            addInPlace(&dh, dIn)
        }
        var dEmbedding = embeddings.weightGradient(ids: batch.ids, outputGradient: dh)
        if grad.untiedHead == nil {
            // Tied: the one matrix gets the sum of its two uses.
            addInPlace(&dEmbedding, dHead)
        }
        grad.embeddings.weight = dEmbedding
        let parameters = namedParameterList()
        let gradients = grad.namedParameterList()
        for (p, g) in zip(parameters, gradients) {
            precondition(
                g.value.shape == p.value.shape && !sharesStorage(p.value, g.value),
                "lossAndGradients: no gradient was computed for \(p.key)")
        }
        return (loss, Dictionary(uniqueKeysWithValues: gradients.map { ($0.key, $0.value) }))
    }
}

/// Whether two non-empty tensors are the same storage (a parameter left in a gradient tree).
private func sharesStorage<T: LRNNScalar>(_ a: Tensor<T>, _ b: Tensor<T>) -> Bool {
    guard a.count > 0 else { return false }
    return a.withUnsafeBufferPointer { ab in b.withUnsafeBufferPointer { bb in ab.baseAddress == bb.baseAddress } }
}

/// What one block keeps for its backward: its input, the mixer's pullback, and the MLP's input,
/// normalised input and pre-activations.
struct BlockTape<T: LRNNScalar> {
    var input: Tensor<T>
    var pullback: MixerPullback<T>
    var mlpInput: Tensor<T>? = nil
    var mlpNormed: Tensor<T>? = nil
    var gate: Tensor<T>? = nil
    var up: Tensor<T>? = nil
}

/// A validated training batch: the ids packed back to back, their layout, and the counted
/// positions with their labels.
struct TrainingBatch {
    /// Every sequence's ids, back to back.
    let ids: [Int]
    /// Uniform when every row has the same length, packed otherwise.
    let layout: SequenceLayout
    /// The packed row of every position whose label is not −100, in order.
    let countedRows: [Int]
    /// Their labels.
    let countedLabels: [Int]

    /// Validates the batch (FORMAT.md, training cases).
    ///
    /// - Throws: ``ModelError/invalidArgument(name:reason:)`` naming `inputIDs`, `labels` or
    ///   `labels[b]`, `labels[b][t]`; ``ModelError/tokenOutOfRange(token:vocabSize:)``.
    init(inputIDs: [[Int]], labels: [[Int]], vocabSize: Int) throws(ModelError) {
        guard !inputIDs.isEmpty else { throw .invalidArgument(name: "inputIDs", reason: "empty batch") }
        guard labels.count == inputIDs.count else {
            throw .invalidArgument(
                name: "labels", reason: "\(labels.count) rows of labels for \(inputIDs.count) sequences")
        }
        var rows: [Int] = []
        var targets: [Int] = []
        var offset = 0
        for (b, (seq, lab)) in zip(inputIDs, labels).enumerated() {
            guard lab.count == seq.count else {
                throw .invalidArgument(
                    name: "labels[\(b)]", reason: "\(lab.count) labels for a sequence of \(seq.count) tokens")
            }
            for id in seq where id < 0 || id >= vocabSize { throw .tokenOutOfRange(token: id, vocabSize: vocabSize) }
            for (t, l) in lab.enumerated() where l != CrossEntropy.ignoreIndex {
                guard l >= 0 && l < vocabSize else {
                    throw .invalidArgument(
                        name: "labels[\(b)][\(t)]", reason: "\(l) is neither -100 nor a token id in 0..<\(vocabSize)")
                }
                rows.append(offset + t)
                targets.append(l)
            }
            offset += seq.count
        }
        guard !rows.isEmpty else {
            throw .invalidArgument(name: "labels", reason: "every position is -100: no position to average over")
        }
        ids = inputIDs.flatMap { $0 }
        let lengths = inputIDs.map(\.count)
        if lengths.allSatisfy({ $0 == lengths[0] }) {
            layout = .uniform(batch: lengths.count, length: lengths[0])
        } else {
            var cu = [0]
            for l in lengths { cu.append(cu.last! + l) }
            layout = .packed(cuSeqlens: cu)
        }
        countedRows = rows
        countedLabels = targets
    }
}

/// Rows `indices` of `x [rows, d]`, as `[indices.count, d]`.
@_specialize(where T == Float)
@_specialize(where T == Double)
func gatherRows<T: LRNNScalar>(_ x: Tensor<T>, _ indices: [Int]) -> Tensor<T> {
    let d = x.shape.last ?? 0
    var y = Tensor<T>.zeros([indices.count, d])
    x.withUnsafeBufferPointer { xb in
        y.withUnsafeMutableBufferPointer { yb in
            for (i, r) in indices.enumerated() {
                (yb.baseAddress! + i * d).update(from: xb.baseAddress! + r * d, count: d)
            }
        }
    }
    return y
}

/// `[rows, d]` zeros with row `indices[i]` set to row i of `x` (the backward of ``gatherRows(_:_:)``).
@_specialize(where T == Float)
@_specialize(where T == Double)
func scatterRows<T: LRNNScalar>(_ x: Tensor<T>, _ indices: [Int], rows: Int) -> Tensor<T> {
    let d = x.shape.last ?? 0
    var y = Tensor<T>.zeros([rows, d])
    x.withUnsafeBufferPointer { xb in
        y.withUnsafeMutableBufferPointer { yb in
            for (i, r) in indices.enumerated() {
                (yb.baseAddress! + r * d).update(from: xb.baseAddress! + i * d, count: d)
            }
        }
    }
    return y
}

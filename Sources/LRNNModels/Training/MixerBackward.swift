import LRNNKernels
import LRNNLinearAlgebra

/// dL/d(parameter) by checkpoint key, summed over every use of a parameter (a tied embedding
/// matrix collects the embedding's and the head's gradient).
struct ParameterGradients<T: LRNNScalar> {
    /// The gradients so far, by key.
    private(set) var values: [String: Tensor<T>] = [:]

    /// Adds `g` to the gradient of `key`.
    ///
    /// - Parameters:
    ///   - key: the checkpoint key.
    ///   - g: dL/d(parameter), of the parameter's shape.
    mutating func add(_ key: String, _ g: Tensor<T>) {
        guard var old = values[key] else {
            values[key] = g
            return
        }
        values[key] = nil
        precondition(old.shape == g.shape, "ParameterGradients: \(key) \(old.shape) vs \(g.shape)")
        old.withUnsafeMutableBufferPointer { ob in
            g.withUnsafeBufferPointer { gb in for i in 0..<gb.count { ob[i] += gb[i] } }
        }
        values[key] = old
    }

    /// Adds the gradients of a linear layer `<name>.weight` (and `<name>.bias`).
    ///
    /// - Parameters:
    ///   - name: the layer's key without `.weight`.
    ///   - layer: the layer.
    ///   - x: its forward input.
    ///   - dy: its output gradient.
    mutating func addLinear(_ name: String, _ layer: Linear<T>, input x: Tensor<T>, outputGradient dy: Tensor<T>) {
        let (w, b) = layer.parameterGradients(input: x, outputGradient: dy)
        add(name + ".weight", w)
        if let b { add(name + ".bias", b) }
    }
}

/// The backward of a mixer's forward pass: given dL/d(output) `[tokens, hidden]`, returns
/// dL/d(input) and adds dL/d(parameter) under `prefix` + the parameter's key (`q_proj.weight`, …).
typealias MixerPullback<T: LRNNScalar> = (
    _ outputGradient: Tensor<T>, _ prefix: String, _ gradients: inout ParameterGradients<T>
) throws(KernelError) -> Tensor<T>

/// A token mixer with a training path: a forward pass from zero states that keeps what its
/// backward needs, as fla's `_fwd`/`_bwd` pairs do (the kernels' backward passes recompute
/// their own states from the kept kernel inputs).
protocol DifferentiableTokenMixer<Scalar>: TokenMixer {
    /// The forward pass over `x [tokens, hidden]` from zero convolution and recurrent states
    /// (every sequence of `layout` on its own), and its pullback.
    ///
    /// - Parameters:
    ///   - x: the normalised hidden states `[tokens, hidden]`.
    ///   - layout: how the tokens split into sequences.
    /// - Throws: ``/LRNNKernels/KernelError`` when a kernel refuses its inputs.
    func forwardWithPullback(_ x: Tensor<Scalar>, layout: SequenceLayout) throws(KernelError)
        -> (output: Tensor<Scalar>, pullback: MixerPullback<Scalar>)
}

/// One projected feature of a mixer: `y = act(conv(W x))` (conv omitted without short
/// convolutions), with keys `<name>_proj.weight` and `<name>_conv1d.weight`.
struct ProjectedFeature<T: LRNNScalar> {
    /// `q`, `k` or `v`.
    let name: String
    /// The projection.
    let projection: Linear<T>
    /// The short convolution, or nil.
    let conv: ShortConvolution<T>?
    /// The activation after the convolution (or after the projection without one).
    let activation: Activation

    /// What the backward needs: the projection `p` and the pre-activation `z`.
    struct Saved {
        /// `W x`.
        let projected: Tensor<T>
        /// `conv(W x)` (or `W x`).
        let preActivation: Tensor<T>
    }

    /// The forward pass.
    ///
    /// - Parameters:
    ///   - x: `[tokens, hidden]`.
    ///   - layout: how the tokens split into sequences.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func forward(_ x: Tensor<T>, layout: SequenceLayout) -> (output: Tensor<T>, saved: Saved) {
        let p = projection(x)
        let z = conv?.preActivation(p, layout: layout) ?? p
        var y = z
        activation.apply(&y)
        return (y, Saved(projected: p, preActivation: z))
    }

    /// The backward pass: adds dL/dx to `dx` and the parameters' gradients to `gradients`.
    ///
    /// - Parameters:
    ///   - x: the forward input.
    ///   - saved: the forward's saved values.
    ///   - dy: dL/dy.
    ///   - layout: how the tokens split into sequences.
    ///   - prefix: the mixer's key prefix.
    ///   - gradients: the gradients, added to.
    ///   - dx: dL/dx, added to.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func backward(
        input x: Tensor<T>, saved: Saved, outputGradient dy: Tensor<T>, layout: SequenceLayout, prefix: String,
        gradients: inout ParameterGradients<T>, inputGradient dx: inout Tensor<T>
    ) {
        var dp = activation.backward(preActivation: saved.preActivation, outputGradient: dy)
        if let conv {
            let (dIn, dw) = conv.backward(input: saved.projected, preActivationGradient: dp, layout: layout)
            gradients.add(prefix + name + "_conv1d.weight", dw)
            dp = dIn
        }
        gradients.addLinear(prefix + name + "_proj", projection, input: x, outputGradient: dp)
        projection.accumulateInputGradient(dp, into: &dx)
    }
}

extension OutputNorm {
    /// The forward pass keeping the gate pre-activation (`g_proj x`; nil for a plain norm).
    ///
    /// - Parameters:
    ///   - o: the kernel output `[tokens, heads·d]`.
    ///   - x: the mixer input.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func forwardSaving(_ o: Tensor<T>, input x: Tensor<T>) -> (output: Tensor<T>, gate: Tensor<T>?) {
        switch self {
        case let .plain(n): return (n(o), nil)
        case let .gated(n, p):
            var y = o
            let g = p(x)
            n.apply(&y, gate: g)
            return (y, g)
        case let .normThenGate(n, act, p):
            var y = o
            let g = p(x)
            GatedRMSNorm(norm: n, activation: act).apply(&y, gate: g)
            return (y, g)
        }
    }

    /// The backward pass: returns dL/do, adds dL/dx (through `g_proj`) to `dx` and the norm's
    /// and gate projection's gradients (`<normName>.weight`, `g_proj.weight`) to `gradients`.
    ///
    /// - Parameters:
    ///   - o: the kernel output of the forward.
    ///   - gate: the forward's gate pre-activation.
    ///   - dy: dL/d(output).
    ///   - x: the mixer input.
    ///   - normName: the norm's key (`o_norm`, `g_norm_swish_gate`, `g_norm`) under `prefix`.
    ///   - prefix: the mixer's key prefix.
    ///   - gradients: the gradients, added to.
    ///   - dx: dL/dx, added to.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func backward(
        input o: Tensor<T>, gate: Tensor<T>?, outputGradient dy: Tensor<T>, mixerInput x: Tensor<T>,
        normName: String, prefix: String, gradients: inout ParameterGradients<T>, inputGradient dx: inout Tensor<T>
    ) -> Tensor<T> {
        let gated: GatedRMSNorm<T>
        let projection: Linear<T>
        switch self {
        case let .plain(n):
            let (dO, dw) = n.backward(input: o, outputGradient: dy)
            if let dw { gradients.add(prefix + normName + ".weight", dw) }
            return dO
        case let .gated(n, p):
            gated = n
            projection = p
        case let .normThenGate(n, act, p):
            gated = GatedRMSNorm(norm: n, activation: act)
            projection = p
        }
        let (dO, dg, dw) = gated.backward(input: o, gate: gate!, outputGradient: dy)
        if let dw { gradients.add(prefix + normName + ".weight", dw) }
        gradients.addLinear(prefix + "g_proj", projection, input: x, outputGradient: dg)
        projection.accumulateInputGradient(dg, into: &dx)
        return dO
    }
}

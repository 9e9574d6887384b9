import LRNNKernels
import LRNNLinearAlgebra

extension Linear {
    /// The parameter gradient as a layer of this layer's own shape: `weight` = dL/dW = dyᵀ·x,
    /// `bias` = dL/db (present exactly when the layer has a bias). Its checkpoint keys come from
    /// the same walk as the layer's own (``ParameterContainer``).
    ///
    /// - Parameters:
    ///   - x: the forward input `[rows, in]`.
    ///   - dy: the output gradient `[rows, out]`.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func gradient(input x: Tensor<T>, outputGradient dy: Tensor<T>) -> Linear<T> {
        let (w, b) = parameterGradients(input: x, outputGradient: dy)
        var g = self
        g.weight = w
        g.bias = b
        return g
    }
}

/// The backward of a mixer's forward pass: given dL/d(output) `[tokens, hidden]`, returns
/// dL/d(input) and the parameter gradient as a mixer of the forward's own type, each parameter
/// replaced by its gradient (as the kernels' `Inputs` serve as their own gradients), so that the
/// gradient's checkpoint keys come from the parameter walk and are never written by hand.
typealias MixerPullback<T: LRNNScalar> = (_ outputGradient: Tensor<T>) throws(KernelError) -> (
    input: Tensor<T>, parameters: any TokenMixer<T>
)

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

extension ProjectedFeature {
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

    /// The backward pass: adds dL/dx to `dx` and returns the gradients of the projection and the
    /// convolution as layers of their own types.
    ///
    /// - Parameters:
    ///   - x: the forward input.
    ///   - saved: the forward's saved values.
    ///   - dy: dL/dy.
    ///   - layout: how the tokens split into sequences.
    ///   - dx: dL/dx, added to.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func backward(
        input x: Tensor<T>, saved: Saved, outputGradient dy: Tensor<T>, layout: SequenceLayout,
        inputGradient dx: inout Tensor<T>
    ) -> (projection: Linear<T>, conv: ShortConvolution<T>?) {
        var dp = activation.backward(preActivation: saved.preActivation, outputGradient: dy)
        var convGradient: ShortConvolution<T>? = nil
        if let conv {
            let (dIn, dw) = conv.backward(input: saved.projected, preActivationGradient: dp, layout: layout)
            convGradient = conv
            convGradient!.weight = dw
            dp = dIn
        }
        let projectionGradient = projection.gradient(input: x, outputGradient: dp)
        projection.accumulateInputGradient(dp, into: &dx)
        return (projectionGradient, convGradient)
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

    /// The backward pass: returns dL/do and the gradient of the norm's weight and the gate
    /// projection as an output norm of the same form, and adds dL/dx (through `g_proj`) to `dx`.
    ///
    /// - Parameters:
    ///   - o: the kernel output of the forward.
    ///   - gate: the forward's gate pre-activation.
    ///   - dy: dL/d(output).
    ///   - x: the mixer input.
    ///   - dx: dL/dx, added to.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func backward(
        input o: Tensor<T>, gate: Tensor<T>?, outputGradient dy: Tensor<T>, mixerInput x: Tensor<T>,
        inputGradient dx: inout Tensor<T>
    ) -> (input: Tensor<T>, parameters: OutputNorm<T>) {
        /// The norm with its weight replaced by `dw` (nil for a norm without a weight).
        func normGradient(_ n: RMSNorm<T>, _ dw: Tensor<T>?) -> RMSNorm<T> {
            var g = n
            g.weight = dw
            return g
        }
        switch self {
        case let .plain(n):
            let (dO, dw) = n.backward(input: o, outputGradient: dy)
            return (dO, .plain(normGradient(n, dw)))
        case let .gated(n, p):
            let (dO, dg, dw) = n.backward(input: o, gate: gate!, outputGradient: dy)
            let gp = p.gradient(input: x, outputGradient: dg)
            p.accumulateInputGradient(dg, into: &dx)
            var gn = n
            gn.norm = normGradient(n.norm, dw)
            return (dO, .gated(gn, gateProj: gp))
        case let .normThenGate(n, act, p):
            let (dO, dg, dw) = GatedRMSNorm(norm: n, activation: act).backward(
                input: o, gate: gate!, outputGradient: dy)
            let gp = p.gradient(input: x, outputGradient: dg)
            p.accumulateInputGradient(dg, into: &dx)
            return (dO, .normThenGate(normGradient(n, dw), act, gateProj: gp))
        }
    }
}

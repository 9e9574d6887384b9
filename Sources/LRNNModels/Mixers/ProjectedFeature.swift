import LRNNKernels
import LRNNLinearAlgebra

/// One projected feature of a mixer: `y = act(conv(W x))` (`act(W x)` without short
/// convolutions), fla's `q_proj` → `q_conv1d` → activation and its k and v counterparts.
///
/// The same value serves the inference paths (``callAsFunction(_:layout:state:slot:)``, which
/// carries the convolution window in a ``MixerState``) and training (its forward that keeps what
/// the backward needs, in LRNNModels' training files).
struct ProjectedFeature<T: LRNNScalar> {
    /// The projection.
    let projection: Linear<T>
    /// The short convolution, or nil. Its own activation is either `activation` or the identity.
    let conv: ShortConvolution<T>?
    /// The activation after the convolution (or after the projection without one).
    let activation: Activation

    /// Creates a feature; `conv`'s activation must be `activation` or the identity.
    ///
    /// - Parameters:
    ///   - projection: the projection.
    ///   - conv: the short convolution, or nil.
    ///   - activation: the activation after the convolution (or the projection).
    init(projection: Linear<T>, conv: ShortConvolution<T>?, activation: Activation) {
        precondition(
            conv == nil || conv!.activation == activation || conv!.activation == .identity,
            "ProjectedFeature: convolution activation \(conv!.activation) with feature activation \(activation)")
        self.projection = projection
        self.conv = conv
        self.activation = activation
    }

    /// The inference forward: projects, convolves reading and updating the window
    /// `state.conv[slot]` when a state is carried (zeros before each sequence otherwise), and
    /// applies the activation (inside the convolution when it is the convolution's own).
    ///
    /// - Parameters:
    ///   - x: `[tokens, hidden]`.
    ///   - layout: how the tokens split into sequences.
    ///   - state: the mixer state whose window `slot` is read and updated, or nil.
    ///   - slot: the index of this feature's window in `state.conv`.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func callAsFunction(_ x: Tensor<T>, layout: SequenceLayout, state: inout MixerState<T>?, slot: Int) -> Tensor<T> {
        var y = projection(x)
        guard let conv else {
            activation.apply(&y)
            return y
        }
        var window: Tensor<T>? = nil
        if state != nil {
            window = state!.conv[slot]
            state!.conv[slot] = Tensor(zeros: [0])
        }
        y = conv(y, layout: layout, state: &window)
        if state != nil { state!.conv[slot] = window! }
        if conv.activation != activation { activation.apply(&y) }
        return y
    }
}

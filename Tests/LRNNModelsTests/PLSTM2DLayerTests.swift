import LRNNKernels
import LRNNLinearAlgebra
import LRNNModels
import LRNNTestSupport
import Testing

/// The pLSTM 2-D layer: gradients against central finite differences in both modes, and its errors.
@Suite struct PLSTM2DLayerTests {
    static let configurations: [(String, PLSTM2DConfiguration)] = [
        (
            "P",
            PLSTM2DConfiguration(mode: .directed, numHeads: 2, keyDim: 2, valueDim: 2, valueStates: 2, outputStates: 2)
        ),
        (
            "D-L",
            PLSTM2DConfiguration(
                mode: .diffusive, chirality: .left, numHeads: 2, keyDim: 2, valueDim: 2, queryStates: 2)
        ),
        (
            "D-R",
            PLSTM2DConfiguration(mode: .diffusive, chirality: .right, numHeads: 1, keyDim: 3, valueDim: 2, keyStates: 2)
        ),
    ]

    /// dL/dx and dL/d(every parameter) of `L = Σ layer(x) ⊙ dy` element by element (Float64, step 1e-5).
    @Test(arguments: 0..<3)
    func finiteDifferences(index: Int) throws {
        let (name, c) = Self.configurations[index]
        let features = 3
        let layer = try PLSTM2DLayer<Double>(c, features: features, seed: 21 + UInt64(index), std: 0.5)
        var rng = SeededRandom(seed: 31 + UInt64(index))
        let x: Tensor<Double> = rng.tensor([2, 3, 4, features])
        let dy: Tensor<Double> = rng.tensor([2, 3, 4, features])
        let (dx, grads) = try layer.backward(x, outputGradient: dy)
        #expect(Set(grads.keys) == Set(layer.parameters.keys))
        func loss(_ l: PLSTM2DLayer<Double>, _ input: Tensor<Double>) throws -> Double {
            zip(try l(input).scalars, dy.scalars).reduce(0) { $0 + $1.0 * $1.1 }
        }
        let h = 1e-5
        var numeric = x
        for i in 0..<x.count {
            var plus = x
            plus.scalars[i] += h
            var minus = x
            minus.scalars[i] -= h
            numeric.scalars[i] = (try loss(layer, plus) - loss(layer, minus)) / (2 * h)
        }
        #expect(dx.relativeError(to: numeric) <= 1e-7, "\(name) dx")
        for (key, p) in layer.parameters.sorted(by: { $0.key < $1.key }) {
            var numericP = p
            for i in 0..<p.count {
                var params = layer.parameters
                params[key]!.scalars[i] += h
                let up = try loss(try PLSTM2DLayer(c, features: features, parameters: params), x)
                params[key]!.scalars[i] -= 2 * h
                let down = try loss(try PLSTM2DLayer(c, features: features, parameters: params), x)
                numericP.scalars[i] = (up - down) / (2 * h)
            }
            #expect(grads[key]!.relativeError(to: numericP) <= 1e-7, "\(name) \(key)")
        }
    }

    /// Bad configurations, parameters and inputs are refused with the error naming them.
    @Test func errors() throws {
        #expect(throws: ModelError.invalidConfiguration(field: "num_heads", reason: "0: must be ≥ 1")) {
            _ = try PLSTM2DLayer<Double>(PLSTM2DConfiguration(numHeads: 0), features: 4, seed: 1)
        }
        let layer = try PLSTM2DLayer<Double>(
            PLSTM2DConfiguration(numHeads: 1, keyDim: 2, valueDim: 2), features: 4, seed: 1)
        var params = layer.parameters
        params["mark_proj.bias"] = nil
        #expect(throws: ModelError.invalidArgument(name: "mark_proj.bias", reason: "missing")) {
            _ = try PLSTM2DLayer(layer.configuration, features: 4, parameters: params)
        }
        #expect(throws: KernelError.shapeMismatch(tensor: "x", shape: [1, 2, 3], expected: "[B, X, Y, 4]")) {
            _ = try layer(Tensor<Double>.zeros([1, 2, 3]))
        }
    }
}

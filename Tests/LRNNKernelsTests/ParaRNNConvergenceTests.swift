import LRNNKernels
import LRNNLinearAlgebra
import LRNNTestSupport
import Testing

/// Newton's convergence against the weight scale: at every scale from the papers' initialisation to
/// beyond the golden cases' `strong` parameters, both cells converge within the cap and match the
/// sequential solve, and a tighter tolerance never takes fewer iterations than a looser one.
@Suite("ParaRNN convergence")
struct ParaRNNConvergenceTests {
    static let scales = [0.25, 0.5, 1, 2, 3, 4]

    @Test(arguments: scales)
    func convergesAtEveryScale(scale: Double) throws {
        let s = ParaRNNShape(
            batch: 1, tokens: 256, inputSize: 16, stateSize: 16, heads: 4, weightScale: scale, withInitialState: false)
        let (gru, _, _) = randomGRUCase(s, seed: 60)
        let gruReference = try ParaGRU.recurrent(gru).output
        let (lstm, _, _) = randomLSTMCase(s, seed: 61)
        let lstmReference = try ParaLSTM.recurrent(lstm)
        var previous = 0
        for tolerance in [1e-4, 1e-8, 1e-13] {
            let options = ParaRNN.NewtonOptions(tolerance: tolerance)
            let g = try ParaGRU.chunked(gru, newton: options, chunkSize: 32)
            let l = try ParaLSTM.chunked(lstm, newton: options, chunkSize: 32)
            #expect(g.newton.converged && l.newton.converged, "scale \(scale): \(g.newton); \(l.newton)")
            #expect(g.newton.residual <= tolerance && l.newton.residual <= tolerance)
            #expect(g.newton.iterations + l.newton.iterations >= previous)
            previous = g.newton.iterations + l.newton.iterations
            if tolerance == 1e-13 {
                #expect(g.output.relativeError(to: gruReference) <= 1e-10, "scale \(scale)")
                #expect(l.output.relativeError(to: lstmReference.output) <= 1e-10, "scale \(scale)")
            }
        }
    }
}

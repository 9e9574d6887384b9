import ComplexModule
import LRNNKernels
import LRNNLinearAlgebra
import LRNNTestSupport
import Testing

/// S5 with fewer sequences than workers runs each sequence's chunks' GEMMs as parallel work
/// items (the scan in order): the same chunks and GEMMs as one work item per sequence, so the
/// same bits, and the naive reference's values.
@Suite("S5 chunk groups across workers")
struct SSMS5PipelineTests {
    @Test(
        "one sequence (chunk groups over the workers) equals the same sequence in a full batch, bit for bit",
        arguments: [1, 5, 16, 64])
    func pipelinedEqualsPerSequence(_ chunk: Int) throws {
        var r = SeededRandom(seed: 11)
        let p = try SSMS5Tests.params(seed: 5, conj: true)
        let workers = Swift.max(2, Threading.workerCount)
        for disc in SSMDiscretization.allCases {
            let system = S5System(p, discretization: disc)
            let one: Tensor<Double> = r.normalTensor([1, 333, 5])
            let h0: Tensor<Complex<Double>> = Tensor(
                shape: [1, 9], scalars: (0..<9).map { Complex(Double($0) * 0.1, -0.05 * Double($0)) })
            // B = 1 takes the chunk-group path whenever there are two or more workers.
            let (y1, s1) = try S5.chunked(one, system: system, chunkSize: chunk, initialState: h0)
            // The same sequence repeated `workers` times takes one work item per sequence.
            let batch = Tensor(
                shape: [workers, 333, 5], scalars: Array((0..<workers).map { _ in one.scalars }.joined()))
            let state = Tensor(shape: [workers, 9], scalars: Array((0..<workers).map { _ in h0.scalars }.joined()))
            let (yb, sb) = try S5.chunked(batch, system: system, chunkSize: chunk, initialState: state)
            #expect(Array(yb.scalars[0..<y1.count]) == y1.scalars)
            #expect(Array(sb.scalars[0..<9]) == s1.scalars)
            let y0 = try S5.chunked(one, system: system, chunkSize: chunk).output
            #expect(
                relErr(y0, try S5.reference(S5.Inputs(u: one, parameters: p), discretization: disc).output) <= 1e-10)
        }
    }
}

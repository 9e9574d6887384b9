import ArgumentParser
import Foundation
import LRNNLinearAlgebra
import LRNNTool

/// `lrnn info`: what OpenBLAS chose on this machine and how fast its GEMM runs.
struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print OpenBLAS's core and configuration, thread counts and measured GEMM GFLOP/s.",
        discussion: """
            Measures sgemm and dgemm at n = 2048 (best of 3 calls after a warm-up) with one
            thread and with all threads.

            Example:
              lrnn info
              lrnn info --json
            """
    )

    @Option(parsing: .unconditional, help: "Matrix size n of the n×n GEMM measured.")
    var size: Int = 2048

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func validate() throws {
        guard size >= 1 && size <= 16384 else { throw ValidationError("--size must be in 1...16384, got \(size)") }
    }

    func run() throws {
        let info = MachineInfo.measure(n: size)
        print(json ? info.json() : info.text())
    }
}

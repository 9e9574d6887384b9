import Foundation
import LRNNLinearAlgebra
import LRNNTokenizers

/// `lrnn bench --tokenizer DIR`: the tokenizer's encoding throughput on a 1 MB text, single-threaded.
package enum TokenizerBench {
    /// The size of the benchmark text in UTF-8 bytes.
    package static let textBytes = 1 << 20

    /// The throughput target (issue 16): 5 MB/s single-threaded.
    package static let targetMBPerSecond = 5.0

    /// The benchmark text: lines of ``corpus`` drawn with a fixed seed until ``textBytes`` bytes
    /// (English prose, source code, numbers, a little non-Latin script and emoji, the mix of a
    /// prompt), cut at a line end. The same on every run and machine, so that another tokenizer
    /// implementation can be measured on it (`lrnn bench --tokenizer DIR --write-text FILE`).
    package static func text() -> String {
        let lines = corpus.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var generator = SeededGenerator(seed: 16)
        var out = ""
        var bytes = 0
        var lineNumber = 0
        while true {
            let k = Int(generator.next() % UInt64(lines.count))
            // Runs of consecutive lines keep paragraphs and code blocks together.
            let run = 1 + Int(generator.next() % 6)
            for line in lines[k..<min(lines.count, k + run)] {
                lineNumber += 1
                let l = lineNumber % 50 == 0 ? "\(line) [\(lineNumber)]\n" : line + "\n"
                guard bytes + l.utf8.count <= textBytes else { return out }
                out += l
                bytes += l.utf8.count
            }
        }
    }

    /// One measurement.
    package struct Result: Sendable, Codable, Equatable {
        /// The tokenizer directory.
        package var tokenizer: String
        /// The text's size in bytes.
        package var bytes: Int
        /// Tokens of the text (no special tokens added).
        package var tokens: Int
        /// The best time of the repeats, in seconds.
        package var seconds: Double
        /// `bytes / 1e6 / seconds`.
        package var megabytesPerSecond: Double
        /// Tokens per second.
        package var tokensPerSecond: Double
        /// The target in MB/s.
        package var target: Double
        /// Whether the target is met.
        package var met: Bool

        enum CodingKeys: String, CodingKey {
            case tokenizer, bytes, tokens, seconds, target, met
            case megabytesPerSecond = "mb_per_second"
            case tokensPerSecond = "tokens_per_second"
        }
    }

    /// Encodes the text `repeats` times after one warm-up call and keeps the best time.
    ///
    /// - Parameters:
    ///   - directory: the tokenizer directory.
    ///   - repeats: timed calls (at least 1).
    ///   - text: the text (default ``text()``).
    /// - Throws: ``TokenizeToolError`` when the tokenizer cannot be loaded.
    package static func run(directory: String, repeats: Int = 3, text: String = TokenizerBench.text())
        throws(TokenizeToolError) -> Result
    {
        let tokenizer = try TokenizeTool.load(directory)
        var count = tokenizer.encode(text, addSpecialTokens: false).count
        var best = Double.infinity
        for _ in 0..<max(1, repeats) {
            let t0 = BenchTimer.now()
            count = tokenizer.encode(text, addSpecialTokens: false).count
            best = min(best, BenchTimer.now() - t0)
        }
        let bytes = text.utf8.count
        let rate = Double(bytes) / 1e6 / best
        return Result(
            tokenizer: directory, bytes: bytes, tokens: count, seconds: best, megabytesPerSecond: rate,
            tokensPerSecond: Double(count) / best, target: targetMBPerSecond, met: rate >= targetMBPerSecond)
    }

    /// The text report of one measurement.
    ///
    /// - Parameter r: the measurement.
    package static func text(_ r: Result) -> String {
        String(
            format:
                "tokenizer %@: %d bytes, %d tokens in %.4f s: %.2f MB/s, %.0f tokens/s (1 thread)\ntarget: ≥ %.0f MB/s  %@\n",
            r.tokenizer, r.bytes, r.tokens, r.seconds, r.megabytesPerSecond, r.tokensPerSecond, r.target,
            r.met ? "met" : "missed")
    }

    /// The `--json` object of one measurement.
    ///
    /// - Parameter r: the measurement.
    package static func json(_ r: Result) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(r)) ?? Data(), as: UTF8.self)
    }
}

import Foundation
import LRNNLinearAlgebra
import LRNNTestSupport
import LRNNTool
import Testing

/// Seeded mutations of the golden op cases: tensors resized, reshaped, dropped, stored as another
/// dtype, given extra leading axes; metadata removed or replaced with garbage. Every mutated case
/// is well-formed safetensors, so `lrnn check` must evaluate it: lines of PASS/FAIL/SKIP, and a
/// FAIL whenever an expected output no longer has the computed shape. A trap anywhere in a
/// checker or kernel would stop this test process.
@Suite("lrnn check: seeded mutations of every op case", .enabled(if: Golden.isAvailable, Golden.skipMessage))
struct CheckFuzzTests {
    /// The forward op cases small enough to run many times (every op with a checker).
    static let sources = [
        "hippo_legs_16", "hippo_fout_16", "s4d_kernel_bilinear", "s4d_kernel_zoh", "s5_bilinear_full", "s4d_conv_zoh",
        "s5_zoh", "ptd_legs_32", "delta_rule_varlen", "delta_product_nh2", "gla_basic", "gla_h0_varlen",
        "gated_delta_rule_basic", "delta_rule_negeig_h0",
    ]

    static let garbage = ["", "abc", "nan", "-1", "0", "1e300", "-1e300", "2.5", "9223372036854775808", "true"]

    /// One mutation of `file`, written to `path`; returns a description.
    static func mutate(_ file: SafeTensorsFile, _ r: inout SeededRandom, to path: String) throws -> String {
        var metadata = file.metadata
        var tensors: [(String, Tensor<Double>, SafeTensorsDType)] = []
        var ints: [(String, Tensor<Int>)] = []
        for n in file.names {
            let info = try file.info(n)
            if info.dtype.isFloatingPoint {
                tensors.append((n, try file.tensor(n, as: Double.self), info.dtype))
            } else {
                ints.append((n, try file.integerTensor(n)))
            }
        }
        func pick(_ n: Int) -> Int { Int(r.next() % UInt64(n)) }
        var what = ""
        switch pick(7) {
        case 0 where !tensors.isEmpty:  // grow or shrink one axis
            let i = pick(tensors.count)
            let t = tensors[i].1
            if t.rank > 0 {
                let axis = pick(t.rank)
                let delta = [-t.shape[axis], -1, 1, 2][pick(4)]
                tensors[i].1 = resized(t, axis: axis, by: delta)
                what = "\(tensors[i].0) axis \(axis) by \(delta)"
            }
        case 1 where !tensors.isEmpty:  // flatten, or add a leading axis
            let i = pick(tensors.count)
            let t = tensors[i].1
            tensors[i].1 = r.next() % 2 == 0 ? t.reshaped([t.count]) : t.reshaped([1] + t.shape)
            what = "\(tensors[i].0) reshaped to \(tensors[i].1.shape)"
        case 2:  // drop a tensor
            let all = tensors.map(\.0) + ints.map(\.0)
            let name = all[pick(all.count)]
            tensors.removeAll { $0.0 == name }
            ints.removeAll { $0.0 == name }
            what = "dropped \(name)"
        case 3 where !tensors.isEmpty:  // another dtype
            let i = pick(tensors.count)
            tensors[i].2 = [.float32, .float16, .bfloat16][pick(3)]
            what = "\(tensors[i].0) as \(tensors[i].2)"
        case 4 where !ints.isEmpty:  // cu_seqlens values
            let i = pick(ints.count)
            var t = ints[i].1
            if t.count > 0 { t.scalars[pick(t.count)] = [-1, 0, 1 << 40, Int.max, Int.min][pick(5)] }
            ints[i].1 = t
            what = "\(ints[i].0) entry changed"
        case 5 where !tensors.isEmpty:  // non-finite or huge values
            let i = pick(tensors.count)
            if tensors[i].1.count > 0 {
                tensors[i].1.scalars[pick(tensors[i].1.count)] = [.nan, .infinity, -.infinity, 1e300][pick(4)]
            }
            what = "\(tensors[i].0) value"
        default:  // metadata
            let keys = metadata.keys.sorted()
            let key = keys[pick(keys.count)]
            if r.next() % 3 == 0 { metadata[key] = nil } else { metadata[key] = garbage[pick(garbage.count)] }
            what = "metadata \(key) = \(metadata[key] ?? "<removed>")"
        }
        var w = SafeTensorsWriter(metadata: metadata)
        for (n, t, d) in tensors { w.add(n, t, as: d) }
        for (n, t) in ints { w.add(n, integers: t) }
        try w.write(to: path)
        return what
    }

    /// Mutations per run: 300, or `LRNN_FUZZ_CASES` (with seed `LRNN_FUZZ_SEED`) for a deeper local run.
    static let count = ProcessInfo.processInfo.environment["LRNN_FUZZ_CASES"].flatMap { Int($0) } ?? 300
    static let seed = ProcessInfo.processInfo.environment["LRNN_FUZZ_SEED"].flatMap { UInt64($0) } ?? 20_261_129

    @Test("seeded mutations (300 by default): every case is evaluated, never trapped")
    func mutations() throws {
        let d = try ScratchDirectory()
        var r = SeededRandom(seed: Self.seed)
        var statuses: [CheckLine.Status: Int] = [:]
        for k in 0..<Self.count {
            let name = Self.sources[k % Self.sources.count]
            let file = try SafeTensorsFile(path: Golden.path(name + ".safetensors"))
            let path = d.path("m\(k).safetensors")
            let what = try Self.mutate(file, &r, to: path)
            let lines = GoldenCheck.run(.file(path: path))
            #expect(!lines.isEmpty, "\(name): \(what)")
            for l in lines {
                statuses[l.status, default: 0] += 1
                // A measured line has an error; every other line says why.
                #expect(l.error != nil || l.note != nil, "\(name): \(what): \(l)")
            }
            try? FileManager.default.removeItem(atPath: path)
        }
        // The mutations hit both outcomes.
        #expect((statuses[.fail] ?? 0) > Self.count / 3 && (statuses[.pass] ?? 0) > Self.count / 3, "\(statuses)")
    }
}

import Foundation
import LRNNLinearAlgebra
import LRNNTestSupport
import Testing

/// The texts of header errors: a duplicated key is named, an extent too large to address says
/// so, and the error reported for a header with several faults is the same on every run.
@Suite("safetensors: diagnostics name the fault, deterministically")
struct SafeTensorsDiagnosticsTests {
    @Test(
        "a key named twice in one object is named",
        arguments: [
            // Two tensors under one name (the second entry would otherwise silently win).
            ("{" + entry("a", [1], 0, 4) + "," + entry("a", [1], 4, 8) + "}", "a", ""),
            // The same key spelled with an escape.
            ("{" + entry("ab", [1], 0, 4) + "," + entry("a\\u0062", [1], 4, 8) + "}", "ab", ""),
            // A field of an entry named twice.
            ("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"shape\":[2],\"data_offsets\":[0,8]}}", "shape", "a"),
            // A metadata key named twice.
            ("{\"__metadata__\":{\"op\":\"x\",\"op\":\"y\"}," + entry("a", [2], 0, 8) + "}", "op", "__metadata__"),
        ])
    func duplicateKey(_ header: String, _ key: String, _ object: String) {
        #expect(throws: SafeTensorsError.duplicateKey(file: "t", key: key, object: object)) {
            try open(image(header, data: Array(repeating: 0, count: 8)))
        }
    }

    @Test("distinct keys that share a prefix, and keys inside strings, are not duplicates")
    func noFalseDuplicates() throws {
        let header =
            "{\"__metadata__\":{\"description\":\"\\\"a\\\":{\\\"a\\\"\",\"a\":\"1\"}," + entry("a", [1], 0, 4) + ","
            + entry("aa", [1], 4, 8) + "}"
        let f = try open(image(header, data: Array(repeating: 0, count: 8)))
        #expect(f.names == ["a", "aa"])
        #expect(f.metadata["a"] == "1")
    }

    @Test(
        "extents or products too large to address are 'too large', not 'non-integer or negative'",
        arguments: [
            ("[2305843009213693952]", "[2305843009213693952]"),  // 2^61 (the reported file)
            ("[9007199254740993]", "[9007199254740993]"),  // just above 2^53
            ("[18446744073709551615]", "[18446744073709551615]"),  // 2^64 - 1
            ("[4294967296, 4294967296]", "[4294967296, 4294967296]"),  // product overflows
            ("[0, 4294967296, 4294967296]", "[0, 4294967296, 4294967296]"),  // zero elements, huge sub-product
        ])
    func shapeTooLarge(_ shape: String, _ expected: String) {
        let header = "{\"q\":{\"dtype\":\"F64\",\"shape\":\(shape),\"data_offsets\":[0,0]}}"
        #expect(throws: SafeTensorsError.shapeTooLarge(file: "t", tensor: "q", shape: expected)) {
            try open(image(header))
        }
    }

    @Test("numbers written with a fraction or an exponent are not integers, even when whole")
    func integerLiterals() throws {
        for shape in ["[4.0, 4]", "[1e1, 4]", "[4, 4.0]"] {
            let header = "{\"a\":{\"dtype\":\"F32\",\"shape\":\(shape),\"data_offsets\":[0,160]}}"
            let error = #expect(throws: SafeTensorsError.self) {
                try open(image(header, data: Array(repeating: 0, count: 160)))
            }
            guard case .invalidEntry(_, "a", let reason)? = error else {
                Issue.record("\(shape): expected invalidEntry, got \(String(describing: error))")
                continue
            }
            #expect(reason.contains("non-integer or negative extent"), "\(shape): \(reason)")
        }
        #expect(
            throws: SafeTensorsError.invalidEntry(
                file: "t", tensor: "a", reason: "'data_offsets' must be two non-negative integers")
        ) {
            try open(
                image(
                    "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0.0,8]}}",
                    data: Array(repeating: 0, count: 8)))
        }
        // An integer literal too long for 64 bits is too large, not a fraction.
        #expect(
            throws: SafeTensorsError.shapeTooLarge(file: "t", tensor: "a", shape: "[100000000000000000000]")
        ) {
            try open(image("{\"a\":{\"dtype\":\"F32\",\"shape\":[100000000000000000000],\"data_offsets\":[0,0]}}"))
        }
        // Plain integers still open.
        let f = try open(
            image(
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[2, 2],\"data_offsets\":[0,16]}}",
                data: Array(repeating: 0, count: 16)))
        #expect(try f.info("a").shape == [2, 2])
    }

    @Test("negative and fractional extents are still 'non-integer or negative'")
    func negativeExtent() {
        let error = #expect(throws: SafeTensorsError.self) {
            try open(image("{\"q\":{\"dtype\":\"F64\",\"shape\":[-4],\"data_offsets\":[0,0]}}"))
        }
        #expect(
            error == .invalidEntry(file: "t", tensor: "q", reason: "shape [-4] holds a non-integer or negative extent"))
    }

    @Test("a tensor entry called __metadata__ gets one fixed error")
    func tensorNamedMetadata() {
        let header = "{\"__metadata__\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[0,8]}}"
        let error = #expect(throws: SafeTensorsError.self) { try open(image(header, data: [0, 0, 0, 0, 0, 0, 0, 0])) }
        guard case .invalidMetadata(let file, let reason)? = error else {
            Issue.record("expected invalidMetadata, got \(String(describing: error))")
            return
        }
        #expect(file == "t")
        #expect(reason.contains("reserved"))
    }

    @Test("with many faulty entries, the one reported is the first by name (not hash order)")
    func deterministicFirstFault() {
        // Twenty tensors with unknown dtypes: an unsorted walk would report any of them.
        let names = (0..<20).map { String(format: "t%02d", $0) }.shuffled()
        let header =
            "{"
            + names.map { "\"\($0)\":{\"dtype\":\"X\($0)\",\"shape\":[1],\"data_offsets\":[0,1]}" }
            .joined(separator: ",") + "}"
        for _ in 0..<5 {
            #expect(throws: SafeTensorsError.unknownDType(file: "t", tensor: "t00", dtype: "Xt00")) {
                try open(image(header, data: [0]))
            }
        }
        // Twenty non-string metadata values: the first by key is named.
        let meta = (0..<20).map { String(format: "\"k%02d\":%d", $0, $0) }.shuffled().joined(separator: ",")
        #expect(throws: SafeTensorsError.invalidMetadata(file: "t", reason: "value of 'k00' is not a string")) {
            try open(image("{\"__metadata__\":{\(meta)}}"))
        }
    }

    @Test(
        "the reported regression files give their fixed errors",
        .enabled(if: Golden.regressionsAvailable, Golden.regressionsSkipMessage))
    func regressionFiles() throws {
        let dir = Golden.regressionsDirectory
        let dup = dir.appendingPathComponent("dup_key_header.safetensors").path
        #expect(throws: SafeTensorsError.duplicateKey(file: dup, key: "o", object: "")) {
            try SafeTensorsFile(path: dup)
        }
        let big = dir.appendingPathComponent("shape_bytes_overflow.safetensors").path
        #expect(throws: SafeTensorsError.shapeTooLarge(file: big, tensor: "q", shape: "[2305843009213693952]")) {
            try SafeTensorsFile(path: big)
        }
        let meta = dir.appendingPathComponent("tensor_named_metadata.safetensors").path
        var texts: Set<String> = []
        for _ in 0..<3 {
            do {
                _ = try SafeTensorsFile(path: meta)
                Issue.record("\(meta) opened")
            } catch { texts.insert(error.description) }
        }
        #expect(texts.count == 1)
        #expect(texts.first?.contains("reserved") == true)
    }
}

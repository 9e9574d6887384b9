import LRNNLinearAlgebra
import Testing

/// A safetensors image with the given header text and data bytes; `length` overrides the
/// declared header length.
func image(_ header: String, data: [UInt8] = [], length: UInt64? = nil) -> [UInt8] {
    let h = Array(header.utf8)
    return image(headerBytes: h, data: data, length: length)
}

/// A safetensors image with raw header bytes.
func image(headerBytes h: [UInt8], data: [UInt8] = [], length: UInt64? = nil) -> [UInt8] {
    var out: [UInt8] = []
    withUnsafeBytes(of: (length ?? UInt64(h.count)).littleEndian) { out.append(contentsOf: $0) }
    return out + h + data
}

/// Opens an in-memory image named `"t"`.
func open(_ bytes: [UInt8]) throws(SafeTensorsError) -> SafeTensorsFile {
    try SafeTensorsFile(bytes: bytes, name: "t")
}

/// One F32 entry.
func entry(_ name: String, _ shape: [Int], _ begin: Int, _ end: Int, dtype: String = "F32") -> String {
    "\"\(name)\":{\"dtype\":\"\(dtype)\",\"shape\":\(shape),\"data_offsets\":[\(begin),\(end)]}"
}

@Suite("safetensors: malformed files raise the specific error")
struct SafeTensorsMalformedTests {
    @Test("a valid hand-written file opens (the baseline the cases below break)")
    func baseline() throws {
        let f = try open(image("{" + entry("a", [2], 0, 8) + "}", data: [0, 0, 128, 63, 0, 0, 0, 64]))
        #expect(try f.tensor("a", as: Double.self).scalars == [1, 2])
    }

    @Test("truncated: fewer than 8 bytes")
    func truncated() {
        #expect(throws: SafeTensorsError.truncated(file: "t", size: 5)) { try open([1, 0, 0, 0, 0]) }
        #expect(throws: SafeTensorsError.truncated(file: "t", size: 0)) { try open([]) }
    }

    @Test("header length runs past the end of the file")
    func headerPastEnd() {
        let bytes = image("{}", length: 100)
        #expect(throws: SafeTensorsError.headerPastEnd(file: "t", length: 100, fileSize: 10)) { try open(bytes) }
        #expect(throws: SafeTensorsError.headerPastEnd(file: "t", length: 3, fileSize: 10)) {
            try open(image("{}", length: 3))
        }
    }

    @Test("header length above the limit")
    func headerTooLarge() {
        let limit = SafeTensorsFile.maxHeaderLength
        #expect(throws: SafeTensorsError.headerTooLarge(file: "t", length: 200_000_000, limit: limit)) {
            try open(image("{}", length: 200_000_000))
        }
        #expect(throws: SafeTensorsError.headerTooLarge(file: "t", length: .max, limit: limit)) {
            try open(image("{}", length: .max))
        }
    }

    @Test("data offsets outside the data section, or reversed")
    func offsetsOutOfRange() {
        #expect(throws: SafeTensorsError.offsetsOutOfRange(file: "t", tensor: "a", begin: 0, end: 8, dataSize: 4)) {
            try open(image("{" + entry("a", [2], 0, 8) + "}", data: [0, 0, 0, 0]))
        }
        #expect(throws: SafeTensorsError.offsetsOutOfRange(file: "t", tensor: "a", begin: 8, end: 0, dataSize: 8)) {
            try open(image("{" + entry("a", [2], 8, 0) + "}", data: Array(repeating: 0, count: 8)))
        }
    }

    @Test("two tensors' byte ranges overlap")
    func overlapping() {
        let header = "{" + entry("a", [2], 0, 8) + "," + entry("b", [2], 4, 12) + "}"
        #expect(throws: SafeTensorsError.overlappingTensors(file: "t", tensor: "b", other: "a")) {
            try open(image(header, data: Array(repeating: 0, count: 12)))
        }
    }

    @Test("data bytes that belong to no tensor: a hole, trailing bytes")
    func uncovered() {
        let hole = "{" + entry("a", [1], 0, 4) + "," + entry("b", [1], 8, 12) + "}"
        #expect(throws: SafeTensorsError.uncoveredData(file: "t", begin: 4, end: 8)) {
            try open(image(hole, data: Array(repeating: 0, count: 12)))
        }
        #expect(throws: SafeTensorsError.uncoveredData(file: "t", begin: 4, end: 6)) {
            try open(image("{" + entry("a", [1], 0, 4) + "}", data: Array(repeating: 0, count: 6)))
        }
    }

    @Test("unknown dtype")
    func unknownDType() {
        #expect(throws: SafeTensorsError.unknownDType(file: "t", tensor: "a", dtype: "F8_E4M3")) {
            try open(image("{" + entry("a", [4], 0, 4, dtype: "F8_E4M3") + "}", data: [0, 0, 0, 0]))
        }
    }

    @Test("byte range does not match shape × dtype size")
    func sizeMismatch() {
        #expect(
            throws: SafeTensorsError.sizeMismatch(
                file: "t", tensor: "a", shape: [3], dtype: "F32", expectedBytes: 12, actualBytes: 8)
        ) {
            try open(image("{" + entry("a", [3], 0, 8) + "}", data: Array(repeating: 0, count: 8)))
        }
    }

    @Test("header is not UTF-8")
    func invalidUTF8() {
        let header: [UInt8] = Array("{\"a".utf8) + [0xFF, 0xFE] + Array("\":1}".utf8)
        #expect(throws: SafeTensorsError.invalidUTF8(file: "t")) { try open(image(headerBytes: header)) }
    }

    @Test("header is not a JSON object", arguments: ["{not json", "[1, 2]", "\"text\"", "", "{\"a\":{}"])
    func invalidJSON(_ header: String) {
        let error = #expect(throws: SafeTensorsError.self) { try open(image(header)) }
        guard case .invalidJSON(let file, _)? = error else {
            Issue.record("expected invalidJSON, got \(String(describing: error))")
            return
        }
        #expect(file == "t")
    }

    @Test(
        "metadata of the wrong type",
        arguments: [
            "{\"__metadata__\":{\"x\":1}}", "{\"__metadata__\":{\"x\":true}}", "{\"__metadata__\":{\"x\":null}}",
            "{\"__metadata__\":{\"x\":[\"a\"]}}", "{\"__metadata__\":[]}", "{\"__metadata__\":\"x\"}",
        ])
    func invalidMetadata(_ header: String) {
        let error = #expect(throws: SafeTensorsError.self) { try open(image(header)) }
        guard case .invalidMetadata(let file, _)? = error else {
            Issue.record("expected invalidMetadata, got \(String(describing: error))")
            return
        }
        #expect(file == "t")
    }

    @Test("a tensor that is not in the file")
    func missingTensor() throws {
        let f = try open(image("{" + entry("a", [1], 0, 4) + "}", data: [0, 0, 0, 0]))
        #expect(throws: SafeTensorsError.missingTensor(file: "t", tensor: "nope")) {
            try f.tensor("nope", as: Float.self)
        }
        #expect(throws: SafeTensorsError.missingTensor(file: "t", tensor: "nope")) { try f.integerTensor("nope") }
        #expect(throws: SafeTensorsError.missingTensor(file: "t", tensor: "nope")) { try f.info("nope") }
    }

    @Test(
        "booleans, fractions and negatives where integers are expected",
        arguments: [
            "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[false,true]}}",
            "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,true]}}",
            "{\"a\":{\"dtype\":\"U8\",\"shape\":[true],\"data_offsets\":[0,1]}}",
            "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1.5]}}",
            "{\"a\":{\"dtype\":\"U8\",\"shape\":[-1],\"data_offsets\":[0,1]}}",
            "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,\"1\"]}}",
            "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0]}}",
            "{\"a\":{\"dtype\":\"U8\",\"shape\":1,\"data_offsets\":[0,1]}}",
            "{\"a\":{\"dtype\":8,\"shape\":[1],\"data_offsets\":[0,1]}}",
            "{\"a\":{\"shape\":[1],\"data_offsets\":[0,1]}}",
            "{\"a\":[1]}",
        ])
    func invalidEntry(_ header: String) {
        let error = #expect(throws: SafeTensorsError.self) { try open(image(header, data: [7])) }
        guard case .invalidEntry(let file, let tensor, _)? = error else {
            Issue.record("expected invalidEntry, got \(String(describing: error))")
            return
        }
        #expect(file == "t" && tensor == "a")
    }

    @Test("a shape whose element count overflows is rejected, not trapped")
    func hugeShape() {
        let header = "{\"a\":{\"dtype\":\"F64\",\"shape\":[4294967296,4294967296,16],\"data_offsets\":[0,8]}}"
        #expect(
            throws: SafeTensorsError.shapeTooLarge(file: "t", tensor: "a", shape: "[4294967296, 4294967296, 16]")
        ) {
            try open(image(header, data: Array(repeating: 0, count: 8)))
        }
    }

    @Test("reading a float tensor as integers is an unsupported conversion")
    func unsupportedConversion() throws {
        let f = try open(image("{" + entry("a", [1], 0, 4) + "}", data: [0, 0, 0, 0]))
        #expect(
            throws: SafeTensorsError.unsupportedConversion(file: "t", tensor: "a", dtype: "F32", requested: "integers")
        ) { try f.integerTensor("a") }
    }

    @Test("a file that does not exist cannot be opened; the error names it")
    func cannotOpen() {
        let error = #expect(throws: SafeTensorsError.self) { try SafeTensorsFile(path: "/nonexistent/x.safetensors") }
        guard case .cannotOpen(let file, _)? = error else {
            Issue.record("expected cannotOpen, got \(String(describing: error))")
            return
        }
        #expect(file == "/nonexistent/x.safetensors")
        #expect(error?.description.hasPrefix("/nonexistent/x.safetensors: cannot open") == true)
    }
}

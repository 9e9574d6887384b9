import Foundation
import LRNNLinearAlgebra
import LRNNTestSupport
import Testing

/// The value a float dtype stores `x` as, read back through the file.
func storedValue(_ x: Double, as dtype: SafeTensorsDType) throws -> Double {
    var w = SafeTensorsWriter()
    w.add("x", Tensor<Double>(shape: [1], scalars: [x]), as: dtype)
    return try SafeTensorsFile(bytes: w.serialized()).tensor("x", as: Double.self).scalars[0]
}

/// The neighbours of a finite float16 / bfloat16 value `v` in that format (one step down and up).
func neighbours(_ v: Double, _ dtype: SafeTensorsDType) -> (Double, Double) {
    switch dtype {
    case .float16:
        let h = Float16(v)
        return (Double(h.nextDown), Double(h.nextUp))
    default:
        // bfloat16 is the upper half of a binary32: step the upper 16 bits.
        let bits = Float(v).bitPattern >> 16
        func value(_ b: UInt32) -> Double { Double(Float(bitPattern: b << 16)) }
        let up = v >= 0 ? bits + 1 : (bits == 0x8000 ? 0x0001 : bits - 1)
        let down = v > 0 ? (bits == 0 ? 0x8001 : bits - 1) : bits + 1
        return (value(down), value(up))
    }
}

@Suite("safetensors round trip")
struct SafeTensorsRoundTripTests {
    @Test("every dtype and the metadata survive writing and reading, in memory and on disk")
    func everyDType() throws {
        let floats = Tensor<Double>(shape: [2, 3], scalars: [0, -1.5, 2.25, 1024, -0.0078125, 3])
        let ints: [SafeTensorsDType: [Int]] = [
            .int64: [Int(Int64.min), -1, 0, 1, Int(Int64.max), 42],
            .int32: [Int(Int32.min), -7, 0, 7, Int(Int32.max), 3],
            .int16: [Int(Int16.min), -300, 0, 300, Int(Int16.max), 9],
            .int8: [-128, -1, 0, 1, 127, 5],
            .uint8: [0, 1, 128, 200, 255, 17],
        ]
        var w = SafeTensorsWriter(metadata: ["op": "test", "scale": "0.125", "flag": "true", "text": "é ∑ \"q\""])
        for dtype in [SafeTensorsDType.float64, .float32, .float16, .bfloat16] {
            w.add("f_" + dtype.rawValue, floats, as: dtype)
        }
        for (dtype, values) in ints {
            w.add("i_" + dtype.rawValue, integers: Tensor(shape: [3, 2], scalars: values), as: dtype)
        }
        w.add("b", integers: Tensor(shape: [4], scalars: [0, 1, 5, -2]), as: .bool)
        let bytes = w.serialized()
        let headerLength = bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self).littleEndian }
        #expect(headerLength % 8 == 0)
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("lrnn-roundtrip-\(getpid()).safetensors").path
        try w.write(to: path)
        defer { try? FileManager.default.removeItem(atPath: path) }
        for file in [try SafeTensorsFile(bytes: bytes, name: "mem"), try SafeTensorsFile(path: path)] {
            #expect(file.metadata == w.metadata)
            #expect(file.metadataNumber("scale") == 0.125 && file.metadataBool("flag") == true)
            #expect(file.metadataNumber("text") == nil && file.metadataBool("op") == nil)
            #expect(file.names.count == 4 + ints.count + 1)
            for dtype in [SafeTensorsDType.float64, .float32, .float16, .bfloat16] {
                let name = "f_" + dtype.rawValue
                #expect(try file.info(name).dtype == dtype)
                #expect(try file.tensor(name, as: Double.self) == floats, "\(dtype)")
                #expect(try file.tensor(name, as: Float.self) == floats.converted(to: Float.self), "\(dtype)")
                #expect(
                    throws: SafeTensorsError.unsupportedConversion(
                        file: file.path, tensor: name, dtype: dtype.rawValue, requested: "integers")
                ) { try file.integerTensor(name) }
                let raw = try file.withRawBytes(name) { $0.count }
                #expect(raw == 6 * dtype.byteCount)
            }
            for (dtype, values) in ints {
                let name = "i_" + dtype.rawValue
                #expect(try file.info(name).shape == [3, 2])
                #expect(try file.integerTensor(name) == Tensor(shape: [3, 2], scalars: values), "\(dtype)")
                #expect(try file.tensor(name, as: Double.self).scalars == values.map(Double.init), "\(dtype)")
            }
            #expect(try file.integerTensor("b").scalars == [0, 1, 1, 1])
            #expect(try file.tensor("b", as: Float.self).scalars == [0, 1, 1, 1])
            #expect(file.contains("b") && !file.contains("c"))
        }
    }

    @Test("empty tensors and rank-0 tensors")
    func emptyAndScalar() throws {
        var w = SafeTensorsWriter()
        w.add("scalar", Tensor<Double>(shape: [], scalars: [2.5]), as: .float64)
        w.add("empty", Tensor<Double>(zeros: [0]), as: .float32)
        w.add("empty3", Tensor<Float>(zeros: [2, 0, 3]), as: .bfloat16)
        w.add("iscalar", integers: Tensor(shape: [], scalars: [-9]), as: .int32)
        w.add("iempty", integers: Tensor(zeros: [4, 0]), as: .int64)
        let file = try SafeTensorsFile(bytes: w.serialized())
        let scalar = try file.tensor("scalar", as: Double.self)
        #expect(scalar.shape == [] && scalar.scalars == [2.5])
        #expect(try file.tensor("empty", as: Double.self).shape == [0])
        let e3 = try file.tensor("empty3", as: Float.self)
        #expect(e3.shape == [2, 0, 3] && e3.count == 0)
        #expect(try file.integerTensor("iscalar") == Tensor(shape: [], scalars: [-9]))
        #expect(try file.integerTensor("iempty").shape == [4, 0])
        #expect(try file.info("iempty").byteRange.isEmpty)
        // A file with no tensors at all is valid.
        let none = try SafeTensorsFile(bytes: SafeTensorsWriter().serialized())
        #expect(none.names.isEmpty && none.metadata.isEmpty)
    }

    @Test("float16 and bfloat16 round to nearest, ties to even, without double rounding")
    func halfPrecisionRounding() throws {
        // Hand-picked cases: exact ties go to even; a hair above a tie goes up (rounding the
        // Float64 value to Float32 first would land on the tie and go down).
        let f16: [(Double, Double)] = [
            (1 + 0x1p-11, 1), (1 + 3 * 0x1p-11, 1 + 0x1p-9), (1 + 0x1p-11 + 0x1p-40, 1 + 0x1p-10),
            (65504, 65504), (65519.99, 65504), (65520, .infinity), (-65520, -.infinity), (0x1p-24, 0x1p-24),
            (0x1p-26, 0), (-0.0, -0.0), (0.1, 0.0999755859375),
        ]
        let bf16: [(Double, Double)] = [
            (1 + 0x1p-8, 1), (1 + 3 * 0x1p-8, 1 + 0x1p-6), (1 + 0x1p-8 + 0x1p-40, 1 + 0x1p-7),
            (-(1 + 0x1p-8 + 0x1p-40), -(1 + 0x1p-7)), (3.4e38, .infinity), (0.1, 0.10009765625), (-0.0, -0.0),
        ]
        for (x, expected) in f16 {
            let got = try storedValue(x, as: .float16)
            #expect(got == expected && got.sign == expected.sign, "float16(\(x)) = \(got), expected \(expected)")
        }
        for (x, expected) in bf16 {
            let got = try storedValue(x, as: .bfloat16)
            #expect(got == expected && got.sign == expected.sign, "bfloat16(\(x)) = \(got), expected \(expected)")
        }
        #expect(try storedValue(.nan, as: .float16).isNaN)
        #expect(try storedValue(.nan, as: .bfloat16).isNaN)
        #expect(try storedValue(-.infinity, as: .bfloat16) == -.infinity)
        // Random values over many magnitudes: no representable neighbour is closer.
        var rng = SeededRandom(seed: 99)
        var xs: [Double] = []
        for _ in 0..<2000 {
            xs.append(rng.uniform(-1...1) * Double.pow(2, Double(Int.random(in: -20...14, using: &rng))))
        }
        for dtype in [SafeTensorsDType.float16, .bfloat16] {
            var w = SafeTensorsWriter()
            w.add("x", Tensor(shape: [xs.count], scalars: xs), as: dtype)
            let stored = try SafeTensorsFile(bytes: w.serialized()).tensor("x", as: Double.self).scalars
            var worst = 0
            for (x, v) in zip(xs, stored) where v.isFinite && v != 0 {
                let (down, up) = neighbours(v, dtype)
                if abs(x - down) < abs(x - v) || abs(x - up) < abs(x - v) { worst += 1 }
            }
            #expect(worst == 0, "\(worst) values of \(xs.count) not rounded to nearest in \(dtype)")
        }
    }
}

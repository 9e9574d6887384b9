import Foundation

/// Finds a key that appears twice in one JSON object (used for safetensors headers and for a
/// model directory's JSON files, where a parser would keep one of the two values silently).
///
/// Foundation's `JSONSerialization` keeps one of two equal keys silently, so a safetensors header
/// that names a tensor twice would otherwise open with one of the two entries dropped (and the
/// other's bytes reported as "belonging to no tensor"). The header is scanned once more for its
/// structure only: strings (with every JSON escape decoded, so `"a"` and `"\u0061"` are the same
/// key), objects and arrays. The scan is iterative (an explicit stack), so deep nesting cannot
/// exhaust the call stack. It assumes syntactically valid JSON (the parser has accepted it).
package struct JSONDuplicateKey: Equatable {
    /// The duplicated key, decoded.
    package var key: String
    /// The keys of the enclosing objects, outermost first (empty for the top level).
    package var objectPath: [String]

    /// The first duplicated key in document order, or nil when every object's keys are distinct.
    ///
    /// - Parameter bytes: the JSON text (UTF-8).
    package static func first(in bytes: UnsafeRawBufferPointer) -> JSONDuplicateKey? {
        struct Frame {
            var isObject: Bool
            var keys: Set<String> = []
            var expectingKey = true
            var lastKey: String? = nil
        }
        var stack: [Frame] = []
        var i = 0
        let n = bytes.count
        while i < n {
            let c = bytes[i]
            switch c {
            case UInt8(ascii: "\""):
                let (s, next) = decodeString(bytes, from: i + 1)
                i = next
                if var top = stack.last, top.isObject, top.expectingKey {
                    if top.keys.contains(s) {
                        return JSONDuplicateKey(key: s, objectPath: stack.dropLast().compactMap(\.lastKey))
                    }
                    top.keys.insert(s)
                    top.lastKey = s
                    top.expectingKey = false
                    stack[stack.count - 1] = top
                }
                continue
            case UInt8(ascii: "{"):
                stack.append(Frame(isObject: true))
            case UInt8(ascii: "["):
                stack.append(Frame(isObject: false))
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if !stack.isEmpty { stack.removeLast() }
            case UInt8(ascii: ","):
                if !stack.isEmpty, stack[stack.count - 1].isObject { stack[stack.count - 1].expectingKey = true }
            default:
                break
            }
            i += 1
        }
        return nil
    }

    /// Decodes the JSON string whose contents start at `start` (just after the opening quote);
    /// returns it and the index just after the closing quote.
    private static func decodeString(_ bytes: UnsafeRawBufferPointer, from start: Int) -> (String, Int) {
        var out: [UInt8] = []
        var i = start
        let n = bytes.count
        var pendingHigh: UInt32? = nil
        func appendScalar(_ v: UInt32) {
            let scalar = Unicode.Scalar(v) ?? "\u{FFFD}"
            out.append(contentsOf: Array(String(Character(scalar)).utf8))
        }
        func flushHigh() {
            if pendingHigh != nil { appendScalar(0xFFFD) }
            pendingHigh = nil
        }
        while i < n {
            let c = bytes[i]
            if c == UInt8(ascii: "\"") {
                flushHigh()
                return (String(decoding: out, as: UTF8.self), i + 1)
            }
            if c != UInt8(ascii: "\\") {
                flushHigh()
                out.append(c)
                i += 1
                continue
            }
            guard i + 1 < n else { break }
            let e = bytes[i + 1]
            i += 2
            if e == UInt8(ascii: "u") {
                var v: UInt32 = 0
                var digits = 0
                while digits < 4, i < n, let h = hexValue(bytes[i]) {
                    v = v * 16 + h
                    digits += 1
                    i += 1
                }
                if (0xD800...0xDBFF).contains(v) {
                    flushHigh()
                    pendingHigh = v
                } else if (0xDC00...0xDFFF).contains(v), let high = pendingHigh {
                    pendingHigh = nil
                    appendScalar(0x10000 + ((high - 0xD800) << 10) + (v - 0xDC00))
                } else {
                    flushHigh()
                    appendScalar(v)
                }
                continue
            }
            flushHigh()
            switch e {
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            default: out.append(e)  // \" \\ \/
            }
        }
        flushHigh()
        return (String(decoding: out, as: UTF8.self), n)
    }

    private static func hexValue(_ c: UInt8) -> UInt32? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(c - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(c - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(c - UInt8(ascii: "A") + 10)
        default: nil
        }
    }
}

extension JSONDuplicateKey {
    /// The first duplicated key of a JSON document held as `Data`.
    ///
    /// - Parameter data: the JSON text (UTF-8).
    package static func first(in data: Data) -> JSONDuplicateKey? {
        data.withUnsafeBytes { first(in: $0) }
    }

    /// `'key'` at the top level, or `'key' in 'a.b'`.
    package var location: String {
        objectPath.isEmpty ? "'\(key)'" : "'\(key)' in '\(objectPath.joined(separator: "."))'"
    }
}

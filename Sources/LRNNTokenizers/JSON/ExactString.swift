/// A string compared and hashed by its UTF-8 bytes. Swift's `String` equality is canonical
/// equivalence (`"Å"` U+212B equals `"Å"` U+00C5), but token strings are distinct when their
/// bytes are: a vocabulary may hold both spellings with different ids, as `tokenizers` keeps them.
struct ExactString: Hashable, Sendable {
    let bytes: [UInt8]

    init(_ s: String) { bytes = Array(s.utf8) }

    var string: String { String(decoding: bytes, as: UTF8.self) }
}

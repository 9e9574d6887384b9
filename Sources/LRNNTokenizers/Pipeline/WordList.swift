/// One word of a ``WordList``: a range of its scalar buffer, and whether it begins at offset 0
/// of the input (Metaspace's `prepend_scheme: "first"` depends on it).
struct WordSpan: Sendable {
    var start: Int
    var end: Int
    var atStart: Bool
}

/// The words of one stretch of text on its way through the pre-tokenizer: one scalar buffer and
/// the spans of the words in it (`tokenizers`' `PreTokenizedString`, without the offsets).
/// Splitting only rewrites the spans; a stage that rewrites scalars (ByteLevel, Metaspace) writes
/// a new buffer once for all the words. Words are never empty.
struct WordList {
    var scalars: [UInt32]
    var words: [WordSpan]
}

/// One piece of a word as a pre-tokenizer sees it: an absolute range of the scalar buffer and
/// whether it is a match of the split pattern.
struct Segment {
    var start: Int
    var end: Int
    var isMatch: Bool
}

/// Scratch space of one encoding call: the regex machine's backtracking stack, the segments of
/// the word being split, and the BPE model's buffers and word cache.
struct EncodeScratch {
    var stack: [(Int, Int)] = []
    var segments: [Segment] = []
    var merged: [Segment] = []
    var bpe = BPEScratch()
}

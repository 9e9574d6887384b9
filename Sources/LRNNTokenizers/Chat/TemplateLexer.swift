/// A token of a chat template: a stretch of text, or the inside of a tag.
enum TemplateToken: Equatable {
    case text(String)
    /// `{{ … }}`: the expression's tokens.
    case output([String])
    /// `{% … %}`: the statement's tokens.
    case statement([String])
}

/// Splits a template into text and tags, applying whitespace control (`{%-`, `-%}`) and
/// transformers' `trim_blocks` (the newline after a block tag goes) and `lstrip_blocks`
/// (spaces and tabs before a block tag on its line go).
enum TemplateLexer {
    static func tokens(_ source: String) throws(TemplateError) -> [TemplateToken] {
        let s = Array(source.unicodeScalars)
        var out: [TemplateToken] = []
        var text = String.UnicodeScalarView()
        var i = 0
        var trimNextLeading = false
        var trimNextNewline = false
        func flushText(stripTrailing: Bool, lstripBlock: Bool) {
            var t = Array(text)
            if stripTrailing {
                while let last = t.last, last.properties.isWhitespace { t.removeLast() }
            } else if lstripBlock {
                var k = t.count
                while k > 0, t[k - 1] == " " || t[k - 1] == "\t" { k -= 1 }
                if k == 0 || t[k - 1] == "\n" { t.removeSubrange(k...) }
            }
            if !t.isEmpty { out.append(.text(String(String.UnicodeScalarView(t)))) }
            text = String.UnicodeScalarView()
        }
        while i < s.count {
            if trimNextLeading {
                while i < s.count, s[i].properties.isWhitespace { i += 1 }
                trimNextLeading = false
                continue
            }
            if trimNextNewline {
                trimNextNewline = false
                if s[i] == "\n" {
                    i += 1
                    continue
                }
            }
            guard s[i] == "{", i + 1 < s.count, s[i + 1] == "{" || s[i + 1] == "%" || s[i + 1] == "#" else {
                text.append(s[i])
                i += 1
                continue
            }
            let kind = s[i + 1]
            let close: Unicode.Scalar = kind == "{" ? "}" : kind
            var j = i + 2
            let stripBefore = j < s.count && s[j] == "-"
            if stripBefore { j += 1 }
            flushText(stripTrailing: stripBefore, lstripBlock: kind != "{")
            // Find the closing delimiter outside string literals.
            var quote: Unicode.Scalar? = nil
            var end = -1
            var k = j
            while k + 1 < s.count {
                if let q = quote {
                    if s[k] == "\\" {
                        k += 2
                        continue
                    }
                    if s[k] == q { quote = nil }
                } else if s[k] == "'" || s[k] == "\"" {
                    quote = s[k]
                } else if s[k] == close, s[k + 1] == "}" {
                    end = k
                    break
                }
                k += 1
            }
            guard end >= 0 else { throw TemplateError(reason: "unclosed tag at character \(i)") }
            var inner = Array(s[j..<end])
            var stripAfter = false
            if inner.last == "-" {
                inner.removeLast()
                stripAfter = true
            }
            i = end + 2
            trimNextLeading = stripAfter
            if kind == "#" {
                trimNextNewline = !stripAfter
                continue
            }
            let words = try words(inner)
            if kind == "{" {
                out.append(.output(words))
            } else {
                out.append(.statement(words))
                trimNextNewline = !stripAfter
            }
        }
        flushText(stripTrailing: false, lstripBlock: false)
        return out
    }

    /// The expression tokens of a tag: names, numbers, string literals (kept with their quote
    /// as the first character, escapes decoded) and operators.
    static func words(_ s: [Unicode.Scalar]) throws(TemplateError) -> [String] {
        var out: [String] = []
        var i = 0
        let twoChar: Set<String> = ["==", "!=", "<=", ">="]
        while i < s.count {
            let c = s[i]
            if c.properties.isWhitespace {
                i += 1
                continue
            }
            if c == "'" || c == "\"" {
                var v = String.UnicodeScalarView([c])
                i += 1
                while i < s.count, s[i] != c {
                    if s[i] == "\\", i + 1 < s.count {
                        i += 1
                        switch s[i] {
                        case "n": v.append("\n")
                        case "t": v.append("\t")
                        case "r": v.append("\r")
                        default: v.append(s[i])
                        }
                    } else {
                        v.append(s[i])
                    }
                    i += 1
                }
                guard i < s.count else { throw TemplateError(reason: "unterminated string literal") }
                i += 1
                out.append(String(v))
                continue
            }
            if c.properties.isAlphabetic || c == "_" || ("0"..."9").contains(c) {
                var v = String.UnicodeScalarView()
                while i < s.count, s[i].properties.isAlphabetic || s[i] == "_" || ("0"..."9").contains(s[i]) {
                    v.append(s[i])
                    i += 1
                }
                out.append(String(v))
                continue
            }
            if i + 1 < s.count, twoChar.contains(String(String.UnicodeScalarView([c, s[i + 1]]))) {
                out.append(String(String.UnicodeScalarView([c, s[i + 1]])))
                i += 2
                continue
            }
            guard "+-~*/%()[].,|<>=:".unicodeScalars.contains(c) else {
                throw TemplateError(reason: "unexpected character '\(c)' in a tag")
            }
            out.append(String(c))
            i += 1
        }
        return out
    }
}

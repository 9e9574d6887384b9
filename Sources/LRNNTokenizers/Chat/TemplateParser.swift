/// Parses the tokens of a chat template into nodes and expressions.
struct TemplateParser {
    private let tokens: [TemplateToken]
    private var position = 0

    init(_ tokens: [TemplateToken]) { self.tokens = tokens }

    /// Nodes up to a statement whose first word is in `terminators` (left unconsumed), or the end.
    mutating func parseBody(until terminators: Set<String>, depth: Int = 0) throws(TemplateError) -> [ChatTemplate.Node]
    {
        guard depth < 64 else { throw TemplateError(reason: "blocks nested deeper than 64") }
        var nodes: [ChatTemplate.Node] = []
        while position < tokens.count {
            switch tokens[position] {
            case let .text(s):
                nodes.append(.text(s))
                position += 1
            case let .output(words):
                var e = ExpressionParser(words)
                nodes.append(.output(try e.parseAll()))
                position += 1
            case let .statement(words):
                guard let keyword = words.first else { throw TemplateError(reason: "empty statement") }
                if terminators.contains(keyword) { return nodes }
                position += 1
                switch keyword {
                case "for":
                    guard words.count >= 4, words[2] == "in" else {
                        throw TemplateError(reason: "malformed for statement")
                    }
                    var e = ExpressionParser(Array(words[3...]))
                    let sequence = try e.parseAll()
                    let body = try parseBody(until: ["endfor", "else"], depth: depth + 1)
                    guard try closing() == "endfor" else {
                        throw TemplateError(reason: "for … else is not supported")
                    }
                    nodes.append(.forLoop(variable: words[1], sequence: sequence, body: body))
                case "if":
                    var branches: [(ChatTemplate.Expression, [ChatTemplate.Node])] = []
                    var otherwise: [ChatTemplate.Node] = []
                    var condition = Array(words.dropFirst())
                    while true {
                        var e = ExpressionParser(condition)
                        let c = try e.parseAll()
                        let body = try parseBody(until: ["elif", "else", "endif"], depth: depth + 1)
                        branches.append((c, body))
                        guard case let .statement(w) = tokens[position] else { break }
                        position += 1
                        if w[0] == "elif" {
                            condition = Array(w.dropFirst())
                            continue
                        }
                        if w[0] == "else" {
                            otherwise = try parseBody(until: ["endif"], depth: depth + 1)
                            guard try closing() == "endif" else { throw TemplateError(reason: "missing endif") }
                        }
                        break
                    }
                    nodes.append(.conditional(branches, otherwise: otherwise))
                case "set":
                    guard words.count >= 4, words[2] == "=" else {
                        throw TemplateError(reason: "only 'set name = expression' is supported")
                    }
                    var e = ExpressionParser(Array(words[3...]))
                    nodes.append(.assignment(words[1], try e.parseAll()))
                default:
                    throw TemplateError(reason: "statement '\(keyword)' is not supported")
                }
            }
        }
        guard terminators.isEmpty else {
            throw TemplateError(reason: "missing \(terminators.sorted().joined(separator: " or "))")
        }
        return nodes
    }

    private mutating func closing() throws(TemplateError) -> String {
        guard position < tokens.count, case let .statement(w) = tokens[position] else {
            throw TemplateError(reason: "unterminated block")
        }
        position += 1
        return w[0]
    }
}

/// Parses one expression (Jinja's precedence: or, and, not, comparisons and tests, `~`, `+ -`,
/// `* / %`, unary minus, filters, postfix subscripts and attributes).
struct ExpressionParser {
    private let w: [String]
    private var i = 0
    private var depth = 0

    init(_ words: [String]) { w = words }

    mutating func parseAll() throws(TemplateError) -> ChatTemplate.Expression {
        let e = try or()
        guard i == w.count else { throw TemplateError(reason: "unexpected '\(w[i])' in an expression") }
        return e
    }

    private var peek: String? { i < w.count ? w[i] : nil }

    private mutating func expect(_ s: String) throws(TemplateError) {
        guard peek == s else { throw TemplateError(reason: "expected '\(s)'") }
        i += 1
    }

    private mutating func or() throws(TemplateError) -> ChatTemplate.Expression {
        depth += 1
        defer { depth -= 1 }
        guard depth < 64 else { throw TemplateError(reason: "expression nested too deeply") }
        var e = try and()
        while peek == "or" {
            i += 1
            e = .binary("or", e, try and())
        }
        return e
    }

    private mutating func and() throws(TemplateError) -> ChatTemplate.Expression {
        var e = try not()
        while peek == "and" {
            i += 1
            e = .binary("and", e, try not())
        }
        return e
    }

    private mutating func not() throws(TemplateError) -> ChatTemplate.Expression {
        if peek == "not" {
            i += 1
            return .unary("not", try not())
        }
        return try comparison()
    }

    private mutating func comparison() throws(TemplateError) -> ChatTemplate.Expression {
        var e = try concatenation()
        while let op = peek {
            if ["==", "!=", "<", ">", "<=", ">=", "in"].contains(op) {
                i += 1
                e = .binary(op, e, try concatenation())
            } else if op == "not", i + 1 < w.count, w[i + 1] == "in" {
                i += 2
                e = .binary("not in", e, try concatenation())
            } else if op == "is" {
                i += 1
                var negated = false
                if peek == "not" {
                    negated = true
                    i += 1
                }
                guard let name = peek else { throw TemplateError(reason: "missing test name after 'is'") }
                i += 1
                e = .test(e, name, negated: negated)
            } else {
                break
            }
        }
        return e
    }

    private mutating func concatenation() throws(TemplateError) -> ChatTemplate.Expression {
        var e = try sum()
        while peek == "~" {
            i += 1
            e = .binary("~", e, try sum())
        }
        return e
    }

    private mutating func sum() throws(TemplateError) -> ChatTemplate.Expression {
        var e = try product()
        while let op = peek, op == "+" || op == "-" {
            i += 1
            e = .binary(op, e, try product())
        }
        return e
    }

    private mutating func product() throws(TemplateError) -> ChatTemplate.Expression {
        var e = try unary()
        while let op = peek, op == "*" || op == "/" || op == "%" {
            i += 1
            e = .binary(op, e, try unary())
        }
        return e
    }

    private mutating func unary() throws(TemplateError) -> ChatTemplate.Expression {
        if peek == "-" {
            i += 1
            return .unary("-", try unary())
        }
        var e = try postfix()
        while peek == "|" {
            i += 1
            guard let name = peek else { throw TemplateError(reason: "missing filter name") }
            i += 1
            e = .filter(e, name)
        }
        return e
    }

    private mutating func postfix() throws(TemplateError) -> ChatTemplate.Expression {
        var e = try primary()
        while let p = peek {
            if p == "." {
                i += 1
                guard let name = peek else { throw TemplateError(reason: "missing attribute name") }
                i += 1
                if peek == "(" { throw TemplateError(reason: "method '\(name)' is not supported") }
                e = .attribute(e, name)
            } else if p == "[" {
                i += 1
                let index = try or()
                try expect("]")
                e = .index(e, index)
            } else {
                break
            }
        }
        return e
    }

    private mutating func primary() throws(TemplateError) -> ChatTemplate.Expression {
        guard let t = peek else { throw TemplateError(reason: "expression ends early") }
        i += 1
        if let first = t.unicodeScalars.first, first == "'" || first == "\"" {
            return .literal(.string(String(t.unicodeScalars.dropFirst())))
        }
        if let n = Int(t) { return .literal(.integer(n)) }
        switch t {
        case "true", "True": return .literal(.bool(true))
        case "false", "False": return .literal(.bool(false))
        case "none", "None": return .literal(.none)
        case "(":
            let e = try or()
            try expect(")")
            return e
        case "[":
            var items: [ChatTemplate.Expression] = []
            while peek != "]" {
                items.append(try or())
                if peek == "," { i += 1 } else { break }
            }
            try expect("]")
            return .list(items)
        default:
            guard let c = t.unicodeScalars.first, c.properties.isAlphabetic || c == "_" else {
                throw TemplateError(reason: "unexpected '\(t)' in an expression")
            }
            if peek == "(" {
                i += 1
                var args: [ChatTemplate.Expression] = []
                while peek != ")" {
                    args.append(try or())
                    if peek == "," { i += 1 } else { break }
                }
                try expect(")")
                return .call(t, args)
            }
            return .name(t)
        }
    }
}

/// A parsed chat template: the Jinja subset of ``Tokenizer/applyChatTemplate(_:addGenerationPrompt:)``.
struct ChatTemplate {
    indirect enum Expression {
        case literal(TemplateValue)
        case name(String)
        case attribute(Expression, String)
        case index(Expression, Expression)
        case unary(String, Expression)
        case binary(String, Expression, Expression)
        case filter(Expression, String)
        case test(Expression, String, negated: Bool)
        case call(String, [Expression])
        case list([Expression])
    }

    indirect enum Node {
        case text(String)
        case output(Expression)
        case forLoop(variable: String, sequence: Expression, body: [Node])
        case conditional([(Expression, [Node])], otherwise: [Node])
        case assignment(String, Expression)
    }

    let nodes: [Node]

    /// Output of a template is bounded, so that a loop cannot fill memory.
    static let maxOutput = 1 << 26

    init(_ source: String) throws(TemplateError) {
        var parser = TemplateParser(try TemplateLexer.tokens(source))
        nodes = try parser.parseBody(until: [])
    }

    func render(_ variables: [String: TemplateValue]) throws(TemplateError) -> String {
        var scope = variables
        var out = ""
        try render(nodes, scope: &scope, into: &out)
        return out
    }

    private func render(_ nodes: [Node], scope: inout [String: TemplateValue], into out: inout String)
        throws(TemplateError)
    {
        for node in nodes {
            switch node {
            case let .text(s): out += s
            case let .output(e): out += try evaluate(e, scope).rendered
            case let .assignment(name, e): scope[name] = try evaluate(e, scope)
            case let .conditional(branches, otherwise):
                var taken = false
                for (condition, body) in branches where try evaluate(condition, scope).truthy {
                    try render(body, scope: &scope, into: &out)
                    taken = true
                    break
                }
                if !taken { try render(otherwise, scope: &scope, into: &out) }
            case let .forLoop(variable, sequence, body):
                let items: [TemplateValue]
                switch try evaluate(sequence, scope) {
                case let .list(l): items = l
                case let .string(s): items = s.map { .string(String($0)) }
                case let .dictionary(d): items = d.keys.sorted().map { .string($0) }
                case .undefined, .none: items = []
                default: throw TemplateError(reason: "for loop over a value that is not a sequence")
                }
                let saved = (scope[variable], scope["loop"])
                for (i, item) in items.enumerated() {
                    scope[variable] = item
                    scope["loop"] = .dictionary([
                        "index": .integer(i + 1), "index0": .integer(i), "first": .bool(i == 0),
                        "last": .bool(i == items.count - 1), "length": .integer(items.count),
                        "revindex": .integer(items.count - i), "revindex0": .integer(items.count - i - 1),
                    ])
                    try render(body, scope: &scope, into: &out)
                    guard out.utf8.count <= Self.maxOutput else {
                        throw TemplateError(reason: "output longer than \(Self.maxOutput) bytes")
                    }
                }
                scope[variable] = saved.0
                scope["loop"] = saved.1
            }
        }
    }

    private func evaluate(_ e: Expression, _ scope: [String: TemplateValue]) throws(TemplateError) -> TemplateValue {
        switch e {
        case let .literal(v): return v
        case let .name(n): return scope[n] ?? .undefined
        case let .list(items): return .list(try items.map { (x) throws(TemplateError) in try evaluate(x, scope) })
        case let .attribute(base, name):
            if case let .dictionary(d) = try evaluate(base, scope) { return d[name] ?? .undefined }
            return .undefined
        case let .index(base, index):
            let b = try evaluate(base, scope)
            let k = try evaluate(index, scope)
            switch (b, k) {
            case let (.dictionary(d), .string(s)): return d[s] ?? .undefined
            case let (.list(l), .integer(i)):
                let j = i < 0 ? l.count + i : i
                return l.indices.contains(j) ? l[j] : .undefined
            default: return .undefined
            }
        case let .unary(op, x):
            let v = try evaluate(x, scope)
            if op == "not" { return .bool(!v.truthy) }
            guard case let .integer(i) = v else { throw TemplateError(reason: "unary '-' of a non-integer") }
            return .integer(-i)
        case let .binary(op, l, r):
            if op == "and" {
                let a = try evaluate(l, scope)
                return a.truthy ? try evaluate(r, scope) : a
            }
            if op == "or" {
                let a = try evaluate(l, scope)
                return a.truthy ? a : try evaluate(r, scope)
            }
            return try binary(op, try evaluate(l, scope), try evaluate(r, scope))
        case let .filter(x, name):
            let v = try evaluate(x, scope)
            switch (name, v) {
            case let ("trim", .string(s)): return .string(s.trimmingWhitespace())
            case let ("upper", .string(s)): return .string(s.uppercased())
            case let ("lower", .string(s)): return .string(s.lowercased())
            case let ("length", .string(s)): return .integer(s.count)
            case let ("length", .list(l)): return .integer(l.count)
            case let ("length", .dictionary(d)): return .integer(d.count)
            default: throw TemplateError(reason: "filter '\(name)' is not supported for this value")
            }
        case let .test(x, name, negated):
            let v = try evaluate(x, scope)
            let result: Bool
            switch name {
            case "defined": result = v != .undefined
            case "none": result = v == .none
            case "string": if case .string = v { result = true } else { result = false }
            default: throw TemplateError(reason: "test 'is \(name)' is not supported")
            }
            return .bool(result != negated)
        case let .call(name, args):
            guard name == "raise_exception" else { throw TemplateError(reason: "function '\(name)' is not supported") }
            let message = try args.first.map { (a) throws(TemplateError) in try evaluate(a, scope).rendered } ?? ""
            throw TemplateError(reason: "the template raised an exception: \(message)")
        }
    }

    private func binary(_ op: String, _ a: TemplateValue, _ b: TemplateValue) throws(TemplateError) -> TemplateValue {
        switch (op, a, b) {
        case ("==", _, _): return .bool(a == b)
        case ("!=", _, _): return .bool(a != b)
        case let ("+", .string(x), .string(y)): return .string(x + y)
        case let ("+", .integer(x), .integer(y)): return .integer(x &+ y)
        case let ("-", .integer(x), .integer(y)): return .integer(x &- y)
        case let ("+", .list(x), .list(y)): return .list(x + y)
        case ("~", _, _): return .string(a.rendered + b.rendered)
        case let ("<", .integer(x), .integer(y)): return .bool(x < y)
        case let (">", .integer(x), .integer(y)): return .bool(x > y)
        case let ("<=", .integer(x), .integer(y)): return .bool(x <= y)
        case let (">=", .integer(x), .integer(y)): return .bool(x >= y)
        case let ("%", .integer(x), .integer(y)) where y != 0: return .integer(x % y)
        case let ("in", .string(x), .string(y)): return .bool(y.contains(x))
        case let ("in", _, .list(l)): return .bool(l.contains(a))
        case let ("in", .string(x), .dictionary(d)): return .bool(d[x] != nil)
        case ("not in", _, _): return .bool(!(try binary("in", a, b)).truthy)
        default: throw TemplateError(reason: "operator '\(op)' is not supported for these values")
        }
    }
}

extension String {
    /// The string without leading and trailing whitespace (Python's `str.strip()`).
    func trimmingWhitespace() -> String {
        let s = unicodeScalars
        guard let lo = s.firstIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        let hi = s.lastIndex(where: { !$0.properties.isWhitespace })!
        return String(s[lo...hi])
    }
}

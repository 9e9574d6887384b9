/// A value of the chat-template language.
enum TemplateValue: Equatable {
    case undefined
    case none
    case bool(Bool)
    case integer(Int)
    case string(String)
    case list([TemplateValue])
    case dictionary([String: TemplateValue])

    var truthy: Bool {
        switch self {
        case .undefined, .none: false
        case let .bool(b): b
        case let .integer(i): i != 0
        case let .string(s): !s.isEmpty
        case let .list(l): !l.isEmpty
        case let .dictionary(d): !d.isEmpty
        }
    }

    /// The text Jinja prints for the value.
    var rendered: String {
        switch self {
        case .undefined: ""
        case .none: "None"
        case let .bool(b): b ? "True" : "False"
        case let .integer(i): String(i)
        case let .string(s): s
        case let .list(l): "[" + l.map(\.repr).joined(separator: ", ") + "]"
        case let .dictionary(d): "{" + d.keys.sorted().map { "'\($0)': \(d[$0]!.repr)" }.joined(separator: ", ") + "}"
        }
    }

    private var repr: String {
        if case let .string(s) = self { return "'\(s)'" }
        return rendered
    }
}

/// Why a template could not be parsed or rendered.
struct TemplateError: Error {
    let reason: String
}

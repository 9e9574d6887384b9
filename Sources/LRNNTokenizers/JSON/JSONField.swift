/// A JSON value with its place in a file, for reading typed fields with errors that name both.
struct JSONField: Sendable {
    /// The value.
    let value: JSONValue
    /// The file name.
    let file: String
    /// The path of the value from the top of the file (`model.merges[3]`; empty at the top).
    let path: String

    init(_ value: JSONValue, file: String, path: String = "") {
        self.value = value
        self.file = file
        self.path = path
    }

    private func child(_ key: String) -> String { path.isEmpty ? key : path + "." + key }

    /// Whether the value is JSON null.
    var isNull: Bool { if case .null = value { true } else { false } }

    /// The member `key` of an object, or nil when absent (a null member is returned as null).
    /// - Throws: ``TokenizerError/wrongType(file:field:expected:)`` when this is not an object.
    func optional(_ key: String) throws(TokenizerError) -> JSONField? {
        guard case let .object(entries) = value else {
            throw .wrongType(file: file, field: path.isEmpty ? "top level" : path, expected: "an object")
        }
        guard let e = entries.first(where: { $0.key == key }) else { return nil }
        return JSONField(e.value, file: file, path: child(key))
    }

    /// The member `key`, which must be present.
    func required(_ key: String) throws(TokenizerError) -> JSONField {
        guard let f = try optional(key) else { throw .missingField(file: file, field: child(key)) }
        return f
    }

    /// The member `key` when present and not null.
    func nonNull(_ key: String) throws(TokenizerError) -> JSONField? {
        guard let f = try optional(key), !f.isNull else { return nil }
        return f
    }

    /// The keys of an object.
    var keys: [String] {
        if case let .object(entries) = value { return entries.map(\.key) }
        return []
    }

    func string() throws(TokenizerError) -> String {
        guard case let .string(s) = value else { throw .wrongType(file: file, field: path, expected: "a string") }
        return s
    }

    func bool() throws(TokenizerError) -> Bool {
        guard case let .bool(b) = value else { throw .wrongType(file: file, field: path, expected: "a boolean") }
        return b
    }

    func integer() throws(TokenizerError) -> Int {
        guard case let .number(_, integer?) = value else {
            throw .wrongType(file: file, field: path, expected: "an integer")
        }
        return integer
    }

    func number() throws(TokenizerError) -> Double {
        guard case let .number(d, _) = value else { throw .wrongType(file: file, field: path, expected: "a number") }
        return d
    }

    func array() throws(TokenizerError) -> [JSONField] {
        guard case let .array(items) = value else { throw .wrongType(file: file, field: path, expected: "an array") }
        return items.enumerated().map { JSONField($1, file: file, path: "\(path)[\($0)]") }
    }

    func object() throws(TokenizerError) -> [(key: String, value: JSONField)] {
        guard case let .object(entries) = value else {
            throw .wrongType(file: file, field: path.isEmpty ? "top level" : path, expected: "an object")
        }
        return entries.map { ($0.key, JSONField($0.value, file: file, path: child($0.key))) }
    }

    /// An optional boolean member with a default.
    func bool(_ key: String, default d: Bool) throws(TokenizerError) -> Bool {
        try nonNull(key)?.bool() ?? d
    }

    /// The `type` member of a component.
    func type() throws(TokenizerError) -> String { try required("type").string() }

    /// Refuses members outside `known`, so that a setting this library does not read is never
    /// silently ignored.
    func onlyKeys(_ known: Set<String>, component: String) throws(TokenizerError) {
        for k in keys where !known.contains(k) {
            throw .unsupportedValue(
                file: file, field: child(k), value: "present",
                reason: "\(component) has no field '\(k)' this library reads")
        }
    }
}

import TributaryCore

/// A query value or a body with placeholders (`{since}`, `{after_id}`, `{offset}`, …) that the
/// poller fills in for each page request, parsed once when the manifest is compiled.
///
/// A placeholder is `{` + lowercase letters and `_` + `}`; anything else (`{"limit":`, `{ }`) is
/// literal text, so a JSON body needs no escaping. A name that is not one of ``names`` is an error
/// at compile time, never a literal left in a request.
public struct ValueTemplate: Sendable, Equatable {
    enum Part: Sendable, Equatable {
        case literal(String)
        case placeholder(String)
    }

    let parts: [Part]

    /// Every placeholder a subscription call can hold.
    public static let subscriptionNames: Set<String> = ["callback_url", "secret", "expires_at", "account", "subscription_id"]

    /// Every placeholder the poller can fill in.
    public static let names: Set<String> = [
        "since", "since_ms", "since_s", "watermark", "after_id", "after", "after_json", "offset", "limit", "sync_token", "event_id", "account",
    ]

    /// Parses `text`.
    /// - Returns: the template, or the first unknown placeholder's name.
    public static func parse(_ text: String, names: Set<String> = Self.names) -> Result<ValueTemplate, UnknownPlaceholder> {
        var parts: [Part] = []
        var literal = ""
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "{") {
            literal += rest[..<open]
            let afterOpen = rest.index(after: open)
            let name = rest[afterOpen...].prefix { ("a"..."z").contains($0) || $0 == "_" }
            let close = name.endIndex
            guard !name.isEmpty, close < rest.endIndex, rest[close] == "}" else {
                literal += "{"
                rest = rest[afterOpen...]
                continue
            }
            guard names.contains(String(name)) else { return .failure(UnknownPlaceholder(name: String(name))) }
            if !literal.isEmpty { parts.append(.literal(literal)) }
            literal = ""
            parts.append(.placeholder(String(name)))
            rest = rest[rest.index(after: close)...]
        }
        literal += rest
        if !literal.isEmpty { parts.append(.literal(literal)) }
        return .success(ValueTemplate(parts: parts))
    }

    public struct UnknownPlaceholder: Error, Sendable, Equatable {
        public var name: String
    }

    /// The placeholders this template uses.
    public var placeholders: Set<String> {
        Set(parts.compactMap { if case .placeholder(let name) = $0 { name } else { nil } })
    }

    /// The text with every placeholder replaced by `values[name]` passed through `escape(name, value)`,
    /// or `nil` when a placeholder has no value (a query entry is then left out of the request).
    public func render(_ values: [String: String], escape: (String, String) -> String = { $1 }) -> String? {
        var out = ""
        for part in parts {
            switch part {
            case .literal(let text): out += text
            case .placeholder(let name):
                guard let value = values[name] else { return nil }
                out += escape(name, value)
            }
        }
        return out
    }

    /// `text` escaped for the inside of a JSON string (quotes, backslashes, control characters): the
    /// log's own JSON writer, without the quotes around.
    public static func jsonEscaped(_ text: String) -> String {
        String(JSONValue.string(text).jsonText.dropFirst().dropLast())
    }
}

import Foundation

/// An RFC 6901 JSON Pointer, parsed once from a manifest and evaluated per request.
///
/// One extension beyond the RFC: a `*` token matches every element of an array
/// (``JSONPointer/all(in:)``), which is how a manifest says "every notification
/// in this batch" (Microsoft Graph's `/value/*/clientState`).
public struct JSONPointer: Sendable, Hashable, CustomStringConvertible {
    public let tokens: [String]
    public let description: String

    /// Parses `text`; `nil` unless it is empty or starts with `/`.
    public init?(_ text: String) {
        guard text.isEmpty || text.hasPrefix("/") else { return nil }
        description = text
        tokens = text.isEmpty ? [] : text.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
            $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
        }
    }

    /// The single value the pointer names, or `nil` when it names nothing (a `*` takes the first element).
    public func resolve(in value: JSONValue) -> JSONValue? {
        all(in: value).first
    }

    /// Every value the pointer names: one for a plain pointer, one per element for each `*`.
    public func all(in value: JSONValue) -> [JSONValue] {
        var current = [value]
        for token in tokens {
            var next: [JSONValue] = []
            for node in current {
                switch node {
                case .object:
                    if let member = node[token] { next.append(member) }
                case .array(let items):
                    if token == "*" {
                        next.append(contentsOf: items)
                    } else if let i = Int(token), String(i) == token, i >= 0, i < items.count {
                        next.append(items[i])
                    }
                default:
                    break
                }
            }
            current = next
        }
        return current
    }

    /// `value` with every place the pointer names set to `replacement` (redaction of secrets before
    /// a body is shown); places that do not exist are left alone.
    public func replacing(in value: JSONValue, with replacement: JSONValue) -> JSONValue {
        Self.replace(value, tokens[...], replacement)
    }

    static func replace(_ node: JSONValue, _ tokens: ArraySlice<String>, _ replacement: JSONValue) -> JSONValue {
        guard let token = tokens.first else { return replacement }
        let rest = tokens.dropFirst()
        switch node {
        case .object(let members):
            return .object(members.map { $0.key == token ? ($0.key, replace($0.value, rest, replacement)) : $0 })
        case .array(let items):
            return .array(items.enumerated().map { i, item in
                token == "*" || String(i) == token ? replace(item, rest, replacement) : item
            })
        default:
            return node
        }
    }
}

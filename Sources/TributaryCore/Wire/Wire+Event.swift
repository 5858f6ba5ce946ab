import Foundation

// The public JSON shapes (DESIGN.md §5, `Schemas/*.schema.json`), one layer that the CLI's `--json`
// output and the `/v1` API both write, so the two can never drift apart.

extension StoredEvent {
    /// The public event shape (DESIGN.md §5, `Schemas/event.schema.json`).
    /// - Parameter detail: also include the kept headers and the raw body (`events show`).
    public func json(detail: Bool = false) -> JSONValue {
        func opt(_ s: String?) -> JSONValue { s.map(JSONValue.string) ?? .null }
        func time(_ t: Int64?) -> JSONValue { t.map { .string(Timestamp.rfc3339(microseconds: $0)) } ?? .null }
        var members: [(key: String, value: JSONValue)] = [
            ("seq", .number(String(seq))),
            ("connection", .string(connection)),
            ("tenant", .string(tenant)),
            ("provider", .string(provider)),
            ("source", .string(source.rawValue)),
            ("event_id", .string(eventId)),
            ("type", opt(type)),
            ("record_type", opt(recordType)),
            ("record_id", opt(recordId)),
            ("version", version.map { .number(String($0)) } ?? .null),
            ("deleted", .bool(deleted)),
            ("full_state", .bool(fullState)),
            ("occurred_at", time(occurredAt)),
            ("received_at", time(receivedAt)),
            ("status", .string(status.rawValue)),
            ("reason", opt(reason)),
        ]
        if detail {
            members.append(("url", opt(url)))
            members.append(("headers", .array(headers.map { .array($0.map(JSONValue.string)) })))
            if let text = String(validating: body, as: UTF8.self) {
                members.append(("body", .string(text)))
            } else {
                members.append(("body_base64", .string(Data(body).base64EncodedString())))
            }
        }
        return .object(members)
    }
}

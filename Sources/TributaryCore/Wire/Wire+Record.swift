extension MirrorRecord {
    /// The public record shape (DESIGN.md §5).
    public var json: JSONValue {
        .object([
            ("connection", .string(connection)), ("tenant", .string(tenant)), ("provider", .string(provider)),
            ("record_type", .string(recordType)), ("record_id", .string(recordId)),
            ("version", version.map { .number(String($0)) } ?? .null), ("deleted", .bool(deleted)),
            ("data", data.flatMap { JSONValue(parsing: $0) } ?? .null),
            ("updated_at", .string(Timestamp.rfc3339(microseconds: updatedAt))), ("source_seq", .number(String(sourceSeq))),
            ("incarnation", incarnation.map { .number(String($0)) } ?? .null),
        ])
    }
}

extension Connection {
    /// The public connection shape: what `connections list/show --json` print (no secret, only fingerprints).
    public var json: JSONValue {
        .object([
            ("id", .string(id)),
            ("provider", .string(provider)),
            ("tenant", .string(tenant)),
            ("account", account.map(JSONValue.string) ?? .null),
            ("app", app.map(JSONValue.string) ?? .null),
            ("webhook_path", .string("/webhooks/\(provider)/\(id)")),
            ("tolerance_seconds", toleranceSeconds.map { .number(String($0)) } ?? .null),
            ("active_secrets", .array(secretFingerprints.map(JSONValue.string))),
            ("retired_secrets", .number(String(retiredSecretCount))),
            ("awaiting_secret", .bool(awaitingSecret)),
            ("created_at", .string(Timestamp.rfc3339(microseconds: createdAt))),
        ])
    }
}

extension OAuthGrant {
    /// A grant as `connections show` and `status` describe it: its state and times, never a token.
    public var json: JSONValue {
        func time(_ t: Int64?) -> JSONValue { t.map { .string(Timestamp.rfc3339(microseconds: $0)) } ?? .null }
        return .object([
            ("state", .string(state.rawValue)),
            ("expires_at", time(expiresAt)),
            ("refresh_token", .bool(refreshToken != nil)),
            ("generation", .number(String(generation))),
            ("refreshed_at", time(refreshedAt)),
            ("failures", .number(String(failures))),
            ("reason", reason.map(JSONValue.string) ?? .null),
            ("retry_at", time(retryAt)),
        ])
    }
}

extension ConnectionStatus {
    /// The public status shape: one item of `status --json` and of `GET /v1/status`.
    public var json: JSONValue {
        func time(_ t: Int64?) -> JSONValue { t.map { .string(Timestamp.rfc3339(microseconds: $0)) } ?? .null }
        return .object([
            ("connection", .string(connection.id)), ("provider", .string(connection.provider)), ("tenant", .string(connection.tenant)),
            ("events", .object(EventStatus.allCases.map { ($0.rawValue, JSONValue.number(String(events[$0] ?? 0))) })),
            ("rate_limit", rateLimit ?? .null),
            ("resources", .array(resources.map { p in
                .object([
                    ("resource", .string(p.resource)),
                    ("cursor", .object([
                        ("watermark", time(p.cursor.watermark)), ("after_id", p.cursor.afterId.map(JSONValue.string) ?? .null),
                        ("sync_token", .bool(p.cursor.syncToken != nil)), ("last_event_id", p.cursor.lastEventId.map(JSONValue.string) ?? .null),
                        ("run_in_progress", .bool(p.cursor.run != nil)),
                    ])),
                    ("last_run_started_at", time(p.lastRunStartedAt)), ("last_run_finished_at", time(p.lastRunFinishedAt)),
                    ("next_run_at", time(p.nextRunAt)), ("last_error", p.lastError.map(JSONValue.string) ?? .null),
                    ("last_anomaly", p.lastAnomaly.map(JSONValue.string) ?? .null),
                    ("pages", .number(String(p.pages))), ("observations", .number(String(p.observations))),
                ])
            })),
            ("sweeps", .array(sweeps.map(\.json))),
        ])
    }
}

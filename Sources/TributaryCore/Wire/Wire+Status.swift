extension ConnectionStatus {
    /// The public status shape: one item of `status --json` and of `GET /v1/status`.
    public var json: JSONValue {
        .object([
            ("connection", .string(connection.id)), ("provider", .string(connection.provider)), ("tenant", .string(connection.tenant)),
            ("events", .object(EventStatus.allCases.map { ($0.rawValue, JSONValue.number(String(events[$0] ?? 0))) })),
            ("rate_limit", rateLimit ?? .null),
            ("resources", .array(resources.map(\.json))),
            ("sweeps", .array(sweeps.map(\.json))),
            ("oauth", oauth?.json ?? .null),
            ("subscription", subscription?.json ?? .null),
            ("webhooks", webhooks?.json ?? .null),
        ])
    }
}

extension PollState {
    /// One resource of a connection's status.
    public var json: JSONValue {
        func time(_ t: Int64?) -> JSONValue { t.map { .string(Timestamp.rfc3339(microseconds: $0)) } ?? .null }
        let cursorJSON: JSONValue = .object([
            ("watermark", time(cursor.watermark)), ("after_id", cursor.afterId.map(JSONValue.string) ?? .null),
            ("sync_token", .bool(cursor.syncToken != nil)), ("last_event_id", cursor.lastEventId.map(JSONValue.string) ?? .null),
            ("run_in_progress", .bool(cursor.run != nil)),
        ])
        return .object([
            ("resource", .string(resource)),
            ("cursor", cursorJSON),
            ("last_run_started_at", time(lastRunStartedAt)), ("last_run_finished_at", time(lastRunFinishedAt)),
            ("next_run_at", time(nextRunAt)), ("last_error", lastError.map(JSONValue.string) ?? .null),
            ("last_anomaly", lastAnomaly.map(JSONValue.string) ?? .null),
            ("pages", .number(String(pages))), ("observations", .number(String(observations))),
            // Freshness: the newest change seen (provider time for a timestamp cursor), when a run last
            // logged something new, and how many runs in a row stalled.
            ("newest_change_at", time(newestChangeAt)), ("last_change_at", time(lastChangeAt)),
            ("stalled_runs", .number(String(stalledRuns))),
        ])
    }
}

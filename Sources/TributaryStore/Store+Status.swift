public import TributaryCore

extension Store {
    /// Where each connection stands: events by status, rate-limit state, and every poll resource's
    /// cursor, runs and errors — the one report `tributary status --json` and `GET /v1/status` both show.
    /// - Parameter connection: only this connection; `nil` for all of them, in id order.
    /// - Throws: `.notFound` when `connection` names no connection.
    public func statusReport(connection: String? = nil) async throws(StoreError) -> [JSONValue] {
        var items: [JSONValue] = []
        for c in try await connections() where connection == nil || c.id == connection {
            let counts = try await eventCounts(connection: c.id)
            let polls = try await pollStates(connection: c.id)
            let rate = try await rateLimitState(connection: c.id).flatMap { JSONValue(parsing: Array($0.utf8)) }
            let latest = try await latestSweeps(connection: c.id)
            func time(_ t: Int64?) -> JSONValue { t.map { .string(Timestamp.rfc3339(microseconds: $0)) } ?? .null }
            items.append(.object([
                ("connection", .string(c.id)), ("provider", .string(c.provider)), ("tenant", .string(c.tenant)),
                ("events", .object(EventStatus.allCases.map { ($0.rawValue, JSONValue.number(String(counts[$0] ?? 0))) })),
                ("rate_limit", rate ?? .null),
                ("resources", .array(polls.map { p in
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
                ("sweeps", .array(latest.map(\.json))),
            ]))
        }
        if let connection, items.isEmpty { throw StoreError(.notFound, "no connection \(connection)") }
        return items
    }
}

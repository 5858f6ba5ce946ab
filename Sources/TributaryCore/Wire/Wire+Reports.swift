extension Sweep {
    /// The public sweep shape: `reconcile --full --json`, `status`.
    public var json: JSONValue {
        func n(_ v: Int) -> JSONValue { .number(String(v)) }
        return .object([
            ("generation", .number(String(generation))), ("connection", .string(connection)), ("resource", .string(resource)),
            ("record_type", .string(recordType)), ("status", .string(status.rawValue)),
            ("started_at", .string(Timestamp.rfc3339(microseconds: startedAt))),
            ("finished_at", finishedAt.map { .string(Timestamp.rfc3339(microseconds: $0)) } ?? .null),
            ("error", error.map(JSONValue.string) ?? .null), ("pages", n(pages)), ("seen", n(seen)),
            ("drift", .object([("missing", n(missing)), ("stale", n(stale)), ("extra", n(extra))])),
            ("confirmed_deleted", n(confirmedDeleted)),
        ])
    }
}

extension SweepRun {
    /// A sweep as it ended, or why there is none: `reconcile --full --json`.
    public var json: JSONValue {
        switch outcome {
        case .ended(let sweep): sweep.json
        case .skipped: .object([("connection", .string(connection)), ("resource", .string(resource)), ("skipped", .string("another process holds its lease"))])
        case .storeFailed(let why): .object([("connection", .string(connection)), ("resource", .string(resource)), ("error", .string(why))])
        }
    }
}

extension PollReport {
    /// One poll run: `poll --json`.
    public var json: JSONValue {
        .object([
            ("connection", .string(connection)), ("resource", .string(resource)),
            ("pages", .number(String(pages))), ("observations", .number(String(observations))),
            ("new_events", .number(String(newEvents))), ("skipped", .bool(skipped)), ("not_modified", .bool(notModified)),
            ("anomalies", .array(anomalies.map { .string("\($0)") })), ("error", error.map(JSONValue.string) ?? .null),
        ])
    }
}

extension ReconcileReport {
    /// One reconcile run's totals: `reconcile --json`, with the `sweeps` that `--full` ran.
    public func json(sweeps: [SweepRun]? = nil) -> JSONValue {
        var members: [(key: String, value: JSONValue)] = [
            ("applied", .number(String(applied))), ("superseded", .number(String(superseded))),
            ("unchanged", .number(String(unchanged))), ("needs_fetch", .number(String(needFetch))),
            ("fetches", .number(String(fetches))), ("fetch_failures", .number(String(fetchFailures))),
        ]
        if let sweeps { members.append(("sweeps", .array(sweeps.map(\.json)))) }
        return .object(members)
    }
}

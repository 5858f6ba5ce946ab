import Foundation
import Hummingbird
import TributaryCore
import TributaryStore

/// The pages: each returns its title and its markup (every outside value escaped).
extension Dashboard {
    typealias Page = (title: String, body: String)
    static let e = HTML.escape

    func overview() async throws -> Page {
        let statuses = try await admin.status(connection: nil)
        var body = ""
        // By provider and tenant: events by status and what is wrong.
        var groups: [String: (events: [EventStatus: Int], connections: Int, anomalies: Int)] = [:]
        for status in statuses {
            let key = "\(status.connection.provider)\u{0}\(status.connection.tenant)"
            var group = groups[key] ?? ([:], 0, 0)
            for (s, n) in status.events { group.events[s, default: 0] += n }
            group.connections += 1
            group.anomalies += Self.anomalies(status).count
            groups[key] = group
        }
        body += "<h2>By provider and tenant</h2>"
        body += HTML.table(["provider", "tenant", "connections", "pending", "applied", "failed", "dead", "quarantined", "anomalies"], groups.sorted { $0.key < $1.key }.map { key, group in
            let parts = key.split(separator: "\u{0}", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            return [Self.e(parts[0]), Self.e(parts.count > 1 ? parts[1] : ""), String(group.connections)]
                + [EventStatus.pending, .applied, .failed, .dead, .quarantined].map { String(group.events[$0] ?? 0) }
                + [group.anomalies > 0 ? "<span class=\"bad\">\(group.anomalies)</span>" : "0"]
        }, empty: "no connections yet (tributary connections add)")

        body += "<h2>Connections</h2>"
        body += HTML.table(["connection", "provider", "tenant", "events", "webhooks", "grant", "subscription", "anomalies"], statuses.map { status in
            let c = status.connection
            let counts = EventStatus.allCases.compactMap { s in status.events[s].map { "\(s.rawValue) \($0)" } }.joined(separator: ", ")
            let webhooks: String = status.webhooks.map { w in
                w.silence != nil ? "<span class=\"bad\">SILENT since \(HTML.time(w.lastReceivedAt))</span>" : "last \(HTML.time(w.lastReceivedAt))"
            } ?? "<span class=\"muted\">none yet</span>"
            let grant = status.oauth.map { Self.e($0.state.rawValue) } ?? "-"
            let subscription = status.subscription.map { Self.e($0.state.rawValue) + ($0.expiresAt.map { ", expires " + HTML.time($0) } ?? "") } ?? "-"
            let anomalies = Self.anomalies(status)
            return [HTML.link("/ui/events?connection=" + HTML.component(c.id), c.id), Self.e(c.provider), Self.e(c.tenant), Self.e(counts.isEmpty ? "none" : counts),
                    webhooks, grant, subscription,
                    anomalies.isEmpty ? "-" : "<span class=\"bad\">" + anomalies.map(Self.e).joined(separator: "<br>") + "</span>"]
        }, empty: "no connections")

        body += "<h2>Polled resources</h2>"
        body += HTML.table(["connection", "resource", "newest change", "last run", "next run", "pages", "read", "rate limit", "last error or anomaly"], statuses.flatMap { status in
            status.resources.map { r in
                let budget = status.rateLimit.map { json -> String in
                    let tokens = json["tokens"]?.stringValue ?? "?"
                    let capacity = json["capacity"]?.stringValue ?? "?"
                    return "\(tokens)/\(capacity)"
                } ?? "-"
                let problem = r.lastError ?? r.lastAnomaly
                return [Self.e(status.connection.id), Self.e(r.resource), HTML.time(r.newestChangeAt), HTML.time(r.lastRunFinishedAt), HTML.time(r.nextRunAt),
                        String(r.pages), String(r.observations), Self.e(budget), problem.map { "<span class=\"bad\">\(Self.e($0))</span>" } ?? "-"]
            }
        }, empty: "no polled resources")

        body += "<h2>Sweeps and drift</h2>"
        body += HTML.table(["connection", "resource", "sweep", "status", "finished", "seen", "missing", "stale", "extra", "confirmed deleted"], statuses.flatMap { status in
            status.sweeps.map { s in
                [Self.e(s.connection), Self.e(s.resource), "#\(s.generation)", s.status == .complete ? Self.e(s.status.rawValue) : "<span class=\"bad\">\(Self.e(s.status.rawValue))</span>",
                 HTML.time(s.finishedAt), String(s.seen), String(s.missing), String(s.stale), String(s.extra), String(s.confirmedDeleted)]
            }
        }, empty: "no sweeps yet")

        body += "<h2>Destinations</h2>"
        var rows: [[String]] = []
        for (destination, pending, dead) in try await admin.destinations() {
            let lag = try await admin.deliveryLag(destination: destination.id)
            func ms(_ micros: Int64?) -> String { micros.map { "\($0 / 1000) ms" } ?? "-" }
            rows.append([Self.e(destination.id), Self.e(destination.url), destination.state == .active ? "active" : "<span class=\"bad\">\(Self.e(destination.state.rawValue))</span>",
                         String(pending), dead > 0 ? HTML.link("/ui/deliveries?status=dead&destination=" + HTML.component(destination.id), String(dead)) : "0",
                         ms(lag.p50), ms(lag.p99), lag.oldestPending.map { "\($0 / 1_000_000) s" } ?? "-"])
        }
        body += HTML.table(["destination", "url", "state", "pending", "dead", "lag p50", "lag p99", "oldest pending"], rows, empty: "no destinations (tributary destinations add)")
        return ("Overview", body)
    }

    /// What is wrong with a connection, one sentence each.
    static func anomalies(_ status: ConnectionStatus) -> [String] {
        var found: [String] = []
        if let silence = status.webhooks?.silence { found.append("webhooks silent; a poll found a change at \(HTML.time(silence.changeAt)) no webhook brought") }
        for r in status.resources {
            if let error = r.lastError { found.append("\(r.resource): \(error)") } else if let anomaly = r.lastAnomaly { found.append("\(r.resource): \(anomaly)") }
        }
        for s in status.sweeps where s.status == .incomplete || s.status == .failed { found.append("sweep \(s.resource) \(s.status.rawValue)") }
        if status.oauth?.state == .reauthRequired { found.append("OAuth grant needs authorizing again") }
        if status.subscription?.state == .failing { found.append("subscription failing") }
        return found
    }

    func eventLog(_ request: Request) async throws -> Page {
        let q = request.uri.queryParameters
        func value(_ name: String) -> String? { q.get(name).flatMap { $0.isEmpty ? nil : $0 } }
        let status = value("status").flatMap(EventStatus.init(rawValue:))
        let after = value("after").flatMap(Int64.init)
        let connections = try await admin.connections()
        let connection = value("connection").flatMap { id in connections.contains { $0.id == id } ? id : nil }
        let events = try await admin.events(EventFilter(connection: connection, status: status, type: value("type"), limit: 101, afterSeq: after))
        var body = """
            <form class="filters" method="get" action="/ui/events">
            <select name="connection"><option value="">every connection</option>\(connections.map { "<option\($0.id == connection ? " selected" : "")>\(Self.e($0.id))</option>" }.joined())</select>
            <select name="status"><option value="">every status</option>\(EventStatus.allCases.map { "<option\($0 == status ? " selected" : "")>\($0.rawValue)</option>" }.joined())</select>
            <input name="type" placeholder="type, e.g. issues.opened" value="\(Self.e(value("type") ?? ""))">
            <button>Filter</button></form>
            """
        body += Self.eventTable(Array(events.prefix(100)))
        if events.count > 100, let last = events.prefix(100).last {
            var next = "/ui/events?after=\(last.seq)"
            if let connection { next += "&connection=" + HTML.component(connection) }
            if let status { next += "&status=" + status.rawValue }
            if let type = value("type") { next += "&type=" + HTML.component(type) }
            body += "<p>" + HTML.link(next, "Next page →") + "</p>"
        }
        return ("Events", body)
    }

    static func eventTable(_ events: [StoredEvent]) -> String {
        HTML.table(["seq", "received", "connection", "source", "type", "record", "status", "reason"], events.map { event in
            let record = event.recordType.map { type in
                HTML.link("/ui/records/\(HTML.component(event.connection))/\(HTML.component(type))/\(HTML.component(event.recordId ?? ""))",
                          "\(type) \(event.recordId ?? "")" + (event.version.map { " v\($0)" } ?? ""))
            } ?? "-"
            let status = [.applied, .superseded].contains(event.status) ? event.status.rawValue : "<span class=\"bad\">\(event.status.rawValue)</span>"
            return [HTML.link("/ui/events/\(event.seq)", String(event.seq)), HTML.time(event.receivedAt), e(event.connection), e(event.source.rawValue),
                    e(event.type ?? "-"), record, status, "<span class=\"wrap\">\(e(String((event.reason ?? "-").prefix(200))))</span>"]
        }, empty: "no events")
    }

    func event(_ text: String) async throws -> Page {
        guard let seq = Int64(text), let event = try await admin.event(seq: seq) else { throw OperationError.failure("no event with seq \(text.prefix(40))") }
        let body = String(decoding: event.body, as: UTF8.self)
        var pretty = body
        if let json = JSONValue(parsing: event.body), let data = try? JSONSerialization.data(withJSONObject: JSONSerialization.jsonObject(with: Data(json.jsonText.utf8), options: [.fragmentsAllowed]), options: [.prettyPrinted, .sortedKeys, .fragmentsAllowed]) {
            pretty = String(decoding: data, as: UTF8.self)
        }
        var page = HTML.table(["field", "value"], [
            ["seq", String(event.seq)], ["connection", Self.e(event.connection)], ["tenant", Self.e(event.tenant)], ["provider", Self.e(event.provider)],
            ["source", Self.e(event.source.rawValue)], ["event id", Self.e(event.eventId)], ["type", Self.e(event.type ?? "-")],
            ["record", Self.e(event.recordType.map { "\($0) \(event.recordId ?? "")" } ?? "-")], ["version", event.version.map(String.init) ?? "-"],
            ["occurred", HTML.time(event.occurredAt)], ["received", HTML.time(event.receivedAt)],
            ["status", Self.e(event.status.rawValue)], ["reason", "<span class=\"wrap\">\(Self.e(event.reason ?? "-"))</span>"],
            ["url", Self.e(event.url ?? "-")],
        ])
        page += """
            <form method="post" action="/ui/events/\(event.seq)/replay">{{csrf}}<button>Replay</button>
            <span class="muted">puts the event back to pending for the reconciler (a quarantined delivery is read again with today's manifests)</span></form>
            """
        page += "<h2>Headers</h2>" + HTML.table(["name", "value"], event.headers.map { pair in pair.map { "<span class=\"wrap\">\(Self.e($0))</span>" } }, empty: "none kept")
        page += "<h2>Body</h2><pre>\(Self.e(pretty))</pre><p class=\"muted\">Fields the provider's manifest marks as secret are redacted; credentials headers are never kept.</p>"
        return ("Event \(event.seq)", page)
    }

    func problems() async throws -> Page {
        var body = "<p class=\"muted\">Each can be replayed from its page once its cause is fixed (a manifest, a connection, a secret).</p>"
        for status in [EventStatus.dead, .failed, .quarantined] {
            let events = try await admin.events(EventFilter(status: status, limit: 100))
            body += "<h2>\(status.rawValue.capitalized)</h2>" + Self.eventTable(events)
        }
        return ("Dead & quarantined", body)
    }

    func records(_ request: Request) async throws -> Page {
        let q = request.uri.queryParameters
        let connections = try await admin.connections()
        let chosen = q.get("connection").flatMap { id in connections.contains { $0.id == id } ? id : nil } ?? connections.first?.id
        let type = q.get("type").flatMap { $0.isEmpty ? nil : $0 }
        var body = """
            <form class="filters" method="get" action="/ui/records">
            <select name="connection">\(connections.map { "<option\($0.id == chosen ? " selected" : "")>\(Self.e($0.id))</option>" }.joined())</select>
            <input name="type" placeholder="record type" value="\(Self.e(type ?? ""))"><button>Show</button></form>
            """
        guard let chosen else { return ("Mirror", body + "<p class=\"muted\">no connections yet</p>") }
        let records = try await admin.records(connection: chosen, type: type, updatedAfter: nil, limit: 200)
        body += HTML.table(["type", "id", "version", "deleted", "updated", "from event"], records.map { r in
            [Self.e(r.recordType), HTML.link("/ui/records/\(HTML.component(r.connection))/\(HTML.component(r.recordType))/\(HTML.component(r.recordId))", r.recordId),
             r.version.map(String.init) ?? "-", r.deleted ? "<span class=\"bad\">deleted</span>" : "no", HTML.time(r.updatedAt), HTML.link("/ui/events/\(r.sourceSeq)", String(r.sourceSeq))]
        }, empty: "no records")
        return ("Mirror of \(chosen)", body)
    }

    func record(connection: String, type: String, id: String) async throws -> Page {
        guard let record = try await admin.record(connection: connection, type: type, id: id) else {
            throw OperationError.failure("no \(type) \(id) in the mirror of connection \(connection)")
        }
        var body = HTML.table(["field", "value"], [
            ["connection", Self.e(record.connection)], ["tenant", Self.e(record.tenant)], ["type", Self.e(record.recordType)], ["id", Self.e(record.recordId)],
            ["version", record.version.map(String.init) ?? "-"], ["deleted", record.deleted ? "yes" : "no"], ["updated", HTML.time(record.updatedAt)],
        ])
        body += "<h2>Data</h2><pre>\(Self.e(record.data.map { String(decoding: $0, as: UTF8.self) } ?? "(none: a tombstone)"))</pre>"
        let history = try await admin.recordHistory(connection: connection, type: type, id: id)
        body += "<h2>History</h2><p class=\"muted\">Its events among the connection's latest 50,000, newest first.</p>" + Self.eventTable(history)
        return ("\(type) \(id)", body)
    }

    func deliveries(_ request: Request) async throws -> Page {
        let q = request.uri.queryParameters
        let status = q.get("status").flatMap(Delivery.Status.init(rawValue:))
        let destination = q.get("destination").flatMap { $0.isEmpty ? nil : $0 }
        let rows = try await admin.deliveries(destination: destination, status: status, limit: 200)
        var body = "<p>" + [("all", "/ui/deliveries"), ("pending", "/ui/deliveries?status=pending"), ("dead", "/ui/deliveries?status=dead")].map { HTML.link($0.1, $0.0) }.joined(separator: " · ") + "</p>"
        body += HTML.table(["id", "destination", "status", "attempts", "record", "last answer", "created", ""], rows.map { d in
            let last = d.lastStatus.map { "HTTP \($0)" } ?? d.lastError ?? "-"
            let retry = d.status == .dead ? "<form method=\"post\" action=\"/ui/deliveries/\(d.id)/retry\" class=\"inline\">{{csrf}}<button>Retry</button></form>" : ""
            return [String(d.id), Self.e(d.destination), d.status == .dead ? "<span class=\"bad\">dead</span>" : Self.e(d.status.rawValue), String(d.attempts),
                    Self.e("\(d.recordType ?? "-") \(d.recordId ?? "")" + (d.version.map { " v\($0)" } ?? "")), "<span class=\"wrap\">\(Self.e(String(last.prefix(200))))</span>",
                    HTML.time(d.createdAt), retry]
        }, empty: "no deliveries")
        return (status.map { "Deliveries: \($0.rawValue)" } ?? "Deliveries", body)
    }
}

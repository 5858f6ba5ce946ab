import ArgumentParser
import Foundation
import TributaryCore
import TributaryRuntime

/// `tributary status`: per connection and resource, where things stand.
struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show events by status, each polled resource's progress (a backfill's pages and watermark so far), errors and sweeps; --json for machines."
    )

    @OptionGroup var global: GlobalOptions
    @Option(help: "Only this connection.") var connection: String?

    func run() async throws {
        let admin = try global.openAdmin(readOnly: true)
        let statuses = try await admin.status(connection: connection)
        if global.json {
            Output.json(.array(statuses.map(\.json)))
            return
        }
        if statuses.isEmpty { Output.line("no connections (add one with `tributary connections add`)") }
        for (index, status) in statuses.enumerated() {
            if index > 0 { Output.line("") }
            for line in Self.describe(status) { Output.line(line) }
        }
        guard connection == nil else { return }
        let destinations = try await admin.destinations()
        if !destinations.isEmpty { Output.line("") }
        for (destination, pending, dead) in destinations {
            let lag = try await admin.deliveryLag(destination: destination.id)
            for line in Self.describe(destination, pending: pending, dead: dead, lag: lag) { Output.line(line) }
        }
    }

    /// A destination for a person: where, its state, what waits (and since when), what died, how late.
    static func describe(
        _ d: Destination, pending: Int, dead: Int, lag: (p50: Int64?, p99: Int64?, delivered: Int, oldestPending: Int64?)
    ) -> [String] {
        var state = d.state.rawValue
        if d.state != .active { state = d.state.rawValue.uppercased() + (d.reason.map { " (\($0))" } ?? "") }
        var lines = ["destination \(d.id)  \(d.url)  \(state)"]
        func span(_ micros: Int64) -> String {
            micros < 1_000_000 ? "\(micros / 1000) ms" : micros < 120_000_000 ? "\(micros / 1_000_000) s" : "\(micros / 60_000_000) min"
        }
        var waiting = "  deliveries: pending \(pending)\(lag.oldestPending.map { " (oldest \(span($0)))" } ?? ""), dead \(dead)"
        if let p50 = lag.p50, let p99 = lag.p99 { waiting += "; lag p50 \(span(p50)), p99 \(span(p99)) over \(lag.delivered) in the last hour" }
        if dead > 0 { waiting += " (tributary deliveries list --destination \(d.id) --status dead; deliveries retry --destination \(d.id))" }
        lines.append(waiting)
        if let since = d.failingSince { lines.append("  failing since \(time(since)); disabled after 5 days of failures") }
        return lines
    }

    /// One connection as aligned lines for a person: who, events by status, then a table of its
    /// polled resources and one line per latest sweep.
    static func describe(_ status: ConnectionStatus) -> [String] {
        let c = status.connection
        var lines = ["\(c.id)  \(c.provider)  tenant \(c.tenant)\(c.account.map { "  account \($0)" } ?? "")"]
        let counts = EventStatus.allCases.compactMap { s in status.events[s].map { "\(s.rawValue) \($0)" } }
        lines.append("  events: " + (counts.isEmpty ? "none yet" : counts.joined(separator: ", ")))
        if let webhooks = status.webhooks {
            if let silence = webhooks.silence {
                lines.append("  webhooks: SILENT since \(time(webhooks.lastReceivedAt)): a poll found a change at \(time(silence.changeAt)) no webhook brought (anomaly raised \(time(silence.detectedAt)); polls carry the connection until webhooks come again)")
            } else {
                lines.append("  webhooks: last received \(time(webhooks.lastReceivedAt)) (\(webhooks.received) seen)")
            }
        }
        if let subscription = status.subscription {
            switch subscription.state {
            case .active:
                lines.append("  subscription: \(subscription.subscriptionId ?? "?")\(subscription.expiresAt.map { ", expires \(time($0))" } ?? ""), renewed \(subscription.renewedAt.map(time) ?? "never")\(subscription.action.map { "; pending: \($0.rawValue)" } ?? "")")
            case .failing:
                lines.append("  subscription: FAILING \(subscription.failures) time(s): \(subscription.reason ?? "unknown")\(subscription.retryAt.map { "; next try \(time($0))" } ?? "") (deliveries may stop; polling covers the gap)")
            case .removed:
                lines.append("  subscription: removed (connections subscribe makes a new one)")
            }
        }
        if let grant = status.oauth {
            switch grant.state {
            case .reauthRequired:
                lines.append("  oauth: REAUTH REQUIRED (\(grant.reason ?? "the provider refused the grant")): polls and fetches wait; run tributary connections authorize \(c.id)")
            case .active where grant.failures > 0:
                lines.append("  oauth: renewal failing \(grant.failures) time(s): \(grant.reason ?? "unknown")\(grant.retryAt.map { "; next try \(time($0))" } ?? "")")
            case .active:
                lines.append("  oauth: authorized\(grant.expiresAt.map { ", token expires \(time($0))" } ?? ""), renewed \(grant.generation - 1) time(s)")
            }
        }
        if !status.resources.isEmpty {
            var rows = [["RESOURCE", "STATE", "PAGES", "READ", "WATERMARK", "NEWEST CHANGE", "LAST RUN", "NEXT RUN", "ERROR"]]
            for r in status.resources {
                let state: String
                let watermark: String
                if let run = r.cursor.run {
                    state = r.cursor.watermark == nil && r.cursor.syncToken == nil && r.cursor.lastEventId == nil ? "backfilling" : "catching up"
                    watermark = run.maxSeen.map { time($0) + " so far" } ?? r.cursor.watermark.map(time) ?? "-"
                } else {
                    // A finished run with nothing to read (an empty listing) is up to date, not "not started".
                    state = r.lastError != nil ? "failing" : r.cursor.isEmpty && r.lastRunFinishedAt == nil ? "not started"
                        : r.stalledRuns >= 3 ? "stalled" : "up to date"
                    watermark = r.cursor.watermark.map(time) ?? (r.cursor.syncToken != nil ? "sync token" : r.cursor.lastEventId ?? "-")
                }
                rows.append([
                    r.resource, state, String(r.cursor.run?.pages ?? r.pages), String(r.observations), watermark,
                    r.newestChangeAt.map(time) ?? "-", r.lastRunFinishedAt.map(time) ?? "-", r.nextRunAt.map(time) ?? "-", r.lastError ?? r.lastAnomaly ?? "-",
                ])
            }
            lines += aligned(rows).map { "  " + $0 }
        }
        for s in status.sweeps {
            lines.append("  sweep \(s.resource) #\(s.generation): \(s.status.rawValue), seen \(s.seen); drift: missing \(s.missing), stale \(s.stale), extra \(s.extra)\(s.error.map { " (\($0))" } ?? "")")
        }
        return lines
    }

    /// To the second, in UTC: what a person reads at a glance.
    static func time(_ microseconds: Int64) -> String {
        let full = Timestamp.rfc3339(microseconds: microseconds - microseconds % 1_000_000)
        return full.replacingOccurrences(of: "T", with: " ")
    }

    /// Columns padded to their widest cell, two spaces apart (the last one is not padded).
    static func aligned(_ rows: [[String]]) -> [String] {
        guard let columns = rows.map(\.count).max() else { return [] }
        let widths = (0..<columns).map { column in rows.map { column < $0.count ? $0[column].count : 0 }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
    }
}

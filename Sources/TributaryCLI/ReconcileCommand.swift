import ArgumentParser
import Foundation
import Logging
import TributaryCore
import TributaryPolling
import TributaryReconcile
import TributaryRuntime
import TributaryStore

/// `tributary reconcile [--full]`: apply pending events to the mirror (after a full sweep) and exit — for cron.
struct Reconcile: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply pending events to the mirror and exit; with --full, sweep every polled resource against the provider first."
    )

    @OptionGroup var global: GlobalOptions
    @Option(help: "Only this connection.") var connection: String?
    @Flag(help: "Enumerate every record of every sweepable resource, report drift (missing, stale, extra) and confirm suspected deletions by fetch.")
    var full = false

    func run() async throws {
        let engine = try global.openEngine()
        if let connection, try await engine.store.connection(id: connection) == nil {
            throw CLIError.failure("no connection \"\(connection)\"")
        }
        let logger = Logger(label: "tributary")
        let report: ReconcileReport
        let sweeps: [(connection: String, resource: String, outcome: SweepOutcome)]
        do {
            (report, sweeps) = try await engine.reconcile(full: full, connection: connection, logger: logger)
        } catch {
            throw CLIError.failure("cannot reconcile: \((error as? StoreError)?.message ?? "\(error)")")
        }
        if global.json {
            var fields: [(String, JSONValue)] = [
                ("applied", .number(String(report.applied))), ("superseded", .number(String(report.superseded))),
                ("unchanged", .number(String(report.unchanged))), ("needs_fetch", .number(String(report.needFetch))),
                ("fetches", .number(String(report.fetches))), ("fetch_failures", .number(String(report.fetchFailures))),
            ]
            if full {
                fields.append(("sweeps", .array(sweeps.map { connection, resource, outcome in
                    switch outcome {
                    case .ended(let sweep): sweep.json
                    case .skipped: .object([("connection", .string(connection)), ("resource", .string(resource)), ("skipped", .string("another process holds its lease"))])
                    case .storeFailed(let why): .object([("connection", .string(connection)), ("resource", .string(resource)), ("error", .string(why))])
                    }
                })))
            }
            Output.json(.object(fields))
        } else {
            for (connection, resource, outcome) in sweeps {
                switch outcome {
                case .ended(let s):
                    Output.line("sweep \(s.generation) \(connection)/\(resource): \(s.status.rawValue), seen \(s.seen), drift: missing \(s.missing), stale \(s.stale), extra \(s.extra); confirmed deleted \(s.confirmedDeleted)\(s.error.map { " (\($0))" } ?? "")")
                case .skipped:
                    Output.line("sweep \(connection)/\(resource): skipped, another process holds its lease (it is being swept there)")
                case .storeFailed(let why):
                    Output.line("sweep \(connection)/\(resource): failed in the store: \(why)")
                }
            }
            Output.line("applied \(report.applied), superseded \(report.superseded), unchanged \(report.unchanged), fetches \(report.fetches) (\(report.fetchFailures) failed), still needing a fetch \(report.needFetch)")
        }
        if let failed = sweeps.first(where: { if case .storeFailed = $0.outcome { true } else { false } }) {
            throw CLIError.failure("the sweep of \(failed.connection)/\(failed.resource) failed in the store")
        }
    }
}

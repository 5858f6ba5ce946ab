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
        var swept: [(connection: String, resource: String, outcome: SweepOutcome)] = []
        let report: ReconcileReport
        do {
            if full { swept = try await engine.pollRunner.runDueSweeps(force: true, connection: connection, logger: logger) }
            report = try await engine.reconciler.runOnce(connection: connection, untilSettled: true, logger: logger)
        } catch {
            throw CLIError.failure("cannot reconcile: \((error as? StoreError)?.message ?? "\(error)")")
        }
        // Read again: the sweeps' confirmed deletions are known once the pass above fetched the suspects.
        var sweeps: [(connection: String, resource: String, outcome: SweepOutcome)] = []
        for (connection, resource, outcome) in swept {
            if let generation = outcome.sweep?.generation, let now = try await engine.store.sweep(generation: generation) {
                sweeps.append((connection, resource, .ended(now)))
            } else {
                sweeps.append((connection, resource, outcome))
            }
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

/// `tributary records list|get`: read the mirror.
struct Records: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "records",
        abstract: "Read the mirror of third-party records.",
        subcommands: [List.self, Get.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a connection's records in a stable order.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Connection id.") var connection: String
        @Option(help: "Only this record type.") var type: String?
        @Option(name: .customLong("updated-after"), help: "Only records the mirror changed after this RFC 3339 time.") var updatedAfter: String?
        @Option(help: "At most this many records.") var limit = 1000

        func validate() throws {
            if let updatedAfter, Timestamp.microseconds(rfc3339: updatedAfter) == nil {
                throw ValidationError("--updated-after must be an RFC 3339 time such as 2026-11-20T10:00:00Z, not \"\(updatedAfter)\"")
            }
            guard limit > 0 else { throw ValidationError("--limit must be positive") }
        }

        func run() async throws {
            let store = try global.openStore()
            let records: [MirrorRecord]
            do {
                records = try await store.records(connection: connection, type: type, updatedAfter: updatedAfter.flatMap(Timestamp.microseconds(rfc3339:)), limit: limit)
            } catch {
                throw CLIError.failure(error.message)
            }
            if global.json {
                Output.json(.array(records.map(\.json)))
            } else {
                for r in records {
                    Output.line("\(r.recordType)\t\(r.recordId)\tversion=\(r.version.map(String.init) ?? "-")\t\(r.deleted ? "deleted" : "live")")
                }
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one record.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Connection id.") var connection: String
        @Argument(help: "Record type.") var type: String
        @Argument(help: "Record id.") var id: String

        func run() async throws {
            let store = try global.openStore()
            guard let record = try await store.record(connection: connection, type: type, id: id) else {
                throw CLIError.failure("no \(type) \(id) in the mirror of \(connection)")
            }
            Output.json(record.json)
        }
    }
}

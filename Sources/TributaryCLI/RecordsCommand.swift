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
        var sweeps: [Sweep] = []
        let report: ReconcileReport
        do {
            if full { sweeps = try await engine.pollRunner.runDueSweeps(force: true, connection: connection, logger: logger) }
            report = try await engine.reconciler.runOnce(connection: connection, logger: logger)
        } catch {
            throw CLIError.failure("cannot reconcile: \((error as? StoreError)?.message ?? "\(error)")")
        }
        // The sweeps' confirmed deletions are known once the pass above fetched the suspects.
        let ended = try await engine.store.sweeps(connection: connection).filter { sweep in sweeps.contains { $0.generation == sweep.generation } }
        if global.json {
            var fields: [(String, JSONValue)] = [
                ("applied", .number(String(report.applied))), ("superseded", .number(String(report.superseded))),
                ("unchanged", .number(String(report.unchanged))), ("needs_fetch", .number(String(report.needFetch))),
                ("fetches", .number(String(report.fetches))), ("fetch_failures", .number(String(report.fetchFailures))),
            ]
            if full { fields.append(("sweeps", .array(ended.map(\.json)))) }
            Output.json(.object(fields))
        } else {
            for s in ended {
                Output.line("sweep \(s.generation) \(s.connection)/\(s.resource): \(s.status.rawValue), seen \(s.seen), drift: missing \(s.missing), stale \(s.stale), extra \(s.extra); confirmed deleted \(s.confirmedDeleted)\(s.error.map { " (\($0))" } ?? "")")
            }
            Output.line("applied \(report.applied), superseded \(report.superseded), unchanged \(report.unchanged), fetches \(report.fetches) (\(report.fetchFailures) failed), still needing a fetch \(report.needFetch)")
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

import ArgumentParser
import TributaryCore
import TributaryRuntime

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
        @Option(parsing: .unconditional, help: "At most this many records.") var limit = 1000

        func validate() throws {
            if let updatedAfter, Timestamp.microseconds(rfc3339: updatedAfter) == nil {
                throw ValidationError("--updated-after must be an RFC 3339 time such as 2026-11-20T10:00:00Z, not \"\(updatedAfter)\"")
            }
            guard limit > 0 else { throw ValidationError("--limit must be a positive number, not \(limit)") }
        }

        func run() async throws {
            let records = try await global.openAdmin(readOnly: true).records(
                connection: connection, type: type, updatedAfter: updatedAfter.flatMap(Timestamp.microseconds(rfc3339:)), limit: limit
            )
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
            guard let record = try await global.openAdmin(readOnly: true).record(connection: connection, type: type, id: id) else {
                throw CLIError.failure("no \(type) \(id) in the mirror of \(connection)")
            }
            Output.json(record.json)
        }
    }
}

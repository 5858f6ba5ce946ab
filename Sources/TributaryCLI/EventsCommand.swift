import ArgumentParser
import TributaryCore
import TributaryRuntime

/// `tributary events list|show`.
struct Events: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Read the event log.",
        subcommands: [List.self, Show.self, Replay.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List events in log order.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Only this connection.") var connection: String?
        @Option(help: "Only this status (pending, applied, superseded, quarantined, failed, dead).") var status: String?
        @Option(help: "Only this event type.") var type: String?
        @Option(parsing: .unconditional, help: "At most this many events.") var limit = 100
        @Option(parsing: .unconditional, help: "Only events after this sequence number.") var after: Int64?

        func validate() throws {
            if let status, EventStatus(rawValue: status) == nil {
                throw ValidationError("unknown status \"\(status)\"; one of \(EventStatus.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard limit > 0 else { throw ValidationError("--limit must be a positive number, not \(limit)") }
        }

        func run() async throws {
            let events = try await global.openAdmin(readOnly: true).events(EventFilter(
                connection: connection, status: status.flatMap(EventStatus.init(rawValue:)), type: type, limit: limit, afterSeq: after
            ))
            if global.json {
                Output.json(.array(events.map { $0.json() }))
            } else {
                for e in events {
                    let record = e.recordType.map { "\($0)/\(e.recordId ?? "")" } ?? "-"
                    Output.line("\(e.seq)\t\(e.connection)\t\(e.status.rawValue)\t\(e.type ?? "-")\t\(record)\t\(e.eventId)")
                }
            }
        }
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Put events back to pending (dead, failed, quarantined or settled) for the reconciler.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Sequence numbers.") var seqs: [Int64]

        func validate() throws {
            guard !seqs.isEmpty else { throw ValidationError("give at least one sequence number") }
        }

        func run() async throws {
            let result = try await global.openAdmin().replay(seqs)
            for note in result.notes {
                if note.problem { Output.error(note.text) } else { Output.line(note.text) }
            }
            Output.line("\(result.backToPending) event(s) back to pending")
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one event with its headers and raw body.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Sequence number.") var seq: Int64

        func run() async throws {
            // Fields the manifest marks as secrets (Graph's clientState) never reach the terminal.
            guard let event = try await global.openAdmin(readOnly: true).event(seq: seq) else { throw CLIError.failure("no event with seq \(seq)") }
            Output.json(event.json(detail: true))
        }
    }
}

import ArgumentParser
import Foundation
import TributaryCore
import TributaryProviders
import TributaryStore

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
        @Option(help: "At most this many events.") var limit = 100
        @Option(help: "Only events after this sequence number.") var after: Int64?

        func validate() throws {
            if let status, EventStatus(rawValue: status) == nil {
                throw ValidationError("unknown status \"\(status)\"; one of \(EventStatus.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard limit > 0 else { throw ValidationError("--limit must be positive") }
        }

        func run() async throws {
            let store = try global.openStore()
            let events: [StoredEvent]
            do {
                events = try await store.events(EventFilter(
                    connection: connection, status: status.flatMap(EventStatus.init(rawValue:)), type: type, limit: limit, afterSeq: after
                ))
            } catch {
                throw CLIError.failure(error.message)
            }
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
            let store = try global.openStore()
            do {
                // A delivery quarantined as unreadable is read again with the manifests as they are now
                // (after a fix); every other event goes back to pending as it is.
                var plain: [Int64] = []
                var reread = 0
                for seq in seqs {
                    guard let event = try await store.event(seq: seq) else { throw StoreError(.notFound, "no event with seq \(seq)") }
                    guard event.status == .quarantined, event.eventId.hasPrefix("quarantine:") else { plain.append(seq); continue }
                    let provider = try global.loadCatalog().providers[event.provider]
                    let request = WebhookRequest(method: "POST", url: event.url ?? "", headers: event.headers.compactMap { $0.count == 2 ? ($0[0], $0[1]) : nil }, body: event.body)
                    switch provider?.extractor?.extract(request) {
                    case .success(let read)?:
                        // Read again, it must still route to its connection as intake would have decided.
                        let connection = try await store.connection(id: event.connection)
                        if let refusal = AccountRouting.refusal(
                            expected: connection?.account, delivered: read.account, manifestNamesAccount: provider?.manifest.webhooks?.event.account != nil
                        ) {
                            Output.error("tributary: event \(seq) stays quarantined: \(refusal)")
                        } else if let existing = try await store.reread(seq: seq, eventId: read.eventId, type: read.type, record: read.record, occurredAt: read.occurredAt) {
                            Output.line("event \(seq) is a duplicate of event \(existing); settled as superseded")
                        } else {
                            reread += 1
                        }
                    case .failure(let failure)?:
                        Output.error("tributary: event \(seq) is still unreadable: \(failure.reason); fix the \(event.provider) manifest and replay again")
                    case nil:
                        Output.error("tributary: event \(seq): provider \(event.provider) has no webhooks section to read it with")
                    }
                }
                let replayed = try await store.replayEvents(plain)
                Output.line("\(replayed + reread) event(s) back to pending")
            } catch let error as StoreError {
                throw error.code == .notFound ? CLIError.usage(error.message) : CLIError.failure(error.message)
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one event with its headers and raw body.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Sequence number.") var seq: Int64

        func run() async throws {
            let store = try global.openStore()
            guard var event = try await store.event(seq: seq) else { throw CLIError.failure("no event with seq \(seq)") }
            // Fields the manifest marks as secrets (Graph's clientState) never reach the terminal; when the
            // manifests cannot be read, the body is withheld rather than shown unredacted.
            let provider = (try? global.loadCatalog())?.providers[event.provider]
            event.body = provider?.redacted(body: event.body) ?? Array("[withheld: cannot read the provider's manifest to redact its secrets]".utf8)
            Output.json(event.json(detail: true))
        }
    }
}

import ArgumentParser
import Foundation
import TributaryCore
import TributaryRuntime

/// `tributary destinations add|list|show|pause|resume|rotate-secret|remove`.
struct Destinations: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "destinations",
        abstract: "Manage where every change is delivered: your application's URL, signed per Standard Webhooks.",
        discussion: """
            serve POSTs each record.changed to every destination that takes it, signed with the \
            destination's secret (webhook-id, webhook-timestamp, webhook-signature headers, as Standard \
            Webhooks' libraries verify) and tagged with Tributary-Tenant, Tributary-Connection and \
            Tributary-Provider. A record's deliveries leave in version order, one at a time; failures are \
            retried (after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, ±20%), then dead (see \
            `deliveries`). A 410 answer disables the destination; so do 5 days of failures.
            """,
        subcommands: [Add.self, List.self, Show.self, Pause.self, Resume.self, RotateSecret.self, Remove.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a destination; prints its signing secret, this once.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "The URL deliveries are POSTed to (https; private addresses only with --allow-private-upstreams).") var url: String
        @Option(help: "Destination id (default: generated).") var id: String?
        @Option(help: "Only this tenant's changes.") var tenant: String?
        @Option(help: "Only this connection's changes.") var connection: String?
        @Option(help: "Message types, comma-separated: record.changed (the mirror after a change), event.received (each verified event as logged).") var types: String = "record.changed"
        @Option(name: .customLong("record-type"), help: "Only these record types, comma-separated.") var recordTypes: String?

        func run() async throws {
            var kinds: [Destination.Kind] = []
            for name in types.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !name.isEmpty {
                guard let kind = Destination.Kind(rawValue: name) else {
                    throw CLIError.usage("--types \(name) is not a message type; the types are \(Destination.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                kinds.append(kind)
            }
            let recordTypes = (recordTypes ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            let new = Admin.NewDestination(
                id: id, url: url, tenant: tenant, connection: connection, kinds: kinds, recordTypes: recordTypes, allowPrivate: try global.allowPrivateUpstreams()
            )
            try Admin.checkDestinationURL(url, allowPrivate: new.allowPrivate)
            let (destination, secret) = try await global.openAdmin().addDestination(new)
            if global.json {
                var json = destination.json
                if case .object(var members) = json {
                    members.append(("secret", .string(secret)))
                    json = .object(members)
                }
                Output.json(json)
            } else {
                Output.line(destination.id)
                Output.line("signing secret (shown once; verify webhook-signature with it): \(secret)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List destinations with their pending and dead deliveries.")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let rows = try await global.openAdmin(readOnly: true).destinations()
            if global.json {
                Output.json(.array(rows.map { row in
                    guard case .object(var members) = row.destination.json else { return row.destination.json }
                    members += [("pending", .number(String(row.pending))), ("dead", .number(String(row.dead)))]
                    return .object(members)
                }))
            } else {
                for (destination, pending, dead) in rows {
                    Output.line("\(destination.id)\t\(destination.state.rawValue)\t\(destination.url)\tpending=\(pending)\tdead=\(dead)")
                }
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one destination (its secrets only as fingerprints).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Destination id.") var id: String

        func run() async throws {
            Output.json(try await global.openAdmin(readOnly: true).destination(id: id).json)
        }
    }

    struct Pause: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop sending to a destination; its deliveries queue until resume.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Destination id.") var id: String

        func run() async throws {
            try await global.openAdmin().setDestinationState(id: id, .paused)
            Output.line("paused \(id)")
        }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Send to a paused or disabled destination again, starting with what queued.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Destination id.") var id: String

        func run() async throws {
            try await global.openAdmin().setDestinationState(id: id, .active)
            Output.line("resumed \(id)")
        }
    }

    struct RotateSecret: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-secret",
            abstract: "Add a new signing secret (both sign until --retire-old); prints it, this once.",
            discussion: "During a rotation each delivery carries one signature per active secret, so a receiver verifying with either accepts it."
        )
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Destination id.") var id: String
        @Flag(name: .customLong("retire-old"), help: "Retire every secret but the newest instead of adding one.") var retireOld = false

        func run() async throws {
            if let secret = try await global.openAdmin().rotateDestinationSecret(id: id, retireOld: retireOld) {
                Output.line("new signing secret (shown once; the old one signs too until rotate-secret \(id) --retire-old): \(secret)")
            } else {
                Output.line("retired the older secrets of \(id)")
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a destination with its secrets and deliveries.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Destination id.") var id: String

        func run() async throws {
            let pending = try await global.openAdmin().removeDestination(id: id)
            Output.line("removed \(id)\(pending > 0 ? " (\(pending) pending deliveries dropped)" : "")")
        }
    }
}

/// `tributary deliveries list|show|retry`.
struct Deliveries: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deliveries",
        abstract: "The deliveries to destinations: pending, delivered, dead; send dead ones again.",
        subcommands: [List.self, Show.self, Retry.self, Replay.self]
    )

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send a destination the mirror's records changed since a time (or after a log sequence) again, as they are now.",
            discussion: """
                Each record is queued once, in its current state, as a new delivery (a new webhook-id) on a \
                lane that takes at most a quarter of each round's slots, so live changes keep flowing.
                """
        )
        @OptionGroup var global: GlobalOptions
        @Option(help: "The destination.") var destination: String
        @Option(help: "Records changed at or after this RFC 3339 time.") var since: String?
        @Option(help: "Records whose change came from a log sequence after this one.") var after: Int64?

        func run() async throws {
            var sinceMicros: Int64?
            if let since {
                guard let parsed = Timestamp.microseconds(rfc3339: since) else {
                    throw CLIError.usage("--since must be an RFC 3339 time such as 2026-12-07T10:00:00Z, not \"\(since)\"")
                }
                sinceMicros = parsed
            }
            if let after, after < 0 { throw CLIError.usage("--after must be a log sequence (0 or more), not \(after)") }
            let count = try await global.openAdmin().replayDeliveries(destination: destination, since: sinceMicros, afterSeq: after)
            Output.line("\(count) record(s) queued again for \(destination)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List deliveries, newest first.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Only this destination's.") var destination: String?
        @Option(help: "pending, delivered or dead.") var status: String?
        @Option(help: "At most this many (1–10000).") var limit: Int = 100

        func run() async throws {
            var wanted: Delivery.Status?
            if let status {
                guard let parsed = Delivery.Status(rawValue: status) else { throw CLIError.usage("--status must be pending, delivered or dead, not \"\(status)\"") }
                wanted = parsed
            }
            guard (1...10_000).contains(limit) else { throw CLIError.usage("--limit must be 1 to 10000") }
            let rows = try await global.openAdmin(readOnly: true).deliveries(destination: destination, status: wanted, limit: limit)
            if global.json {
                Output.json(.array(rows.map(\.json)))
            } else {
                for row in rows {
                    let last = row.lastStatus.map { "HTTP \($0)" } ?? row.lastError ?? "-"
                    Output.line("\(row.id)\t\(row.destination)\t\(row.status.rawValue)\tattempts=\(row.attempts)\t\(row.recordType ?? "-")/\(row.recordId ?? "-")@\(row.version.map(String.init) ?? "-")\t\(last)")
                }
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one delivery with its payload and last answer.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Delivery id.") var id: Int64

        func run() async throws {
            Output.json(try await global.openAdmin(readOnly: true).delivery(id: id).json)
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Send deliveries again from the start of the schedule: the ids given, or every dead one of --destination.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Every dead delivery of this destination.") var destination: String?
        @Argument(help: "Delivery ids.") var ids: [Int64] = []

        func run() async throws {
            guard (destination == nil) != ids.isEmpty else { throw CLIError.usage("give delivery ids or --destination, not both nor neither") }
            let count = try await global.openAdmin().retryDeliveries(ids: ids, destination: destination)
            Output.line("\(count) deliver\(count == 1 ? "y" : "ies") queued again")
        }
    }
}

import ArgumentParser
import Crypto
import Foundation
import TributaryCore
import TributaryProviders
import TributaryStore

/// `tributary connections add|list|show|rotate-secret|remove`.
struct Connections: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "connections",
        abstract: "Manage connections: one tenant's link to one provider account.",
        subcommands: [Add.self, List.self, Show.self, RotateSecret.self, Remove.self]
    )

    static func json(_ connection: Connection) -> JSONValue {
        .object([
            ("id", .string(connection.id)),
            ("provider", .string(connection.provider)),
            ("tenant", .string(connection.tenant)),
            ("account", connection.account.map(JSONValue.string) ?? .null),
            ("webhook_path", .string("/webhooks/\(connection.provider)/\(connection.id)")),
            ("tolerance_seconds", connection.toleranceSeconds.map { .number(String($0)) } ?? .null),
            ("active_secrets", .array(connection.secretFingerprints.map(JSONValue.string))),
            ("retired_secrets", .number(String(connection.retiredSecretCount))),
            ("awaiting_secret", .bool(connection.awaitingSecret)),
            ("created_at", .string(Timestamp.rfc3339(microseconds: connection.createdAt))),
        ])
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a connection; prints its id and webhook path.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Provider id (a manifest in the providers directory).") var provider: String
        @Option(help: "Tenant the connection's events belong to.") var tenant: String
        @Option(help: "Connection id (default: generated).") var id: String?
        @Option(help: "Provider account key, for routing.") var account: String?
        @Option(name: .customLong("webhook-secret"), help: "Webhook signing secret (repeat for several); @FILE reads it from a file, - from stdin (argv is visible to other users). For public-key schemes, the provider's public key.")
        var webhookSecrets: [String] = []
        @Option(help: "Replay window in seconds, overriding the manifest's.") var tolerance: Int?
        @Option(name: .customLong("api-token"), help: "API credential for polling and fetches (sent as the manifest's auth style); @FILE or - (stdin) keeps it off argv.")
        var apiToken: String?
        @Option(name: .customLong("api-base-url"), help: "API base URL, overriding the manifest's (e.g. a regional host, or the simulator).")
        var apiBaseURL: String?

        func run() async throws {
            let catalog = try global.loadCatalog()
            guard let manifest = catalog.providers[provider] else {
                throw CLIError.usage("unknown provider \"\(provider)\"; see `tributary providers list`")
            }
            guard [webhookSecrets.contains("-"), apiToken == "-"].filter({ $0 }).count <= 1 else {
                throw CLIError.usage("only one of --webhook-secret and --api-token can read standard input (-)")
            }
            let webhookSecrets = try SecretInput.resolve(self.webhookSecrets, flag: "--webhook-secret")
            let apiToken = try self.apiToken.map { try SecretInput.resolve($0, flag: "--api-token") }
            if let verifier = manifest.verifier {
                for secret in webhookSecrets {
                    if let problem = verifier.secretProblem(secret) {
                        throw CLIError.usage("--webhook-secret \(problem) for \(provider)'s \(verifier.verification.scheme.rawValue) scheme (encoding \(verifier.verification.secretEncoding?.rawValue ?? "utf8"))")
                    }
                }
            }
            if let account, let template = manifest.manifest.api?.baseURL, account.isEmpty || (try? URLTemplate.fillBaseURL(template, account: account).get()) == nil {
                throw CLIError.usage("--account \"\(account)\" cannot go where \(provider)'s API base URL puts it (\(template))")
            }
            let id = id ?? "conn_" + Array(SymmetricKey(size: .bits128).withUnsafeBytes { Array($0) }.prefix(8)).map { String(format: "%02x", $0) }.joined()
            guard id.range(of: "^[A-Za-z0-9_.-]{1,128}$", options: .regularExpression) != nil else {
                throw CLIError.usage("connection id \"\(id)\" may use only letters, digits, '_', '.', '-' (1–128 characters)")
            }
            guard !tenant.isEmpty else { throw CLIError.usage("--tenant must not be empty") }
            if let tolerance, tolerance < 0 { throw CLIError.usage("--tolerance must not be negative") }
            guard !webhookSecrets.contains(where: \.isEmpty) else { throw CLIError.usage("--webhook-secret must not be empty") }
            if let apiBaseURL, URL(string: apiBaseURL)?.host == nil || !(apiBaseURL.hasPrefix("http://") || apiBaseURL.hasPrefix("https://")) {
                throw CLIError.usage("--api-base-url must be an absolute http(s) URL, not \"\(apiBaseURL)\"")
            }
            if apiToken?.isEmpty == true { throw CLIError.usage("--api-token must not be empty") }
            let store = try global.openStore()
            let connection: Connection
            do {
                connection = try await store.addConnection(
                    id: id, provider: provider, tenant: tenant, account: account, toleranceSeconds: tolerance,
                    webhookSecrets: webhookSecrets, now: nowMicros()
                )
                if apiToken != nil || apiBaseURL != nil {
                    try await store.setAPICredentials(connection: id, token: apiToken, baseURL: apiBaseURL, now: nowMicros())
                }
            } catch {
                throw error.code == .conflict ? CLIError.usage(error.message) : CLIError.failure(error.message)
            }
            if global.json {
                Output.json(Connections.json(connection))
            } else {
                Output.line(connection.id)
                Output.line("webhook path: /webhooks/\(connection.provider)/\(connection.id)")
                if connection.awaitingSecret { Output.line("no webhook secret yet: the provider's handshake (or rotate-secret --add) must supply one") }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List connections.")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let connections = try await loadAll()
            if global.json {
                Output.json(.array(connections.map(Connections.json)))
            } else {
                for c in connections {
                    Output.line("\(c.id)\t\(c.provider)\t\(c.tenant)\t\(c.account ?? "-")\tsecrets=\(c.webhookSecrets.count)")
                }
            }
        }

        func loadAll() async throws -> [Connection] {
            do { return try await global.openStore().connections() } catch let error as StoreError { throw CLIError.failure(error.message) }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one connection (secrets appear only as fingerprints).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Connection id.") var id: String

        func run() async throws {
            let store = try global.openStore()
            guard let connection = try await store.connection(id: id) else { throw CLIError.failure("no connection \(id)") }
            let json = Connections.json(connection)
            if global.json {
                Output.json(json)
            } else if case .object(let members) = json {
                for member in members { Output.line("\(member.key): \(member.value.stringValue ?? member.value.jsonText)") }
            }
        }
    }

    struct RotateSecret: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-secret",
            abstract: "Add a new webhook secret (both stay valid) or retire an old one."
        )
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Connection id.") var id: String
        @Option(help: "Secret to add; @FILE reads it from a file, - from stdin.") var add: String?
        @Option(help: "Secret to retire; @FILE reads it from a file, - from stdin.") var retire: String?

        func validate() throws {
            guard (add == nil) != (retire == nil) else { throw ValidationError("give exactly one of --add or --retire") }
            if add?.isEmpty == true || retire?.isEmpty == true { throw ValidationError("the secret must not be empty") }
        }

        func run() async throws {
            let store = try global.openStore()
            let add = try self.add.map { try SecretInput.resolve($0, flag: "--add") }
            let retire = try self.retire.map { try SecretInput.resolve($0, flag: "--retire") }
            if let add, let connection = try? await store.connection(id: id),
               let verifier = try global.loadCatalog().providers[connection.provider]?.verifier, let problem = verifier.secretProblem(add) {
                throw CLIError.usage("--add \(problem) for \(connection.provider)'s \(verifier.verification.scheme.rawValue) scheme (encoding \(verifier.verification.secretEncoding?.rawValue ?? "utf8"))")
            }
            do {
                if let add {
                    try await store.addWebhookSecret(connection: id, secret: add, now: nowMicros())
                    Output.line("added a webhook secret to \(id)")
                } else if let retire {
                    try await store.retireWebhookSecret(connection: id, secret: retire, now: nowMicros())
                    Output.line("retired a webhook secret of \(id)")
                }
            } catch {
                throw CLIError.failure(error.message)
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove a connection; refused while it has events or records, unless --purge removes them too.",
            discussion: """
                Without --purge, a connection whose events or mirror records are still stored is kept: \
                removing it alone would leave them behind, and a connection added later with the same id \
                would find its first events taken for duplicates and the mirror showing the old tenant. \
                --purge removes the connection, its secrets, events, records, cursors, sweeps and leases in \
                one transaction, so the id can be reused cleanly.
                """
        )
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Connection id.") var id: String
        @Flag(help: "Also delete the connection's events, records, cursors, sweeps and leases.") var purge = false

        func run() async throws {
            let removed: ConnectionRemoval
            do {
                removed = try await global.openStore().removeConnection(id: id, purge: purge)
            } catch let error as StoreError {
                throw error.code == .conflict ? CLIError.usage(error.message) : CLIError.failure(error.message)
            }
            if purge {
                Output.line("removed \(id) with \(removed.events) event(s) and \(removed.records) record(s)")
            } else {
                Output.line("removed \(id)")
            }
        }
    }
}

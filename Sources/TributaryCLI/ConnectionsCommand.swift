import Foundation
import ArgumentParser
import TributaryCore
import TributaryRuntime

/// `tributary connections add|list|show|rotate-secret|remove`.
struct Connections: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "connections",
        abstract: "Manage connections: one tenant's link to one provider account.",
        subcommands: [Add.self, List.self, Show.self, Authorize.self, Subscribe.self, Unsubscribe.self, RotateSecret.self, Remove.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a connection; prints its id and webhook path.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Provider id (a manifest in the providers directory).") var provider: String
        @Option(help: "Tenant the connection's events belong to.") var tenant: String
        @Option(help: "Connection id (default: generated).") var id: String?
        @Option(help: "Provider account key, for routing (the installation id, team id, portal id, shop domain, …).") var account: String?
        @Option(help: "Provider app the connection belongs to (see `tributary apps`); needs --account.") var app: String?
        @Option(name: .customLong("webhook-secret"), help: "Webhook signing secret (repeat for several); @FILE reads it from a file, - from stdin (argv is visible to other users). For public-key schemes, the provider's public key.")
        var webhookSecrets: [String] = []
        @Option(parsing: .unconditional, help: "Replay window in seconds, overriding the manifest's.") var tolerance: Int?
        @Option(name: .customLong("api-token"), help: "API credential for polling and fetches (sent as the manifest's auth style); @FILE or - (stdin) keeps it off argv.")
        var apiToken: String?
        @Option(name: .customLong("api-base-url"), help: "API base URL, overriding the manifest's (e.g. a regional host, or the simulator).")
        var apiBaseURL: String?

        func validate() throws {
            guard [webhookSecrets.contains("-"), apiToken == "-"].filter({ $0 }).count <= 1 else {
                throw ValidationError("only one of --webhook-secret and --api-token can read standard input (-)")
            }
        }

        func run() async throws {
            var new = NewConnection(provider: provider, tenant: tenant)
            new.id = id
            new.account = account
            new.app = app
            new.webhookSecrets = try SecretInput.resolve(webhookSecrets, flag: "--webhook-secret")
            new.toleranceSeconds = tolerance
            new.apiToken = try apiToken.map { try SecretInput.resolve($0, flag: "--api-token") }
            new.apiBaseURL = apiBaseURL
            // Checked before the database opens: a refused command creates nothing.
            new.id = try Admin.check(new, providersDirectory: global.providersDirectory)
            let connection = try await global.openAdmin().addConnection(new)
            if global.json {
                Output.json(connection.json)
            } else {
                Output.line(connection.id)
                Output.line("webhook path: /webhooks/\(connection.provider)/\(connection.id)")
                if let app = connection.app {
                    Output.line("app: \(app) (deliveries to /webhooks/\(connection.provider)/apps/\(app) naming account \(connection.account ?? "") come here)")
                } else if connection.awaitingSecret { Output.line("no webhook secret yet: the provider's handshake (or rotate-secret --add) must supply one") }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List connections.")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let connections = try await global.openAdmin(readOnly: true).connections()
            if global.json {
                Output.json(.array(connections.map(\.json)))
            } else {
                for c in connections {
                    Output.line("\(c.id)\t\(c.provider)\t\(c.tenant)\t\(c.account ?? "-")\tsecrets=\(c.webhookSecrets.count)")
                }
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one connection (secrets appear only as fingerprints).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Connection id.") var id: String

        func run() async throws {
            let admin = try global.openAdmin(readOnly: true)
            guard let connection = try await admin.connection(id: id) else { throw CLIError.failure("no connection \(id)") }
            var json = connection.json
            if case .object(var members) = json {
                if let grant = try await admin.oauthGrant(connection: id) { members.append(("oauth", grant.json)) }
                if let subscription = try await admin.subscription(connection: id) { members.append(("subscription", subscription.json)) }
                json = .object(members)
            }
            if global.json {
                Output.json(json)
            } else if case .object(let members) = json {
                for member in members { Output.line("\(member.key): \(member.value.stringValue ?? member.value.jsonText)") }
            }
        }
    }

    struct Authorize: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the URL where the customer authorizes an OAuth connection (valid once, for 10 minutes).",
            discussion: """
                The connection must belong to an app (--app) holding the OAuth client's client_id and \
                client_secret, for a provider whose manifest says api.auth.style: oauth2. The provider sends \
                the customer's browser back to /oauth/callback on this service, which stores the grant; \
                from then on its access token is renewed before it expires. Run it again when status says \
                reauth_required.
                """
        )
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Connection id.") var id: String
        @Option(name: .customLong("redirect-uri"), help: "Where the provider sends the customer back (default: TRIBUTARY_PUBLIC_URL + /oauth/callback); register it with the provider's app.")
        var redirectURI: String?

        func run() async throws {
            let base = ProcessInfo.processInfo.environment["TRIBUTARY_PUBLIC_URL"].flatMap { $0.isEmpty ? nil : $0 }
            guard let redirect = redirectURI ?? base.map({ ($0.hasSuffix("/") ? String($0.dropLast()) : $0) + "/oauth/callback" }) else {
                throw CLIError.usage("give --redirect-uri, or set TRIBUTARY_PUBLIC_URL to the service's public URL: the provider must send the customer back to its /oauth/callback")
            }
            let url = try await global.openAdmin().authorize(connection: id, redirectURI: redirect)
            if global.json {
                Output.json(.object([("connection", .string(id)), ("authorize_url", .string(url)), ("redirect_uri", .string(redirect))]))
            } else {
                Output.line(url)
                Output.line("send the customer to this URL (valid once, for 10 minutes); the provider returns them to \(redirect)")
            }
        }
    }

    struct Subscribe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create the connection's webhook subscription through the provider's API (manifests with a subscriptions section).",
            discussion: """
                The provider is told to deliver to PUBLIC_URL/webhooks/{provider}/{connection}, with a secret \
                Tributary generates and stores first (or the one the provider returns). serve renews the \
                subscription before it expires, creates it again if it was lost, and polls the connection at \
                once for what was missed meanwhile.
                """
        )
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Connection id.") var id: String
        @Option(name: .customLong("public-url"), help: "This service's public base URL (default TRIBUTARY_PUBLIC_URL).") var publicURL: String?
        @Option(name: .customLong("max-wait"), help: "Seconds to keep retrying a failing provider.") var maxWait: Int = 30

        func run() async throws {
            let base = publicURL ?? ProcessInfo.processInfo.environment["TRIBUTARY_PUBLIC_URL"].flatMap { $0.isEmpty ? nil : $0 }
            if let base, URL(string: base)?.host == nil || !(base.hasPrefix("https://") || base.hasPrefix("http://")) {
                throw CLIError.usage("--public-url must be an absolute URL such as https://hooks.example.com, not \"\(base)\"")
            }
            let engine = try global.openEngine(maxWait: .seconds(max(1, maxWait)), publicURL: base)
            let connection = try await engine.requireConnection(id)!
            let subscription = try await engine.subscriptions.subscribe(connection, logger: engine.configuration.logger)
            if global.json {
                Output.json(subscription.json)
            } else {
                Output.line("subscribed \(id): subscription \(subscription.subscriptionId ?? "?")\(subscription.expiresAt.map { ", expires \(Timestamp.rfc3339(microseconds: $0)) (serve renews it)" } ?? "")")
            }
        }
    }

    struct Unsubscribe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete the connection's webhook subscription at the provider and stop renewing it.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Connection id.") var id: String

        func run() async throws {
            let engine = try global.openEngine(maxWait: .seconds(30))
            let connection = try await engine.requireConnection(id)!
            try await engine.subscriptions.unsubscribe(connection, logger: engine.configuration.logger)
            Output.line("unsubscribed \(id)")
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
            let admin = try global.openAdmin()
            if let add = try self.add.map({ try SecretInput.resolve($0, flag: "--add") }) {
                try await admin.addWebhookSecret(connection: id, secret: add)
                Output.line("added a webhook secret to \(id)")
            } else if let retire = try self.retire.map({ try SecretInput.resolve($0, flag: "--retire") }) {
                try await admin.retireWebhookSecret(connection: id, secret: retire)
                Output.line("retired a webhook secret of \(id)")
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
                one transaction, so the id can be reused cleanly. Before it is removed, its webhook \
                subscription is deleted at the provider and its OAuth grant revoked, where its manifest \
                says how; what the provider refuses is printed, and the removal still happens.
                """
        )
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Connection id.") var id: String
        @Flag(help: "Also delete the connection's events, records, cursors, sweeps and leases.") var purge = false

        func run() async throws {
            // The engine, not the admin: the connection's subscription and grant at the provider go first.
            let engine = try global.openEngine(maxWait: .seconds(30))
            let (removed, notes) = try await engine.removeConnection(id: id, purge: purge)
            for note in notes { Output.line("\(id): \(note)") }
            if purge {
                Output.line("removed \(id) with \(removed.events) event(s) and \(removed.records) record(s)")
            } else {
                Output.line("removed \(id)")
            }
        }
    }
}

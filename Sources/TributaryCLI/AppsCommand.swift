import ArgumentParser
import TributaryCore
import TributaryRuntime

/// `tributary apps add|list|show|rotate-secret|remove`.
struct Apps: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apps",
        abstract: "Manage provider apps: one webhook URL and one OAuth client for many customers' connections.",
        discussion: """
            A GitHub App, a Slack app or a HubSpot app delivers every customer's events to one URL, signed \
            with the app's secret; the payload names the customer (installation id, team id, portal id). \
            Register the app, point the provider at /webhooks/{provider}/apps/{app}, and add each customer \
            as `connections add --app APP --account ACCOUNT`: each delivery goes to the connection whose \
            account it names. A delivery naming an account no connection has is quarantined under the app \
            (answered 2xx) and routed by `events replay` once its connection exists.
            """,
        subcommands: [Add.self, List.self, Show.self, RotateSecret.self, Remove.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register a provider app; prints its webhook path.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Provider id (a manifest in the providers directory).") var provider: String
        @Option(help: "App id, as it appears in the app's webhook URL.") var id: String
        @Option(help: "@FILE or - (stdin): YAML or JSON with webhook_secret (or webhook_secrets), client_id, client_secret, app_id, private_key. Never the secrets themselves on argv.")
        var credentials: String

        func run() async throws {
            let parsed = try AppCredentialsInput.read(credentials)
            try Admin.checkApp(id: id, provider: provider, credentials: parsed, providersDirectory: global.providersDirectory)
            let app = try await global.openAdmin().addApp(id: id, provider: provider, credentials: parsed)
            if global.json {
                Output.json(app.json(connections: 0))
            } else {
                Output.line(app.id)
                Output.line("webhook path: /webhooks/\(app.provider)/apps/\(app.id)")
                Output.line("add its customers with: tributary connections add --provider \(app.provider) --app \(app.id) --account ACCOUNT --tenant TENANT")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List apps.")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let apps = try await global.openAdmin(readOnly: true).apps()
            if global.json {
                Output.json(.array(apps.map { $0.app.json(connections: $0.connections) }))
            } else {
                for (app, connections) in apps {
                    Output.line("\(app.id)\t\(app.provider)\tconnections=\(connections)\tsecrets=\(app.webhookSecrets.count)")
                }
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one app (secrets appear only as fingerprints or as present).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "App id.") var id: String

        func run() async throws {
            let admin = try global.openAdmin(readOnly: true)
            guard let found = try await admin.apps().first(where: { $0.app.id == id }) else { throw CLIError.failure("no app \(id)") }
            let json = found.app.json(connections: found.connections)
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
            abstract: "Add a webhook secret (both stay valid) or retire one; or replace the client secret or private key."
        )
        @OptionGroup var global: GlobalOptions
        @Argument(help: "App id.") var id: String
        @Option(help: "Webhook secret to add; @FILE or - (stdin).") var add: String?
        @Option(help: "Webhook secret to retire; @FILE or - (stdin).") var retire: String?
        @Option(name: .customLong("credentials"), help: "@FILE or - (stdin): client_id, client_secret, app_id or private_key to replace.")
        var credentials: String?

        func validate() throws {
            guard [add, retire, credentials].compactMap({ $0 }).count == 1 else {
                throw ValidationError("give exactly one of --add, --retire or --credentials")
            }
        }

        func run() async throws {
            let admin = try global.openAdmin()
            if let add = try self.add.map({ try SecretInput.resolve($0, flag: "--add") }) {
                try await admin.addAppWebhookSecret(app: id, secret: add)
                Output.line("added a webhook secret to app \(id)")
            } else if let retire = try self.retire.map({ try SecretInput.resolve($0, flag: "--retire") }) {
                try await admin.retireAppWebhookSecret(app: id, secret: retire)
                Output.line("retired a webhook secret of app \(id)")
            } else if let credentials {
                try await admin.updateApp(id: id, credentials: try AppCredentialsInput.read(credentials))
                Output.line("replaced the credentials given for app \(id)")
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove an app; refused while connections belong to it or deliveries wait quarantined under it (--purge deletes those)."
        )
        @OptionGroup var global: GlobalOptions
        @Argument(help: "App id.") var id: String
        @Flag(help: "Also delete the deliveries quarantined under the app.") var purge = false

        func run() async throws {
            let removed = try await global.openAdmin().removeApp(id: id, purge: purge)
            Output.line(purge ? "removed app \(id) with \(removed) quarantined deliver\(removed == 1 ? "y" : "ies")" : "removed app \(id)")
        }
    }
}

/// An app's credentials file: `@FILE` or `-`. Never a value on argv, since every key but the ids is a secret.
enum AppCredentialsInput {
    static func read(_ value: String) throws -> AppCredentials {
        guard value == "-" || value.hasPrefix("@") else {
            throw CLIError.usage("--credentials takes @FILE or - (stdin), not the credentials themselves: argv is visible to every user of the machine")
        }
        let text = try SecretInput.resolve(value, flag: "--credentials")
        return try Admin.appCredentials(text, source: value)
    }
}

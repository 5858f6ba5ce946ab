import Foundation
public import TributaryCore
import TributaryProviders
import TributaryStore

extension Admin {
    /// The keys an app's credentials file may hold; anything else is refused, so a typo (`client_secert`)
    /// is not silently an app without its secret.
    static let credentialKeys = ["webhook_secret", "webhook_secrets", "client_id", "client_secret", "app_id", "private_key"]

    /// Reads an app's credentials file (YAML or JSON): `webhook_secret` or `webhook_secrets` (a list),
    /// `client_id`, `client_secret`, `app_id`, `private_key` (PEM).
    /// - Parameter source: names the file in errors (`@path` or `-`).
    /// - Throws: `.usage` naming the key or the form at fault.
    public static func appCredentials(_ text: String, source: String) throws(OperationError) -> AppCredentials {
        guard let document = ManifestCatalog.yamlDocument(text), case .object(let members) = document else {
            throw .usage("credentials \(source): not a YAML or JSON mapping of \(credentialKeys.joined(separator: ", "))")
        }
        var credentials = AppCredentials()
        func string(_ key: String, _ value: JSONValue) throws(OperationError) -> String {
            let read: String? = switch value {
            case .string(let s): s
            case .number(let n): n
            default: nil
            }
            guard let read, !read.isEmpty else { throw .usage("credentials \(source): \(key) must be a non-empty string") }
            return read
        }
        for (key, value) in members {
            switch key {
            case "webhook_secret": credentials.webhookSecrets.append(try string(key, value))
            case "webhook_secrets":
                guard case .array(let items) = value, !items.isEmpty else {
                    throw .usage("credentials \(source): webhook_secrets must be a non-empty list of strings")
                }
                for item in items { credentials.webhookSecrets.append(try string(key, item)) }
            case "client_id": credentials.clientID = try string(key, value)
            case "client_secret": credentials.clientSecret = try string(key, value)
            case "app_id": credentials.appID = try string(key, value)
            case "private_key":
                let pem = try string(key, value)
                guard pem.contains("-----BEGIN") && pem.contains("PRIVATE KEY-----") else {
                    throw .usage("credentials \(source): private_key must be a PEM private key (-----BEGIN … PRIVATE KEY-----)")
                }
                // Refused now rather than at the first installation token, an hour into serving.
                if case .failure(let problem) = GitHubAppToken.key(pem) { throw .usage("credentials \(source): private_key cannot sign JWTs: \(problem)") }
                credentials.privateKey = pem
            default:
                throw .usage("credentials \(source): unknown key \"\(key)\"; the keys are \(credentialKeys.joined(separator: ", "))")
            }
        }
        return credentials
    }

    /// Checks a new app against its provider's manifest, with no database open.
    public static func checkApp(id: String, provider: String, credentials: AppCredentials, providersDirectory: String) throws(OperationError) {
        let catalog = try Manifests.catalog(directory: providersDirectory)
        guard let manifest = catalog.providers[provider] else {
            if let errors = catalog.invalid[provider] { throw .usage("provider \(provider)'s manifest is invalid; fix it first:\n\(errors)") }
            throw .usage("unknown provider \"\(provider)\"; see `tributary providers list`")
        }
        guard id.range(of: "^[A-Za-z0-9_.-]{1,128}$", options: .regularExpression) != nil else {
            throw .usage("app id \"\(id)\" may use only letters, digits, '_', '.', '-' (1–128 characters)")
        }
        if let verifier = manifest.verifier {
            for secret in credentials.webhookSecrets {
                if let problem = Self.secretProblem(secret, verifier: verifier, provider: provider) { throw .usage("webhook secret \(problem)") }
            }
        }
        if !credentials.webhookSecrets.isEmpty, manifest.manifest.webhooks?.event.account == nil {
            throw .usage("\(provider)'s manifest has no webhooks.event.account, so deliveries to an app's URL could not be routed; add one first")
        }
    }

    public func addApp(id: String, provider: String, credentials: AppCredentials) async throws(OperationError) -> ProviderApp {
        try Self.checkApp(id: id, provider: provider, credentials: credentials, providersDirectory: providersDirectory)
        return try await run(usage: [.conflict]) { () async throws(StoreError) in
            try await store.addApp(id: id, provider: provider, credentials: credentials, now: now())
        }
    }

    public func apps() async throws(OperationError) -> [(app: ProviderApp, connections: Int)] {
        try await run { () async throws(StoreError) in
            let counts = try await store.appConnectionCounts()
            return try await store.apps().map { ($0, counts[$0.id] ?? 0) }
        }
    }

    public func app(id: String) async throws(OperationError) -> ProviderApp? {
        try await run { () async throws(StoreError) in try await store.app(id: id) }
    }

    /// Adds a webhook secret to an app (the old one stays valid until retired).
    public func addAppWebhookSecret(app id: String, secret: String) async throws(OperationError) {
        if let app = try? await store.app(id: id),
           let verifier = try Manifests.catalog(directory: providersDirectory).providers[app.provider]?.verifier,
           let problem = Self.secretProblem(secret, verifier: verifier, provider: app.provider) {
            throw .usage("--add \(problem)")
        }
        try await run(usage: [.conflict, .notFound]) { () async throws(StoreError) in
            try await store.addAppWebhookSecret(app: id, secret: secret, now: now())
        }
    }

    public func retireAppWebhookSecret(app id: String, secret: String) async throws(OperationError) {
        try await run(usage: [.conflict, .notFound]) { () async throws(StoreError) in
            try await store.retireAppWebhookSecret(app: id, secret: secret, now: now())
        }
    }

    /// Replaces the app's OAuth client or private key (webhook secrets rotate with add/retire).
    public func updateApp(id: String, credentials: AppCredentials) async throws(OperationError) {
        guard credentials.webhookSecrets.isEmpty else {
            throw .usage("webhook secrets rotate with --add and --retire, so that deliveries signed with the old one still verify")
        }
        try await run(usage: [.notFound]) { () async throws(StoreError) in try await store.updateApp(id: id, credentials: credentials, now: now()) }
    }

    @discardableResult
    public func removeApp(id: String, purge: Bool) async throws(OperationError) -> Int {
        try await run(usage: [.conflict, .notFound]) { () async throws(StoreError) in try await store.removeApp(id: id, purge: purge) }
    }
}

extension Admin {
    /// Starts a customer's authorization of `connection`: the URL to send them to (valid once, for ten minutes).
    public func authorize(connection id: String, redirectURI: String) async throws(OperationError) -> String {
        guard let connection = try await connection(id: id) else { throw .failure("no connection \(id)") }
        let catalog = try Manifests.catalog(directory: providersDirectory)
        return try await OAuthFlow.start(store: store, catalog: catalog, connection: connection, redirectURI: redirectURI, now: now())
    }

    /// The connection's webhook subscription, if one was made.
    public func subscription(connection id: String) async throws(OperationError) -> Subscription? {
        try await run { () async throws(StoreError) in try await store.subscription(connection: id) }
    }

    /// The connection's OAuth grant as `connections show` and `status` describe it (no token).
    public func oauthGrant(connection id: String) async throws(OperationError) -> OAuthGrant? {
        try await run { () async throws(StoreError) in try await store.oauthGrant(connection: id) }
    }
}

extension ProviderApp {
    /// The public app shape: what `apps list/show --json` print (secrets only as fingerprints or presence).
    public func json(connections: Int) -> JSONValue {
        .object([
            ("id", .string(id)),
            ("provider", .string(provider)),
            ("webhook_path", .string("/webhooks/\(provider)/apps/\(id)")),
            ("client_id", clientID.map(JSONValue.string) ?? .null),
            ("app_id", appID.map(JSONValue.string) ?? .null),
            ("active_secrets", .array(secretFingerprints.map(JSONValue.string))),
            ("retired_secrets", .number(String(retiredSecretCount))),
            ("client_secret", .bool(clientSecret != nil)),
            ("private_key", .bool(privateKey != nil)),
            ("connections", .number(String(connections))),
            ("created_at", .string(Timestamp.rfc3339(microseconds: createdAt))),
        ])
    }
}

import Foundation
public import TributaryCore
import TributaryProviders
import TributaryStore

/// What `connections add` asks for, before it is checked.
public struct NewConnection: Sendable {
    public var provider: String
    public var tenant: String
    /// `nil`: generated (`conn_` and 16 hex digits).
    public var id: String?
    public var account: String?
    /// The provider app the connection belongs to (its deliveries to the app's URL are routed by `account`).
    public var app: String?
    public var webhookSecrets: [String] = []
    public var toleranceSeconds: Int?
    public var apiToken: String?
    public var apiBaseURL: String?

    public init(provider: String, tenant: String) {
        self.provider = provider
        self.tenant = tenant
    }
}

extension Admin {
    /// Checks a new connection against its provider's manifest, then stores it (with its API credentials).
    /// - Throws: `.usage` naming what is wrong (an unknown provider, a secret the scheme cannot use,
    ///   an account that cannot go into the API's URL, a taken id); `.failure` when the store fails.
    public func addConnection(_ new: NewConnection) async throws(OperationError) -> Connection {
        let id = try Self.check(new, providersDirectory: providersDirectory)
        // `.notFound`: the --app named does not exist.
        return try await run(usage: [.conflict, .notFound]) { () async throws(StoreError) in
            let connection = try await store.addConnection(
                id: id, provider: new.provider, tenant: new.tenant, account: new.account, app: new.app, toleranceSeconds: new.toleranceSeconds,
                webhookSecrets: new.webhookSecrets, now: now()
            )
            if new.apiToken != nil || new.apiBaseURL != nil {
                try await store.setAPICredentials(connection: id, token: new.apiToken, baseURL: new.apiBaseURL, now: now())
            }
            return connection
        }
    }

    /// Checks a new connection against its provider's manifest and the rules for its fields, with no
    /// database open (a command refused for its arguments creates nothing).
    /// - Returns: the connection's id (generated when not given).
    /// - Throws: `.usage` naming what is wrong.
    public static func check(_ new: NewConnection, providersDirectory: String) throws(OperationError) -> String {
        let catalog = try Manifests.catalog(directory: providersDirectory)
        guard let manifest = catalog.providers[new.provider] else {
            if let errors = catalog.invalid[new.provider] {
                throw .usage("provider \(new.provider)'s manifest is invalid; fix it first:\n\(errors)")
            }
            throw .usage("unknown provider \"\(new.provider)\"; see `tributary providers list`")
        }
        if let verifier = manifest.verifier {
            for secret in new.webhookSecrets {
                if let problem = Self.secretProblem(secret, verifier: verifier, provider: new.provider) { throw .usage("--webhook-secret \(problem)") }
            }
        }
        if let account = new.account, let template = manifest.manifest.api?.baseURL,
           account.isEmpty || (try? URLTemplate.fillBaseURL(template, account: account).get()) == nil {
            throw .usage("--account \"\(account)\" cannot go where \(new.provider)'s API base URL puts it (\(template))")
        }
        let id = new.id ?? Self.generatedID()
        guard id.range(of: "^[A-Za-z0-9_.-]{1,128}$", options: .regularExpression) != nil else {
            throw .usage("connection id \"\(id)\" may use only letters, digits, '_', '.', '-' (1–128 characters)")
        }
        guard id != "apps" else { throw .usage("connection id \"apps\" is reserved: /webhooks/{provider}/apps/… are apps' URLs") }
        if new.app != nil, new.account == nil {
            throw .usage("--app needs --account: deliveries to the app's URL are routed to the connection by the account they name")
        }
        guard !new.tenant.isEmpty else { throw .usage("--tenant must not be empty") }
        if let tolerance = new.toleranceSeconds, tolerance < 0 { throw .usage("--tolerance must not be negative") }
        guard !new.webhookSecrets.contains(where: \.isEmpty) else { throw .usage("--webhook-secret must not be empty") }
        if let url = new.apiBaseURL, URL(string: url)?.host == nil || !(url.hasPrefix("http://") || url.hasPrefix("https://")) {
            throw .usage("--api-base-url must be an absolute http(s) URL, not \"\(url)\"")
        }
        if new.apiToken?.isEmpty == true { throw .usage("--api-token must not be empty") }
        return id
    }

    /// Adds a webhook secret to a connection (both stay valid until one is retired), once the
    /// provider's scheme accepts it.
    public func addWebhookSecret(connection id: String, secret: String) async throws(OperationError) {
        if let connection = try? await store.connection(id: id),
           let verifier = try Manifests.catalog(directory: providersDirectory).providers[connection.provider]?.verifier,
           let problem = Self.secretProblem(secret, verifier: verifier, provider: connection.provider) {
            throw .usage("--add \(problem)")
        }
        try await run { () async throws(StoreError) in try await store.addWebhookSecret(connection: id, secret: secret, now: now()) }
    }

    /// Retires one of a connection's webhook secrets.
    public func retireWebhookSecret(connection id: String, secret: String) async throws(OperationError) {
        try await run { () async throws(StoreError) in try await store.retireWebhookSecret(connection: id, secret: secret, now: now()) }
    }

    /// Why `secret` cannot verify `provider`'s deliveries, as a sentence naming the form it must take.
    static func secretProblem(_ secret: String, verifier: WebhookVerifier, provider: String) -> String? {
        verifier.secretProblem(secret).map { problem in
            let form: String = switch verifier.verification.secretEncoding ?? .utf8 {
            case .whsecBase64: "\"whsec_\" followed by base64, as the provider shows it (e.g. whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw)"
            case .base64: "base64"
            case .hex: "hexadecimal digits"
            case .utf8: "text"
            }
            let ed25519 = verifier.verification.algorithm == .ed25519 ? ", a 32-byte Ed25519 public key" : ""
            return "\(problem): \(provider) signs with a secret written as \(form)\(ed25519)"
        }
    }

    /// `conn_` and 16 hex digits from the system's CSPRNG.
    static func generatedID() -> String {
        var generator = SystemRandomNumberGenerator()
        return "conn_" + (0..<8).map { _ in String(format: "%02x", UInt8.random(in: .min ... .max, using: &generator)) }.joined()
    }
}

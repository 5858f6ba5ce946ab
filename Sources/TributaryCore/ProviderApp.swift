/// A provider app registered by the operator (a GitHub App, a Slack app, an OAuth client), with its
/// secrets opened: one webhook URL for all its installs, the OAuth client its connections authorize
/// through, the key its installation tokens are signed with.
public struct ProviderApp: Sendable, Equatable {
    public var id: String
    public var provider: String
    /// The OAuth client id (not a secret; shown).
    public var clientID: String?
    /// The provider's own id for the app (a GitHub App's id, the `iss` of its JWTs; not a secret).
    public var appID: String?
    /// Active webhook signing secrets, oldest first (several during a rotation).
    public var webhookSecrets: [String]
    /// Fingerprints of the active webhook secrets, in the same order (safe to show).
    public var secretFingerprints: [String]
    public var retiredSecretCount: Int
    public var clientSecret: String?
    /// The app's private key, PEM (GitHub App installation tokens).
    public var privateKey: String?
    public var createdAt: Int64

    public init(
        id: String, provider: String, clientID: String? = nil, appID: String? = nil, webhookSecrets: [String] = [],
        secretFingerprints: [String] = [], retiredSecretCount: Int = 0, clientSecret: String? = nil, privateKey: String? = nil,
        createdAt: Int64
    ) {
        self.id = id
        self.provider = provider
        self.clientID = clientID
        self.appID = appID
        self.webhookSecrets = webhookSecrets
        self.secretFingerprints = secretFingerprints
        self.retiredSecretCount = retiredSecretCount
        self.clientSecret = clientSecret
        self.privateKey = privateKey
        self.createdAt = createdAt
    }

    /// Where deliveries to the app's URL that reach none of its connections are kept, quarantined:
    /// `app:<id>` (connection ids cannot hold `:`), so they are listed, deduplicated and replayable.
    public var quarantineConnection: String { Self.quarantinePrefix + id }

    public static let quarantinePrefix = "app:"
}

/// An app's credentials as given to `apps add` (every field optional: a Slack app may sign webhooks
/// only, an OAuth client may have no webhooks).
public struct AppCredentials: Sendable, Equatable {
    public var webhookSecrets: [String] = []
    public var clientID: String?
    public var clientSecret: String?
    public var appID: String?
    public var privateKey: String?

    public init(webhookSecrets: [String] = [], clientID: String? = nil, clientSecret: String? = nil, appID: String? = nil, privateKey: String? = nil) {
        self.webhookSecrets = webhookSecrets
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.appID = appID
        self.privateKey = privateKey
    }
}

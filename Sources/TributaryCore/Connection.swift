/// A tenant's link to one provider account, with its secrets opened.
public struct Connection: Sendable, Equatable {
    public var id: String
    public var provider: String
    public var tenant: String
    public var account: String?
    /// The provider app the connection belongs to: deliveries to the app's URL naming `account` are routed here.
    public var app: String?
    /// Replay window override in seconds; `nil` uses the manifest's.
    public var toleranceSeconds: Int?
    public var createdAt: Int64
    /// Active webhook secrets, oldest first (several during a rotation).
    public var webhookSecrets: [String]
    /// Fingerprints of the active webhook secrets, in the same order (safe to show).
    public var secretFingerprints: [String]
    public var retiredSecretCount: Int

    /// Whether the connection has no active webhook secret, so a secret-delivering handshake may set one.
    public var awaitingSecret: Bool { webhookSecrets.isEmpty }

    public init(
        id: String, provider: String, tenant: String, account: String? = nil, app: String? = nil, toleranceSeconds: Int? = nil,
        createdAt: Int64, webhookSecrets: [String], secretFingerprints: [String], retiredSecretCount: Int
    ) {
        self.id = id
        self.provider = provider
        self.tenant = tenant
        self.account = account
        self.app = app
        self.toleranceSeconds = toleranceSeconds
        self.createdAt = createdAt
        self.webhookSecrets = webhookSecrets
        self.secretFingerprints = secretFingerprints
        self.retiredSecretCount = retiredSecretCount
    }
}

/// What went with a removed connection.
public struct ConnectionRemoval: Sendable, Equatable {
    public var events: Int
    public var records: Int

    public init(
        events: Int, records: Int
    ) {
        self.events = events
        self.records = records
    }
}

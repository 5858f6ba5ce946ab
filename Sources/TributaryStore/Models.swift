public import TributaryCore

/// A tenant's link to one provider account, with its secrets opened.
public struct Connection: Sendable, Equatable {
    public var id: String
    public var provider: String
    public var tenant: String
    public var account: String?
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
}

/// One row of the event log as the CLI and API show it.
public struct StoredEvent: Sendable, Equatable {
    public var seq: Int64
    public var connection: String
    public var tenant: String
    public var provider: String
    public var source: EventSource
    public var eventId: String
    public var type: String?
    public var recordType: String?
    public var recordId: String?
    public var version: Int64?
    public var deleted: Bool
    public var fullState: Bool
    public var occurredAt: Int64?
    public var receivedAt: Int64
    public var status: EventStatus
    public var reason: String?
    public var headers: [[String]]
    public var body: [UInt8]
    public var url: String?
    /// When the read behind this observation was issued (``EventDraft/readFence``).
    public var readFence: Int64?
    public var generation: Int64?
}

/// Which events to list.
public struct EventFilter: Sendable {
    public var connection: String?
    public var status: EventStatus?
    public var type: String?
    public var limit: Int
    public var afterSeq: Int64?

    public init(connection: String? = nil, status: EventStatus? = nil, type: String? = nil, limit: Int = 100, afterSeq: Int64? = nil) {
        self.connection = connection
        self.status = status
        self.type = type
        self.limit = limit
        self.afterSeq = afterSeq
    }
}

/// What went with a removed connection.
public struct ConnectionRemoval: Sendable, Equatable {
    public var events: Int
    public var records: Int
}

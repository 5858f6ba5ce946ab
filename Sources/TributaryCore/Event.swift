/// Where an event in the log came from.
public enum EventSource: String, Sendable, Codable, CaseIterable {
    case webhook, poll, fetch, sweep
}

/// The life of an event in the log (DESIGN.md §5 "JSON shapes").
public enum EventStatus: String, Sendable, Codable, CaseIterable {
    case pending, applied, superseded, quarantined, failed, dead
}

/// The mirror record an event is about, as the provider's manifest maps it.
public struct RecordRef: Sendable, Equatable, Codable {
    public var recordType: String
    public var recordId: String
    /// An orderable version (integer revision, or a time in microseconds); `nil` when the provider sends none.
    public var version: Int64?
    public var deleted: Bool
    /// Whether the payload carries the record's full state (otherwise the reconciler fetches it).
    public var fullState: Bool
    /// Which record under this id (a creation time): a provider that reuses the id of a deleted record
    /// makes a new incarnation, whose versions start again. `nil` when the manifest says none.
    public var incarnation: Int64?

    public init(recordType: String, recordId: String, version: Int64?, deleted: Bool, fullState: Bool, incarnation: Int64? = nil) {
        self.recordType = recordType
        self.recordId = recordId
        self.version = version
        self.deleted = deleted
        self.fullState = fullState
        self.incarnation = incarnation
    }
}

/// One observation ready to be appended to the log: what intake (or a poller) hands the store.
public struct EventDraft: Sendable, Equatable {
    public var connection: String
    public var tenant: String
    public var provider: String
    public var source: EventSource
    public var eventId: String
    public var type: String?
    public var record: RecordRef?
    /// Microseconds since the epoch, when the provider says.
    public var occurredAt: Int64?
    public var receivedAt: Int64
    public var status: EventStatus
    public var reason: String?
    /// Headers kept to re-verify the request later (signature, timestamp, id headers), as sent.
    public var headers: [(name: String, value: String)]
    /// The raw request body, byte-exact.
    public var body: [UInt8]
    /// The externally visible URL the provider called, for URL-covering schemes.
    public var url: String?
    /// When the read that produced this observation was issued (a poll page's or a fetch's request
    /// time); `nil` uses `receivedAt`. Observations without versions are ordered by it.
    public var readFence: Int64?
    /// The sweep generation that made this observation, if a sweep did.
    public var generation: Int64?
    /// For a delivery whose event id the signature does not cover: its replay key (the content digest
    /// with the event type) and the provider's retry horizon in microseconds. The append is then also
    /// a duplicate when the connection holds an event with the same key received within the horizon,
    /// so a signed body replayed under a fresh unsigned id is not stored twice.
    public var replayGuard: (key: String, horizon: Int64)?
    /// Stored pending and waiting for a fetch, for this cause (a sweep's suspected deletion).
    public var awaitingFetch: FetchCause?

    public init(
        connection: String, tenant: String, provider: String, source: EventSource, eventId: String,
        type: String?, record: RecordRef?, occurredAt: Int64?, receivedAt: Int64,
        status: EventStatus = .pending, reason: String? = nil,
        headers: [(name: String, value: String)], body: [UInt8], url: String?, readFence: Int64? = nil, generation: Int64? = nil
    ) {
        self.connection = connection
        self.tenant = tenant
        self.provider = provider
        self.source = source
        self.eventId = eventId
        self.type = type
        self.record = record
        self.occurredAt = occurredAt
        self.receivedAt = receivedAt
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
        self.url = url
        self.readFence = readFence
        self.generation = generation
    }

    public static func == (lhs: EventDraft, rhs: EventDraft) -> Bool {
        lhs.connection == rhs.connection && lhs.eventId == rhs.eventId && lhs.body == rhs.body
            && lhs.headers.map { "\($0.name):\($0.value)" } == rhs.headers.map { "\($0.name):\($0.value)" }
            && lhs.type == rhs.type && lhs.record == rhs.record && lhs.occurredAt == rhs.occurredAt
            && lhs.receivedAt == rhs.receivedAt && lhs.status == rhs.status && lhs.url == rhs.url
            && lhs.readFence == rhs.readFence && lhs.generation == rhs.generation
            && lhs.replayGuard?.key == rhs.replayGuard?.key && lhs.replayGuard?.horizon == rhs.replayGuard?.horizon
            && lhs.awaitingFetch == rhs.awaitingFetch
    }
}

/// The outcome of appending one event: its sequence number, and whether it was already there.
public struct AppendResult: Sendable, Equatable {
    public var seq: Int64
    public var duplicate: Bool

    public init(seq: Int64, duplicate: Bool) {
        self.seq = seq
        self.duplicate = duplicate
    }
}

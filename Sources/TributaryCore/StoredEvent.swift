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

    public init(
        seq: Int64, connection: String, tenant: String, provider: String, source: EventSource, eventId: String,
        type: String? = nil, recordType: String? = nil, recordId: String? = nil, version: Int64? = nil,
        deleted: Bool, fullState: Bool, occurredAt: Int64? = nil, receivedAt: Int64, status: EventStatus,
        reason: String? = nil, headers: [[String]], body: [UInt8], url: String? = nil, readFence: Int64? = nil,
        generation: Int64? = nil
    ) {
        self.seq = seq
        self.connection = connection
        self.tenant = tenant
        self.provider = provider
        self.source = source
        self.eventId = eventId
        self.type = type
        self.recordType = recordType
        self.recordId = recordId
        self.version = version
        self.deleted = deleted
        self.fullState = fullState
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

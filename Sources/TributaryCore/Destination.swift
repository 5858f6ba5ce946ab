/// Where the application receives every change: one URL, with what it wants sent there.
public struct Destination: Sendable, Equatable {
    public enum State: String, Sendable {
        case active
        /// Deliveries are queued, none sent, until `destinations resume`.
        case paused
        /// Nothing sent (changes still queue, sent on `resume`): answered 410, or failing for longer
        /// than the service allows.
        case disabled
    }

    /// The kinds of message a destination may take.
    public enum Kind: String, Sendable, CaseIterable {
        /// The mirror after an apply.
        case recordChanged = "record.changed"
        /// A verified event as it was logged.
        case eventReceived = "event.received"
    }

    public var id: String
    public var url: String
    /// Only this tenant's changes; `nil`: every tenant's.
    public var tenant: String?
    /// Only this connection's changes; `nil`: every connection's.
    public var connection: String?
    public var kinds: [Kind]
    /// Only these record types; empty: all.
    public var recordTypes: [String]
    public var state: State
    /// Why it is disabled or paused, when it is.
    public var reason: String?
    /// Fingerprints of the active signing secrets, oldest first (several during a rotation).
    public var secretFingerprints: [String]
    /// Since when every attempt has failed; `nil` after a success.
    public var failingSince: Int64?
    public var createdAt: Int64

    public init(
        id: String, url: String, tenant: String?, connection: String?, kinds: [Kind], recordTypes: [String], state: State,
        reason: String?, secretFingerprints: [String], failingSince: Int64?, createdAt: Int64
    ) {
        self.id = id
        self.url = url
        self.tenant = tenant
        self.connection = connection
        self.kinds = kinds
        self.recordTypes = recordTypes
        self.state = state
        self.reason = reason
        self.secretFingerprints = secretFingerprints
        self.failingSince = failingSince
        self.createdAt = createdAt
    }

    /// Whether a change of `tenant`'s `connection`, of `recordType`, goes to this destination as `kind`
    /// (whatever its state: a paused or disabled destination keeps queueing, so `resume` loses nothing).
    public func takes(_ kind: Kind, tenant: String, connection: String, recordType: String?) -> Bool {
        guard kinds.contains(kind) else { return false }
        if let only = self.tenant, only != tenant { return false }
        if let only = self.connection, only != connection { return false }
        if !recordTypes.isEmpty, !recordTypes.contains(recordType ?? "") { return false }
        return true
    }

    public var json: JSONValue {
        .object([
            ("id", .string(id)), ("url", .string(url)), ("tenant", tenant.map(JSONValue.string) ?? .null),
            ("connection", connection.map(JSONValue.string) ?? .null), ("types", .array(kinds.map { .string($0.rawValue) })),
            ("record_types", .array(recordTypes.map(JSONValue.string))), ("state", .string(state.rawValue)),
            ("reason", reason.map(JSONValue.string) ?? .null), ("secret_fingerprints", .array(secretFingerprints.map(JSONValue.string))),
            ("failing_since", failingSince.map { .string(Timestamp.rfc3339(microseconds: $0)) } ?? .null),
            ("created_at", .string(Timestamp.rfc3339(microseconds: createdAt))),
        ])
    }
}

/// One message for one destination, as the outbox keeps it: written in the transaction that made the
/// change, sent until the destination takes it, or dead after the last retry.
public struct Delivery: Sendable, Equatable {
    public enum Status: String, Sendable {
        case pending, delivered, dead
    }

    public var id: Int64
    public var destination: String
    public var kind: Destination.Kind
    /// The same on every attempt (`webhook-id`), so the receiver can drop a repeat.
    public var webhookID: String
    public var tenant: String
    public var connection: String
    public var provider: String
    public var recordType: String?
    public var recordId: String?
    public var version: Int64?
    /// The log sequence that produced it.
    public var seq: Int64?
    public var status: Status
    public var attempts: Int
    public var nextAttemptAt: Int64?
    public var lastStatus: Int?
    public var lastError: String?
    /// The start of the last answer's body (at most ``Delivery/keptResponseBytes``).
    public var lastResponse: String?
    public var createdAt: Int64
    public var deliveredAt: Int64?
    public var payload: [UInt8]

    /// The record it is about: its deliveries leave one at a time, in order.
    public var recordKey: String { "\(connection)\u{1F}\(recordType ?? "")\u{1F}\(recordId ?? "")" }

    /// How much of a receiver's answer is kept with the attempt.
    public static let keptResponseBytes = 1024

    public init(
        id: Int64, destination: String, kind: Destination.Kind, webhookID: String, tenant: String, connection: String, provider: String,
        recordType: String?, recordId: String?, version: Int64?, seq: Int64?, status: Status, attempts: Int, nextAttemptAt: Int64?,
        lastStatus: Int?, lastError: String?, lastResponse: String?, createdAt: Int64, deliveredAt: Int64?, payload: [UInt8]
    ) {
        self.id = id
        self.destination = destination
        self.kind = kind
        self.webhookID = webhookID
        self.tenant = tenant
        self.connection = connection
        self.provider = provider
        self.recordType = recordType
        self.recordId = recordId
        self.version = version
        self.seq = seq
        self.status = status
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.lastStatus = lastStatus
        self.lastError = lastError
        self.lastResponse = lastResponse
        self.createdAt = createdAt
        self.deliveredAt = deliveredAt
        self.payload = payload
    }

    /// The public shape (`deliveries show`), payload included.
    public var json: JSONValue {
        func time(_ t: Int64?) -> JSONValue { t.map { .string(Timestamp.rfc3339(microseconds: $0)) } ?? .null }
        func text(_ s: String?) -> JSONValue { s.map(JSONValue.string) ?? .null }
        return .object([
            ("id", .number(String(id))), ("destination", .string(destination)), ("type", .string(kind.rawValue)), ("webhook_id", .string(webhookID)),
            ("tenant", .string(tenant)), ("connection", .string(connection)), ("provider", .string(provider)),
            ("record_type", text(recordType)), ("record_id", text(recordId)), ("version", version.map { .number(String($0)) } ?? .null),
            ("seq", seq.map { .number(String($0)) } ?? .null), ("status", .string(status.rawValue)), ("attempts", .number(String(attempts))),
            ("next_attempt_at", time(nextAttemptAt)), ("last_status", lastStatus.map { .number(String($0)) } ?? .null),
            ("last_error", text(lastError)), ("last_response", text(lastResponse)), ("created_at", time(createdAt)),
            ("delivered_at", time(deliveredAt)), ("payload", JSONValue(parsing: payload) ?? .null),
        ])
    }
}

/// When a failed delivery is tried again: Standard Webhooks' schedule (the first attempt immediately,
/// then after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h), each wait ±20%, then dead. A receiver's `Retry-After` (429, 503) is honoured
/// up to `retryAfterCap`, never shortening the schedule's wait below it.
public struct DeliverySchedule: Sendable, Equatable {
    /// The wait before each retry, in microseconds: `waits[n]` before attempt `n + 2`.
    public var waits: [Int64]
    public var jitter: Double
    public var retryAfterCap: Int64

    public static let standard = DeliverySchedule(
        waits: [5, 300, 1800, 7200, 18_000, 36_000, 36_000].map { Int64($0) * 1_000_000 }, jitter: 0.2, retryAfterCap: 3_600_000_000
    )

    public init(waits: [Int64], jitter: Double = 0.2, retryAfterCap: Int64 = 3_600_000_000) {
        self.waits = waits
        self.jitter = jitter
        self.retryAfterCap = retryAfterCap
    }

    /// When attempt `attempts + 1` is due after attempt `attempts` (1-based) failed at `now`; `nil`: no
    /// more attempts, the delivery is dead.
    /// - Parameters:
    ///   - retryAfter: the receiver's `Retry-After`, in microseconds, when it sent one.
    ///   - random: a value in `0..<1` for the jitter.
    public func next(after attempts: Int, now: Int64, retryAfter: Int64?, random: Double) -> Int64? {
        guard attempts >= 1, attempts <= waits.count else { return nil }
        let wait = waits[attempts - 1]
        let jittered = Int64((Double(wait) * (1 + jitter * (2 * min(max(random, 0), 1) - 1))).rounded())
        let honoured = retryAfter.map { min(max($0, 0), retryAfterCap) } ?? 0
        return now + max(jittered, honoured)
    }
}

/// How long the outbox keeps what it no longer needs to send: delivered deliveries (for `deliveries
/// list`, lag figures and retry's "superseded" check) and dead ones (the dead-letter list).
public struct DeliveryRetention: Sendable, Equatable {
    /// Microseconds after `delivered_at` (default 7 days; `TRIBUTARY_DELIVERY_RETENTION_HOURS`).
    public var delivered: Int64
    /// Microseconds after `created_at` (default 30 days; `TRIBUTARY_DEAD_DELIVERY_RETENTION_HOURS`).
    public var dead: Int64

    public init(delivered: Int64 = 7 * 86_400 * 1_000_000, dead: Int64 = 30 * 86_400 * 1_000_000) {
        self.delivered = delivered
        self.dead = dead
    }
}

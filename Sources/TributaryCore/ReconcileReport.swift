/// What the reconciler found and did: values the store returns and the reconciler reports.

/// A record whose pending events wait for the provider's current state.
public struct PendingFetch: Sendable, Equatable {
    public var connection: String
    public var tenant: String
    public var provider: String
    public var recordType: String
    public var recordId: String
    public var seqs: [Int64]
    /// Failed attempts so far (the most any of the events has had).
    public var attempts: Int
    /// Whether only a sweep or a verification waits on it (fetched at the lowest priority), not a delivery.
    public var background: Bool

    public init(connection: String, tenant: String, provider: String, recordType: String, recordId: String, seqs: [Int64], attempts: Int, background: Bool) {
        self.connection = connection
        self.tenant = tenant
        self.provider = provider
        self.recordType = recordType
        self.recordId = recordId
        self.seqs = seqs
        self.attempts = attempts
        self.background = background
    }
}

/// What the reconciler did with the events of one pass.
public struct ReconcileReport: Sendable, Equatable {
    public var applied = 0
    public var superseded = 0
    public var unchanged = 0
    /// Events whose decision needs the provider's current state (left pending for a fetch).
    public var needFetch = 0
    /// Fetches made (one per record, however many events waited on it) and how many failed.
    public var fetches = 0
    public var fetchFailures = 0
    /// For each settled event, microseconds from its arrival to its settling (the reconcile lag).
    public var lags: [Int64] = []

    /// Adds another pass's settled counts (applied, superseded, unchanged) and lags to this one.
    public mutating func addSettled(_ other: ReconcileReport) {
        applied += other.applied
        superseded += other.superseded
        unchanged += other.unchanged
        lags += other.lags
    }

    public init() {}
}

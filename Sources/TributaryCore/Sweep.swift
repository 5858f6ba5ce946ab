/// One full sweep of one polled resource: an enumeration of every record, compared with the mirror.
public struct Sweep: Sendable, Equatable {
    public enum Status: String, Sendable {
        /// Enumerating (or interrupted: the next sweep of the resource resumes it).
        case running
        /// Enumerated every record without an error; deletions were proposed.
        case complete
        /// Ended with an anomaly (a result cap, a cursor going backwards): what it saw is kept, no deletion proposed.
        case incomplete
        /// Ended with an error: what it saw is kept, no deletion proposed.
        case failed
    }

    public var generation: Int64
    public var connection: String
    public var resource: String
    public var recordType: String
    public var startedAt: Int64
    public var finishedAt: Int64?
    public var status: Status
    public var error: String?
    public var cursor: PollCursor
    public var pages: Int
    /// Records the enumeration returned.
    public var seen: Int
    /// Drift: records the provider has that the mirror lacked.
    public var missing: Int
    /// Drift: records the mirror held at an older version (or with other content, or live when deleted).
    public var stale: Int
    /// Drift: live mirror records the enumeration did not return (suspected deleted, each confirmed by a fetch).
    public var extra: Int
    /// Suspected deletions the provider confirmed (404/410 on fetch), now tombstones.
    public var confirmedDeleted: Int

    public init(
        generation: Int64, connection: String, resource: String, recordType: String, startedAt: Int64,
        finishedAt: Int64? = nil, status: Status, error: String? = nil, cursor: PollCursor, pages: Int, seen: Int,
        missing: Int, stale: Int, extra: Int, confirmedDeleted: Int
    ) {
        self.generation = generation
        self.connection = connection
        self.resource = resource
        self.recordType = recordType
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.status = status
        self.error = error
        self.cursor = cursor
        self.pages = pages
        self.seen = seen
        self.missing = missing
        self.stale = stale
        self.extra = extra
        self.confirmedDeleted = confirmedDeleted
    }
}

/// How one attempt to sweep a resource ended.
public enum SweepOutcome: Sendable, Equatable {
    /// The sweep as stored: `running` when cut short (it resumes next time), else how it ended.
    case ended(Sweep)
    /// Another process holds the sweep's lease (and is sweeping the resource).
    case skipped
    /// The store failed; the sweep, if begun, stays `running` and resumes next time.
    case storeFailed(String)

    public var sweep: Sweep? {
        if case .ended(let sweep) = self { sweep } else { nil }
    }
}

/// One resource's sweep attempt: `reconcile --full` reports one per sweepable resource.
public struct SweepRun: Sendable, Equatable {
    public var connection: String
    public var resource: String
    public var outcome: SweepOutcome

    public init(connection: String, resource: String, outcome: SweepOutcome) {
        self.connection = connection
        self.resource = resource
        self.outcome = outcome
    }
}

/// One resource's poll state as the scheduler and `status` see it.
public struct PollState: Sendable, Equatable {
    public var connection: String
    public var resource: String
    public var cursor: PollCursor
    public var lastRunStartedAt: Int64?
    public var lastRunFinishedAt: Int64?
    public var nextRunAt: Int64?
    public var lastError: String?
    public var lastAnomaly: String?
    public var pages: Int
    public var observations: Int
    /// When a run last logged a new event (engine clock): how fresh what this resource reads is.
    public var lastChangeAt: Int64?
    /// Runs in a row that read at least a full page, logged nothing new and left the cursor where it was.
    public var stalledRuns: Int

    public init(
        connection: String, resource: String, cursor: PollCursor, lastRunStartedAt: Int64? = nil,
        lastRunFinishedAt: Int64? = nil, nextRunAt: Int64? = nil, lastError: String? = nil,
        lastAnomaly: String? = nil, pages: Int, observations: Int, lastChangeAt: Int64? = nil, stalledRuns: Int = 0
    ) {
        self.lastChangeAt = lastChangeAt
        self.stalledRuns = stalledRuns
        self.connection = connection
        self.resource = resource
        self.cursor = cursor
        self.lastRunStartedAt = lastRunStartedAt
        self.lastRunFinishedAt = lastRunFinishedAt
        self.nextRunAt = nextRunAt
        self.lastError = lastError
        self.lastAnomaly = lastAnomaly
        self.pages = pages
        self.observations = observations
    }

    /// The newest change this resource has seen: the watermark (the provider's time of the latest change
    /// read) for a timestamp cursor, else when a run last logged something new (our clock).
    public var newestChangeAt: Int64? { cursor.watermark ?? lastChangeAt }
}

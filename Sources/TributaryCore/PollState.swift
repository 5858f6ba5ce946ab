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

    public init(
        connection: String, resource: String, cursor: PollCursor, lastRunStartedAt: Int64? = nil,
        lastRunFinishedAt: Int64? = nil, nextRunAt: Int64? = nil, lastError: String? = nil,
        lastAnomaly: String? = nil, pages: Int, observations: Int
    ) {
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
}

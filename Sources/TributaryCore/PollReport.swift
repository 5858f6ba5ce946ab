/// What one run of one resource did.
public struct PollReport: Sendable, Equatable {
    public var connection: String
    public var resource: String
    public var pages = 0
    public var observations = 0
    public var newEvents = 0
    public var anomalies: [CursorAnomaly] = []
    /// Another process held the lease: this run did nothing.
    public var skipped = false
    public var notModified = false
    public var error: String?

    public init(connection: String, resource: String) {
        self.connection = connection
        self.resource = resource
    }
}

public import TributaryCore

/// What `/v1`'s write routes ask of the service; the runtime answers with the checks the CLI's
/// commands make (the same URL guard, id rules and secret generation), so the two never disagree.
///
/// Each error is already an answer: a 400 naming the member at fault, a 404 for an unknown id, a 409
/// for an id taken, a 503 when the store cannot answer.
public protocol APIAdministration: Sendable {
    /// Adds a destination with a new signing secret; returns it with the secret, which is shown this once.
    func addDestination(_ request: DestinationRequest) async throws(APIError) -> (Destination, secret: String)
    /// Pauses (`active == false`) or resumes a destination.
    func setDestinationActive(id: String, _ active: Bool) async throws(APIError)
    /// A new signing secret beside the old ones; with `retireOld`, retires all but the newest and returns `nil`.
    func rotateDestinationSecret(id: String, retireOld: Bool) async throws(APIError) -> String?
    /// Removes a destination; returns how many pending deliveries were dropped with it.
    func removeDestination(id: String) async throws(APIError) -> Int
    /// Queues the records changed since `since` (or after log sequence `afterSeq`) again; returns how many.
    func replayDeliveries(destination: String, since: Int64?, afterSeq: Int64?) async throws(APIError) -> Int
    /// Sends dead deliveries again; returns how many were queued.
    func retryDeliveries(ids: [Int64], destination: String?) async throws(APIError) -> Int
    /// A one-time link that logs a browser into the dashboard and opens `next` (a path under `/ui`).
    func dashboardLink(next: String) -> (path: String, expiresAt: Int64)
}

/// `POST /v1/destinations`'s body, checked for shape (the runtime checks the URL and the ids).
public struct DestinationRequest: Sendable {
    public var id: String?
    public var url: String
    public var tenant: String?
    public var connection: String?
    public var kinds: [Destination.Kind]
    public var recordTypes: [String]
}

/// Where one connection stands, read in one transaction: what `tributary status` and
/// `GET /v1/status` show.
public struct ConnectionStatus: Sendable, Equatable {
    public var connection: Connection
    /// Events by status (a status with none is absent).
    public var events: [EventStatus: Int]
    /// The connection's rate-limit budget as its last poll run saved it (a JSON object), if any.
    public var rateLimit: JSONValue?
    /// Every polled resource's cursor, runs and errors, by resource name.
    public var resources: [PollState]
    /// The latest sweep of each swept resource, by resource name.
    public var sweeps: [Sweep]
    /// The connection's OAuth grant, if it has one (its tokens are never shown).
    public var oauth: OAuthGrant?
    /// The connection's webhook subscription at its provider, if one was made.
    public var subscription: Subscription?
    /// When its last webhook came, and whether they went silent while polls found changes.
    public var webhooks: WebhookFreshness?

    public init(
        connection: Connection, events: [EventStatus: Int], rateLimit: JSONValue?, resources: [PollState], sweeps: [Sweep],
        oauth: OAuthGrant? = nil, subscription: Subscription? = nil, webhooks: WebhookFreshness? = nil
    ) {
        self.webhooks = webhooks
        self.connection = connection
        self.events = events
        self.rateLimit = rateLimit
        self.resources = resources
        self.sweeps = sweeps
        self.oauth = oauth
        self.subscription = subscription
    }
}

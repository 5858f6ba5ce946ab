/// A connection's webhook subscription at its provider, as the renewal service keeps it.
public struct Subscription: Sendable, Equatable {
    public enum State: String, Sendable {
        case active
        /// The last create or renewal failed; retried after `retryAt`.
        case failing
        /// Deleted (connections unsubscribe): kept only to say so.
        case removed
    }

    /// What a provider's lifecycle notice asked for; done on the renewal service's next pass.
    public enum Action: String, Sendable {
        case renew, recreate, poll
    }

    public var connection: String
    public var subscriptionId: String?
    /// Microseconds since the epoch; `nil`: it does not expire.
    public var expiresAt: Int64?
    public var state: State
    public var action: Action?
    public var reason: String?
    public var failures: Int
    public var retryAt: Int64?
    public var createdAt: Int64?
    public var renewedAt: Int64?

    public init(
        connection: String, subscriptionId: String?, expiresAt: Int64?, state: State, action: Action?, reason: String?,
        failures: Int, retryAt: Int64?, createdAt: Int64?, renewedAt: Int64?
    ) {
        self.connection = connection
        self.subscriptionId = subscriptionId
        self.expiresAt = expiresAt
        self.state = state
        self.action = action
        self.reason = reason
        self.failures = failures
        self.retryAt = retryAt
        self.createdAt = createdAt
        self.renewedAt = renewedAt
    }

    /// The public shape, in `connections show` and `status`.
    public var json: JSONValue {
        func time(_ t: Int64?) -> JSONValue { t.map { .string(Timestamp.rfc3339(microseconds: $0)) } ?? .null }
        return .object([
            ("id", subscriptionId.map(JSONValue.string) ?? .null), ("state", .string(state.rawValue)), ("expires_at", time(expiresAt)),
            ("pending_action", action.map { .string($0.rawValue) } ?? .null), ("failures", .number(String(failures))),
            ("reason", reason.map(JSONValue.string) ?? .null), ("retry_at", time(retryAt)), ("renewed_at", time(renewedAt)),
        ])
    }
}

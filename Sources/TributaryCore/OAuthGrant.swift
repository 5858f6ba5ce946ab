/// A connection's OAuth grant, with its tokens opened: what the token source renews and `status` shows.
public struct OAuthGrant: Sendable, Equatable {
    public enum State: String, Sendable {
        case active
        /// The provider refused the refresh token (`invalid_grant`): the customer must authorize again;
        /// polls and fetches of the connection wait until then.
        case reauthRequired = "reauth_required"
    }

    public var connection: String
    public var accessToken: String?
    public var refreshToken: String?
    /// Microseconds since the epoch; `nil` when the provider gave no lifetime.
    public var expiresAt: Int64?
    public var scope: String?
    /// Raised by every committed renewal: a renewal commits only over the generation it read.
    public var generation: Int64
    public var state: State
    /// Why the last renewal failed, or why authorization is needed again.
    public var reason: String?
    /// Renewals failed in a row; the next is not tried before `retryAt`.
    public var failures: Int
    public var retryAt: Int64?
    public var refreshedAt: Int64?

    public init(
        connection: String, accessToken: String?, refreshToken: String?, expiresAt: Int64?, scope: String?, generation: Int64,
        state: State, reason: String?, failures: Int, retryAt: Int64?, refreshedAt: Int64?
    ) {
        self.connection = connection
        self.accessToken = accessToken
        self.refreshToken = refreshToken
        self.expiresAt = expiresAt
        self.scope = scope
        self.generation = generation
        self.state = state
        self.reason = reason
        self.failures = failures
        self.retryAt = retryAt
        self.refreshedAt = refreshedAt
    }
}

/// What a token endpoint granted.
public struct TokenGrant: Sendable, Equatable {
    public var accessToken: String
    /// `nil`: the provider did not rotate it (the one held stays valid).
    public var refreshToken: String?
    /// Microseconds since the epoch.
    public var expiresAt: Int64?
    public var scope: String?
    /// The account the grant is for, where the manifest says where the token response names it.
    public var account: String?

    public init(accessToken: String, refreshToken: String?, expiresAt: Int64?, scope: String?, account: String? = nil) {
        self.accessToken = accessToken
        self.refreshToken = refreshToken
        self.expiresAt = expiresAt
        self.scope = scope
        self.account = account
    }
}

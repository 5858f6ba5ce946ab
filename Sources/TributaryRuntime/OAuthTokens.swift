import Foundation
public import Logging
import Synchronization
public import TributaryCore
public import TributaryProviders
public import TributaryStore
public import TributaryUpstream

/// Every OAuth connection's access token, renewed exactly once however many requests and processes
/// need it at the same time.
///
/// A renewal is single-flight twice over: in this process one task per connection does it and every
/// caller awaits that task; across processes the lease `oauth:<connection>` admits one renewer, and the
/// others wait for its commit. The renewer reads the grant again under the lease (a renewal that
/// finished meanwhile is used, not repeated), calls the token endpoint, and commits the new tokens with
/// a compare-and-set on the grant's generation **before** anyone uses them: a rotated refresh token is
/// never held only in memory. `invalid_grant` marks the connection `reauth_required` (its polls and
/// fetches fail at once, without calling the provider, until the customer authorizes again); any
/// other failure (a 5xx, an HTML page, an answer without `access_token`) backs off, and `status` says why.
public final class OAuthTokens: AccessTokens {
    let store: Store
    let transport: any UpstreamTransport
    let clock: EngineClock
    let logger: Logger
    let holder: String
    private let flights = Mutex<[String: Task<String, any Error>]>([:])
    /// How long a failed renewal waits before the next try (tests that check the wait make it long).
    let backoff: Backoff
    /// How long a renewer may hold the lease (a renewal is one HTTP request, under the transport's timeout).
    static let leaseTTL: Duration = .seconds(45)
    /// How long a caller waits for another process's renewal before giving up on this request.
    static let waitForOther: Duration = .seconds(90)

    public init(
        store: Store, transport: any UpstreamTransport, clock: EngineClock, logger: Logger, holder: String = LeaseHolder.current(),
        backoff: Backoff = Backoff(base: .seconds(2), cap: .seconds(300))
    ) {
        self.backoff = backoff
        self.store = store
        self.transport = transport
        self.clock = clock
        self.logger = logger
        self.holder = holder
    }

    public func renewing(for connection: Connection, api: ProviderManifest.API, baseURL: String) -> RenewingToken {
        RenewingToken(
            current: { try await self.current(connection, api: api, baseURL: baseURL) },
            rejected: { token in try await self.rejected(token, connection: connection, api: api, baseURL: baseURL) }
        )
    }

    /// A token valid now: the stored one unless it expires within the manifest's skew.
    public func current(_ connection: Connection, api: ProviderManifest.API, baseURL: String) async throws -> String {
        let grant = try await store.oauthGrant(connection: connection.id)
        if let grant, let access = usable(grant, api: api) { return access }
        if let grant, grant.state == .reauthRequired { throw Self.reauth(connection, grant.reason) }
        return try await renew(connection, api: api, baseURL: baseURL, seen: grant?.generation, force: false)
    }

    /// The provider refused `token` with 401: the renewed one (renewed once for all who saw the refusal).
    public func rejected(_ token: String, connection: Connection, api: ProviderManifest.API, baseURL: String) async throws -> String {
        let grant = try await store.oauthGrant(connection: connection.id)
        if let grant, grant.accessToken != token, let access = usable(grant, api: api) { return access }
        return try await renew(connection, api: api, baseURL: baseURL, seen: grant?.generation, force: true)
    }

    /// The grant's access token if it is active and outlives the skew.
    func usable(_ grant: OAuthGrant, api: ProviderManifest.API) -> String? {
        guard grant.state == .active, let access = grant.accessToken else { return nil }
        if let expiresAt = grant.expiresAt {
            var skew = Int64(api.auth.oauth?.refreshSkew ?? ProviderManifest.API.Auth.OAuth.defaultRefreshSkew) * 1_000_000
            // A token that lives shorter than twice the skew (Graph's and some APIs' minutes-long ones)
            // is renewed in the second half of its life, not at every request.
            if let issued = grant.refreshedAt, expiresAt > issued { skew = min(skew, (expiresAt - issued) / 2) }
            guard expiresAt - skew > clock.now() else { return nil }
        }
        return access
    }

    /// One renewal per connection in this process at a time; every caller meanwhile awaits it.
    func renew(_ connection: Connection, api: ProviderManifest.API, baseURL: String, seen: Int64?, force: Bool) async throws -> String {
        let (task, mine) = flights.withLock { flights -> (Task<String, any Error>, Bool) in
            if let running = flights[connection.id] { return (running, false) }
            let task = Task { try await self.renewHoldingLease(connection, api: api, baseURL: baseURL, seen: seen, force: force) }
            flights[connection.id] = task
            return (task, true)
        }
        guard mine else { return try await task.value }
        do {
            let token = try await task.value
            flights.withLock { $0[connection.id] = nil }
            return token
        } catch {
            flights.withLock { $0[connection.id] = nil }
            throw error
        }
    }

    /// Takes the lease `oauth:<connection>` (or waits for the process that holds it to commit), then renews.
    func renewHoldingLease(_ connection: Connection, api: ProviderManifest.API, baseURL: String, seen: Int64?, force: Bool) async throws -> String {
        let lease = "oauth:" + connection.id
        let deadline = clock.now() + Self.waitForOther.microseconds
        while try await !store.claimLease(lease, holder: holder, ttl: Self.leaseTTL, now: clock.now(), logger: logger) {
            // Another process renews: its commit is what this one waits for.
            try await clock.sleep(.milliseconds(100))
            if let grant = try await store.oauthGrant(connection: connection.id) {
                if grant.generation != seen, let access = usable(grant, api: api) { return access }
                if grant.state == .reauthRequired { throw Self.reauth(connection, grant.reason) }
            }
            guard clock.now() < deadline else {
                throw UpstreamError("another process has been renewing \(connection.id)'s access token for over \(Self.waitForOther.components.seconds) s")
            }
        }
        do {
            let token = try await renewLocked(connection, api: api, baseURL: baseURL, seen: seen, force: force)
            try? await store.releaseLease(lease, holder: holder)
            return token
        } catch {
            try? await store.releaseLease(lease, holder: holder)
            throw error
        }
    }

    /// Under the lease: reads the grant again, calls the token endpoint, commits, and only then answers.
    func renewLocked(_ connection: Connection, api: ProviderManifest.API, baseURL: String, seen: Int64?, force: Bool) async throws -> String {
        let now = clock.now()
        let grant = try await store.oauthGrant(connection: connection.id)
        if let grant {
            if grant.state == .reauthRequired { throw Self.reauth(connection, grant.reason) }
            // Renewed by another process (or an earlier flight) since this caller looked: use that one.
            if grant.generation != seen || !force, let access = usable(grant, api: api) { return access }
            if let retryAt = grant.retryAt, retryAt > now {
                throw UpstreamError("renewing \(connection.id)'s access token failed \(grant.failures) time(s) (\(grant.reason ?? "unknown")); next try at \(Timestamp.rfc3339(microseconds: retryAt))")
            }
        }
        guard let oauth = api.auth.oauth else { throw UpstreamError("\(connection.provider)'s manifest has no api.auth.oauth", refused: true) }
        guard let appID = connection.app, let app = try await store.app(id: appID) else {
            throw UpstreamError("connection \(connection.id) belongs to no app: its OAuth client (client id and secret) is the app's; add it with --app", refused: true)
        }
        let endpoint = TokenEndpoint(oauth: oauth, baseURL: baseURL, app: app, transport: transport, now: clock.now)
        let outcome: TokenEndpoint.Outcome
        switch api.auth.style {
        case .githubApp:
            // The connection's account is the installation id the app's deliveries name.
            outcome = try await GitHubAppToken.request(
                app: app, installation: connection.account ?? "", oauth: oauth, api: api, baseURL: baseURL, transport: transport, now: clock.now
            )
        case .oauth2:
            guard let refresh = grant?.refreshToken else {
                if let grant { try await store.noteOAuthFailure(connection: connection.id, generation: grant.generation, reason: "the provider gave no refresh token", retryAt: nil, reauth: true, now: now) }
                throw Self.reauth(connection, grant == nil ? "never authorized" : "the provider gave no refresh token")
            }
            outcome = try await endpoint.request([("grant_type", "refresh_token"), ("refresh_token", refresh)])
        case .oauth2ClientCredentials:
            var form = [("grant_type", "client_credentials")]
            if let scopes = oauth.scopes, !scopes.isEmpty { form.append(("scope", scopes.joined(separator: oauth.scopeSeparator ?? " "))) }
            outcome = try await endpoint.request(form)
        default:
            throw UpstreamError("auth style \(api.auth.style.rawValue) is not renewed by Tributary", refused: true)
        }
        switch outcome {
        case .granted(let granted):
            guard try await store.commitOAuthGrant(connection: connection.id, granted, over: grant?.generation, now: clock.now()) != nil else {
                // Lost the compare-and-set (the lease expired under a slow endpoint): the winner's token stands.
                if let winner = try await store.oauthGrant(connection: connection.id), let access = usable(winner, api: api) { return access }
                throw UpstreamError("\(connection.id)'s access token was renewed by another process meanwhile, and is not usable")
            }
            logger.info("access token renewed", metadata: ["connection": "\(connection.id)", "oauth.generation": "\((grant?.generation ?? 0) + 1)"])
            return granted.accessToken
        case .refused(let reason) where api.auth.style == .oauth2:
            if let grant {
                try await store.noteOAuthFailure(connection: connection.id, generation: grant.generation, reason: reason, retryAt: nil, reauth: true, now: clock.now())
            }
            logger.warning("access token refused: the customer must authorize again", metadata: ["connection": "\(connection.id)", "reason": "\(reason)"])
            throw Self.reauth(connection, reason)
        case .refused(let reason), .failed(let reason):
            // A client-credentials grant or an installation has no customer to authorize again: the
            // app's credentials are fixed by the operator (apps rotate-secret), which ends the backoff.
            var random = SplitMix64(seed: UInt64(truncatingIfNeeded: clock.now()))
            let delay = backoff.delay(attempt: grant?.failures ?? 0, random: 0.5 + random.nextUnit() / 2)
            let retryAt = clock.now() + delay.microseconds
            if let grant {
                try await store.noteOAuthFailure(connection: connection.id, generation: grant.generation, reason: reason, retryAt: retryAt, reauth: false, now: clock.now())
            }
            logger.warning("cannot renew access token; backing off", metadata: [
                "connection": "\(connection.id)", "reason": "\(reason)", "retry_at": "\(Timestamp.rfc3339(microseconds: retryAt))",
            ])
            throw UpstreamError("renewing \(connection.id)'s access token failed: \(reason)")
        }
    }

    /// Revokes the connection's grant at the provider (RFC 7009) when its manifest names a `revokeURL`:
    /// the refresh token when there is one (which ends the whole grant at most providers), else the
    /// access token.
    /// - Returns: a sentence for the operator, or `nil` when there is nothing to revoke.
    public func revoke(_ connection: Connection, api: ProviderManifest.API, baseURL: String) async -> String? {
        guard api.auth.style == .oauth2, let oauth = api.auth.oauth, let revokeURL = oauth.revokeURL,
              let grant = try? await store.oauthGrant(connection: connection.id), grant.state == .active || grant.refreshToken != nil,
              let token = grant.refreshToken ?? grant.accessToken else { return nil }
        guard let appID = connection.app, let app = try? await store.app(id: appID) else {
            return "its grant was not revoked at the provider: the connection belongs to no app"
        }
        let endpoint = TokenEndpoint(oauth: oauth, baseURL: baseURL, app: app, transport: transport, now: clock.now)
        let said = await endpoint.revoke(token: token, hint: grant.refreshToken != nil ? "refresh_token" : "access_token", revokeURL: revokeURL)
        logger.notice("\(said)", metadata: ["connection": "\(connection.id)"])
        return said
    }

    static func reauth(_ connection: Connection, _ reason: String?) -> UpstreamError {
        UpstreamError(
            "connection \(connection.id) needs authorizing again (\(reason ?? "the provider refused its grant")): run tributary connections authorize \(connection.id)",
            refused: true
        )
    }
}

/// One provider's token endpoint, called with the app's client credentials.
struct TokenEndpoint {
    let oauth: ProviderManifest.API.Auth.OAuth
    let baseURL: String
    let app: ProviderApp
    let transport: any UpstreamTransport
    let now: @Sendable () -> Int64

    enum Outcome {
        case granted(TokenGrant)
        /// The grant is gone (`invalid_grant`, or the client itself refused): only a new authorization helps.
        case refused(String)
        /// Anything else: worth trying again later.
        case failed(String)
    }

    /// An endpoint URL of the manifest: absolute, or a path under the API base URL.
    static func resolve(_ url: String, baseURL: String) -> String {
        guard url.hasPrefix("/") else { return url }
        guard let components = URLComponents(string: baseURL), let scheme = components.scheme, let host = components.host else { return url }
        return "\(scheme)://\(host)\(components.port.map { ":\($0)" } ?? "")\(url)"
    }

    /// `form` as a request to `url` authenticated with the app's client (Basic or in the body, as the
    /// manifest says); `nil` when the app has no client id and secret.
    func clientRequest(_ form: [(String, String)], url: String) -> UpstreamRequest? {
        guard let clientID = app.clientID, let clientSecret = app.clientSecret else { return nil }
        var fields = form
        var headers: [(name: String, value: String)] = [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")]
        if oauth.clientAuth == .basic {
            // RFC 6749 §2.3.1: each part form-encoded before the Basic encoding.
            let pair = PercentEncoding.encode(clientID) + ":" + PercentEncoding.encode(clientSecret)
            headers.append(("Authorization", "Basic " + Data(pair.utf8).base64EncodedString()))
        } else {
            fields += [("client_id", clientID), ("client_secret", clientSecret)]
        }
        let body = fields.map { PercentEncoding.encode($0.0) + "=" + PercentEncoding.encode($0.1) }.joined(separator: "&")
        return UpstreamRequest(method: "POST", url: url, headers: headers, body: Array(body.utf8))
    }

    /// Revokes `token` at the manifest's `revokeURL` (RFC 7009).
    /// - Returns: one sentence for the operator saying what happened; never quotes the token.
    func revoke(token: String, hint: String, revokeURL: String) async -> String {
        let url = Self.resolve(revokeURL, baseURL: baseURL)
        guard let request = clientRequest([("token", token), ("token_type_hint", hint)], url: url) else {
            return "its grant was not revoked at the provider: app \(app.id) has no client_id and client_secret"
        }
        do {
            let response = try await transport.send(request)
            // RFC 7009 §2.2: 200 also for a token that was already invalid.
            guard (200..<300).contains(response.status) else {
                return "its grant was not revoked at the provider: \(OutboundGuard.redacted(url)) answered HTTP \(response.status)"
            }
            return "revoked its grant at the provider"
        } catch {
            return "its grant was not revoked at the provider: \(OutboundGuard.redacted(url)): \(UpstreamClient.cause(of: error))"
        }
    }

    func request(_ form: [(String, String)]) async throws -> Outcome {
        let url = Self.resolve(oauth.tokenURL, baseURL: baseURL)
        guard let request = clientRequest(form, url: url) else {
            return .failed("app \(app.id) has no client_id and client_secret (apps rotate-secret \(app.id) --credentials @FILE)")
        }
        let sentAt = now()
        let response: UpstreamResponse
        do {
            response = try await transport.send(request)
        } catch let refusal as UpstreamError where refusal.refused {
            throw refusal
        } catch {
            return .failed("token endpoint \(OutboundGuard.redacted(url)): \(UpstreamClient.cause(of: error))")
        }
        var outcome = Self.read(response, sentAt: sentAt, grantRefused: oauth.grantRefused)
        if case .granted(var grant) = outcome, let pointer = oauth.account.flatMap(JSONPointer.init), let json = JSONValue(parsing: response.body) {
            grant.account = pointer.resolve(in: json).flatMap { value -> String? in
                switch value {
                case .string(let s): s
                case .number(let n): n
                default: nil
                }
            }
            outcome = .granted(grant)
        }
        return outcome
    }

    /// Reads a token endpoint's answer (RFC 6749 §5.1 and §5.2); never quotes a token.
    static func read(_ response: UpstreamResponse, sentAt: Int64, grantRefused: ProviderManifest.Deleted? = nil) -> Outcome {
        let json = JSONValue(parsing: response.body)
        if (200..<300).contains(response.status) {
            guard case .object? = json else {
                let type = response.header("Content-Type") ?? "no content type"
                return .failed("token endpoint answered \(response.status) with a body that is not JSON (\(type))")
            }
            // RFC 6749 §5.1: a string; anything else is a broken answer, not a token.
            guard case .string(let access)? = json?["access_token"], !access.isEmpty else {
                return .failed("token endpoint answered \(response.status) without an access_token")
            }
            let lifetime: Int64? = switch json?["expires_in"] {
            // A fraction is cut; a number past Int64 (a hostile or broken endpoint) reads as no expiry
            // rather than trapping the process.
            case .number(let n)?: Int64(n) ?? Double(n).flatMap { $0.isFinite && abs($0) < 1e15 ? Int64($0) : nil }
            case .string(let s)?: Int64(s)
            default: nil
            }
            let refresh = json?["refresh_token"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
            let expiresAt = lifetime.flatMap { $0 > 0 && $0 < 10 * 365 * 86_400 ? sentAt + $0 * 1_000_000 : nil }
            return .granted(TokenGrant(accessToken: access, refreshToken: refresh, expiresAt: expiresAt, scope: json?["scope"]?.stringValue))
        }
        let code = json?["error"]?.stringValue
        let said = code.map { " (\(String($0.prefix(64))))" } ?? ""
        // Only the grant itself being refused sends the customer back to authorize; the app's client
        // refused (invalid_client, unauthorized_client) is the operator's to fix, for every customer at once.
        if [400, 401].contains(response.status), code == "invalid_grant" {
            return .refused("token endpoint answered \(response.status)\(said)")
        }
        if [400, 401].contains(response.status), let grantRefused, let json,
           let value = JSONPointer(grantRefused.pointer)?.resolve(in: json)?.stringValue, grantRefused.equals.contains(value) {
            return .refused("token endpoint answered \(response.status) (\(String(value.prefix(64))))")
        }
        if [400, 401].contains(response.status), let code, ["invalid_client", "unauthorized_client"].contains(code) {
            return .failed("token endpoint refused the app's client credentials (\(code)); fix them with apps rotate-secret APP --credentials @FILE")
        }
        return .failed("token endpoint answered HTTP \(response.status)\(said)")
    }
}

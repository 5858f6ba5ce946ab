import _CryptoExtras
import Foundation
import Crypto
import Synchronization
public import TributaryCore

/// The simulator's OAuth 2.0 authorization server, for the engine's per-customer auth.
///
/// It behaves like the strict providers: access tokens expire (`accessTokenSeconds`), every refresh
/// rotates the refresh token and the old one is dead at once (its reuse is `invalid_grant`, and
/// revokes the grant, as RFC 6819 §5.2.2.3 recommends), authorization codes are single-use and bound
/// to their redirect URI and PKCE challenge. Chaos answers (a 500, an HTML page, a 200 without an
/// `access_token`, `invalid_grant`) are queued by `POST /_sim/oauth/fail`.
public struct SimulatorOAuthConfiguration: Sendable, Equatable {
    /// Client id → client secret.
    public var clients: [String: String]
    public var accessTokenSeconds: Int64
    public var rotateRefreshTokens: Bool
    /// How long a rotated-away refresh token is still accepted (Auth0's "reuse interval", Okta's grace
    /// period): a client that crashed after the provider rotated, before it stored the new token, can
    /// still renew. 0: strict, reuse is `invalid_grant` at once.
    public var refreshReuseGraceSeconds: Int64
    /// Added to each token endpoint answer, after the grant changed and before the answer leaves: the
    /// window in which a client that dies loses the rotated token.
    public var tokenLatencyMilliseconds: Int
    /// The account a customer signs in to at `/oauth/authorize` unless `login_hint` names another; token
    /// responses of the code grant name it as `account_id`.
    public var account = "a1"
    /// GitHub Apps: app id → its public key (PEM). `POST /app/installations/{id}/access_tokens` buys an
    /// installation token with a JWT one of them signed (RS256), as GitHub does.
    public var githubApps: [String: String] = [:]
    /// The installation ids those apps have; another one is 404.
    public var installations: Set<String> = []

    public init(
        clients: [String: String], accessTokenSeconds: Int64 = 3600, rotateRefreshTokens: Bool = true,
        refreshReuseGraceSeconds: Int64 = 0, tokenLatencyMilliseconds: Int = 0
    ) {
        self.clients = clients
        self.accessTokenSeconds = accessTokenSeconds
        self.rotateRefreshTokens = rotateRefreshTokens
        self.refreshReuseGraceSeconds = refreshReuseGraceSeconds
        self.tokenLatencyMilliseconds = tokenLatencyMilliseconds
    }
}

/// What the OAuth server did: `GET /_sim/oauth`.
public struct SimulatorOAuthCounters: Sendable, Equatable {
    /// Refresh-token grants answered with new tokens.
    public var refreshes = 0
    public var codeExchanges = 0
    public var clientCredentials = 0
    /// Refresh tokens or codes refused (reused, unknown, revoked).
    public var invalidGrants = 0
    /// API requests refused because their access token had expired or was revoked.
    public var expiredRejections = 0
    /// Token requests answered by queued chaos.
    public var chaosAnswers = 0
    /// Grants revoked at `/oauth/revoke` (RFC 7009).
    public var revocations = 0
    /// GitHub App installation tokens issued.
    public var installationTokens = 0
    /// Installation token requests refused (a JWT unsigned, expired, too long-lived, or of no known app).
    public var refusedJWTs = 0

    public var json: JSONValue {
        func n(_ value: Int) -> JSONValue { .number(String(value)) }
        return .object([
            ("refreshes", n(refreshes)), ("code_exchanges", n(codeExchanges)), ("client_credentials", n(clientCredentials)),
            ("invalid_grants", n(invalidGrants)), ("expired_rejections", n(expiredRejections)), ("chaos_answers", n(chaosAnswers)),
            ("revocations", n(revocations)), ("installation_tokens", n(installationTokens)), ("refused_jwts", n(refusedJWTs)),
        ])
    }
}

final class SimulatorOAuth: Sendable {
    enum Chaos: String, Sendable {
        case serverError = "server-error"
        case html
        case noAccessToken = "no-access-token"
        case invalidGrant = "invalid-grant"
    }

    struct Code {
        var client: String
        var redirectURI: String
        var challenge: String?
        var scope: String?
        var account: String
        var expiresAt: Int64
    }

    struct State {
        var codes: [String: Code] = [:]
        /// Refresh token → grant id.
        var refreshTokens: [String: String] = [:]
        /// Access token → (grant id, expiry).
        var accessTokens: [String: (grant: String, expiresAt: Int64)] = [:]
        var grants: [String: (client: String, scope: String?)] = [:]
        var accounts: [String: String] = [:]
        var revokedGrants: Set<String> = []
        var chaos: [Chaos] = []
        var counters = SimulatorOAuthCounters()
    }

    let configuration: SimulatorOAuthConfiguration
    private let state = Mutex(State())

    init(configuration: SimulatorOAuthConfiguration) {
        self.configuration = configuration
    }

    var counters: SimulatorOAuthCounters { state.withLock { $0.counters } }

    static func token(_ prefix: String) -> String {
        var generator = SystemRandomNumberGenerator()
        return prefix + (0..<16).map { _ in String(format: "%02x", UInt8.random(in: .min ... .max, using: &generator)) }.joined()
    }

    /// `GET /oauth/authorize`: approves at once (the customer always clicks "Allow") and redirects with a code.
    func authorize(query: [(String, String)], now: Int64) -> (status: Int, location: String?, error: String?) {
        func value(_ name: String) -> String? { query.first { $0.0 == name }?.1 }
        guard value("response_type") == "code" else { return (400, nil, "unsupported_response_type") }
        guard let client = value("client_id"), configuration.clients[client] != nil else { return (400, nil, "invalid_client") }
        guard let redirect = value("redirect_uri"), let url = URLComponents(string: redirect), url.scheme != nil else {
            return (400, nil, "invalid_redirect_uri")
        }
        let challenge = value("code_challenge")
        if challenge != nil, value("code_challenge_method") != "S256" { return (400, nil, "invalid_request") }
        let code = Self.token("sim_code_")
        state.withLock { $0.codes[code] = Code(client: client, redirectURI: redirect, challenge: challenge, scope: value("scope"), account: value("login_hint") ?? configuration.account, expiresAt: now + 600_000_000) }
        var components = url
        var items = components.queryItems ?? []
        items.append(URLQueryItem(name: "code", value: code))
        if let state = value("state") { items.append(URLQueryItem(name: "state", value: state)) }
        components.queryItems = items
        return (302, components.string, nil)
    }

    /// `POST /oauth/token`: the authorization code, refresh token and client credentials grants.
    func token(form: [(String, String)], authorization: String?, now: Int64) -> (status: Int, body: String, contentType: String) {
        func value(_ name: String) -> String? { form.first { $0.0 == name }?.1 }
        func error(_ status: Int, _ code: String) -> (Int, String, String) { (status, #"{"error":"\#(code)"}"#, "application/json") }
        // Client authentication: HTTP Basic or the body, not both.
        var client: String?
        var secret: String?
        if let authorization, authorization.lowercased().hasPrefix("basic "),
           let decoded = Data(base64Encoded: String(authorization.dropFirst(6)).trimmingCharacters(in: .whitespaces)).flatMap({ String(data: $0, encoding: .utf8) }),
           let colon = decoded.firstIndex(of: ":") {
            client = String(decoded[..<colon]).removingPercentEncoding
            secret = String(decoded[decoded.index(after: colon)...]).removingPercentEncoding
            if value("client_secret") != nil { return error(400, "invalid_request") }
        } else {
            client = value("client_id")
            secret = value("client_secret")
        }
        guard let client, let secret, configuration.clients[client] == secret else { return error(401, "invalid_client") }

        return state.withLock { state -> (Int, String, String) in
            if !state.chaos.isEmpty {
                state.counters.chaosAnswers += 1
                switch state.chaos.removeFirst() {
                case .serverError: return (500, #"{"error":"server_error"}"#, "application/json")
                case .html: return (200, "<html><body>Sign in to continue</body></html>", "text/html")
                case .noAccessToken: return (200, #"{"token_type":"Bearer","expires_in":3600}"#, "application/json")
                case .invalidGrant:
                    state.counters.invalidGrants += 1
                    return (400, #"{"error":"invalid_grant"}"#, "application/json")
                }
            }
            let grant: String
            var refresh: String?
            switch value("grant_type") {
            case "authorization_code":
                guard let code = value("code"), let pending = state.codes.removeValue(forKey: code), pending.expiresAt > now,
                      pending.client == client, pending.redirectURI == value("redirect_uri") else {
                    state.counters.invalidGrants += 1
                    return (400, #"{"error":"invalid_grant"}"#, "application/json")
                }
                if let challenge = pending.challenge {
                    let verifier = value("code_verifier") ?? ""
                    let digest = Data(SHA256.hash(data: Data(verifier.utf8))).base64EncodedString()
                        .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
                    guard digest == challenge else {
                        state.counters.invalidGrants += 1
                        return (400, #"{"error":"invalid_grant"}"#, "application/json")
                    }
                }
                grant = Self.token("grant_")
                state.grants[grant] = (client, pending.scope)
                state.accounts[grant] = pending.account
                refresh = Self.token("sim_rt_")
                state.counters.codeExchanges += 1
            case "refresh_token":
                guard let presented = value("refresh_token"), let entry = state.refreshTokens[presented] else {
                    state.counters.invalidGrants += 1
                    return (400, #"{"error":"invalid_grant"}"#, "application/json")
                }
                // A rotated-away token is "rotated:<rotated at>:<grant>": accepted within the grace, else
                // its reuse means it leaked, and the whole grant is revoked.
                var owner = entry
                if entry.hasPrefix("rotated:") {
                    let parts = entry.split(separator: ":", maxSplits: 2).map(String.init)
                    owner = parts.count == 3 ? parts[2] : ""
                    let rotatedAt = parts.count == 3 ? Int64(parts[1]) ?? 0 : 0
                    guard now - rotatedAt <= configuration.refreshReuseGraceSeconds * 1_000_000 else {
                        state.revokedGrants.insert(owner)
                        state.counters.invalidGrants += 1
                        return (400, #"{"error":"invalid_grant"}"#, "application/json")
                    }
                }
                guard state.grants[owner]?.client == client, !state.revokedGrants.contains(owner) else {
                    state.counters.invalidGrants += 1
                    return (400, #"{"error":"invalid_grant"}"#, "application/json")
                }
                grant = owner
                if configuration.rotateRefreshTokens {
                    if !entry.hasPrefix("rotated:") { state.refreshTokens[presented] = "rotated:\(now):" + owner }
                    refresh = Self.token("sim_rt_")
                }
                state.counters.refreshes += 1
            case "client_credentials":
                grant = "client:" + client
                state.grants[grant] = (client, value("scope"))
                state.counters.clientCredentials += 1
            default:
                return (400, #"{"error":"unsupported_grant_type"}"#, "application/json")
            }
            if let refresh { state.refreshTokens[refresh] = grant }
            let access = Self.token("sim_at_")
            state.accessTokens[access] = (grant, now + configuration.accessTokenSeconds * 1_000_000)
            var fields = [#""access_token":"\#(access)""#, #""token_type":"Bearer""#, #""expires_in":\#(configuration.accessTokenSeconds)"#]
            if let refresh { fields.append(#""refresh_token":"\#(refresh)""#) }
            if let scope = state.grants[grant]?.scope { fields.append(#""scope":\#(JSONValue.string(scope).jsonText)"#) }
            if let account = state.accounts[grant] { fields.append(#""account_id":\#(JSONValue.string(account).jsonText)"#) }
            return (200, "{" + fields.joined(separator: ",") + "}", "application/json")
        }
    }

    /// `POST /app/installations/{installation}/access_tokens`: a GitHub App's JWT (RS256, `iat` at most
    /// 60 s ahead, `exp` within 10 minutes of it and not past, `iss` a known app) buys a token for one
    /// of its installations, answered 201 as GitHub does. Queued chaos answers here too.
    func installationToken(installation: String, authorization: String?, now: Int64) -> (status: Int, body: String, contentType: String) {
        func refuse(_ status: Int, _ message: String) -> (Int, String, String) {
            state.withLock { $0.counters.refusedJWTs += status == 401 ? 1 : 0 }
            return (status, #"{"message":\#(JSONValue.string(message).jsonText)}"#, "application/json")
        }
        guard let authorization, authorization.hasPrefix("Bearer ") else { return refuse(401, "A JSON web token could not be decoded") }
        let parts = authorization.dropFirst(7).split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, let header = Self.base64URLDecoded(parts[0]).flatMap({ JSONValue(parsing: Array($0)) }),
              let claims = Self.base64URLDecoded(parts[1]).flatMap({ JSONValue(parsing: Array($0)) }),
              let signature = Self.base64URLDecoded(parts[2]) else { return refuse(401, "A JSON web token could not be decoded") }
        guard header["alg"]?.stringValue == "RS256" else { return refuse(401, "'alg' must be RS256") }
        let issuer: String? = switch claims["iss"] {
        case .string(let s)?: s
        case .number(let n)?: n
        default: nil
        }
        guard let issuer, let pem = configuration.githubApps[issuer], let key = try? _RSA.Signing.PublicKey(pemRepresentation: pem) else {
            return refuse(401, "'Issuer' claim ('iss') must be an Integer")
        }
        guard key.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: signature), for: Data((parts[0] + "." + parts[1]).utf8), padding: .insecurePKCS1v1_5) else {
            return refuse(401, "A JSON web token could not be decoded")
        }
        let seconds = now / 1_000_000
        guard case .number(let iatText)? = claims["iat"], case .number(let expText)? = claims["exp"], let iat = Int64(iatText), let exp = Int64(expText) else {
            return refuse(401, "'Expiration time' claim ('exp') must be a numeric value")
        }
        guard iat <= seconds + 60, exp > seconds, exp - iat <= 600 else {
            return refuse(401, "'Expiration time' claim ('exp') is too far in the future or already past")
        }
        guard configuration.installations.contains(installation) else { return refuse(404, "Not Found") }
        return state.withLock { state -> (Int, String, String) in
            if !state.chaos.isEmpty {
                state.counters.chaosAnswers += 1
                switch state.chaos.removeFirst() {
                case .serverError: return (500, #"{"message":"Server Error"}"#, "application/json")
                case .html: return (200, "<html><body>Unicorn!</body></html>", "text/html")
                case .noAccessToken: return (201, #"{"expires_at":"2099-01-01T00:00:00Z"}"#, "application/json")
                case .invalidGrant: return (404, #"{"message":"Not Found"}"#, "application/json")
                }
            }
            let grant = "installation:" + installation
            state.grants[grant] = (issuer, nil)
            let access = Self.token("ghs_")
            let expiresAt = now + configuration.accessTokenSeconds * 1_000_000
            state.accessTokens[access] = (grant, expiresAt)
            state.counters.installationTokens += 1
            return (201, #"{"token":"\#(access)","expires_at":"\#(Timestamp.rfc3339(microseconds: expiresAt - expiresAt % 1_000_000))","repository_selection":"all"}"#, "application/json")
        }
    }

    static func base64URLDecoded(_ text: String) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        return Data(base64Encoded: base64)
    }

    /// `POST /oauth/revoke` (RFC 7009): revokes the grant of a refresh or access token; always 200.
    func revoke(form: [(String, String)]) {
        guard let token = form.first(where: { $0.0 == "token" })?.1 else { return }
        state.withLock { state in
            if let grant = state.refreshTokens[token] ?? state.accessTokens[token]?.grant {
                state.revokedGrants.insert(grant)
                state.counters.revocations += 1
            }
        }
    }

    enum Access {
        case valid(grant: String)
        case expired
        case unknown
    }

    /// Whether `token` is a live access token of this server.
    func check(_ token: String, now: Int64) -> Access {
        state.withLock { state in
            guard let entry = state.accessTokens[token] else { return .unknown }
            guard entry.expiresAt > now, !state.revokedGrants.contains(entry.grant) else {
                state.counters.expiredRejections += 1
                return .expired
            }
            return .valid(grant: entry.grant)
        }
    }

    /// A grant made as if a customer had authorized `client` just now: its access and refresh tokens.
    func issueGrant(client: String, scope: String?, now: Int64) -> (accessToken: String, refreshToken: String) {
        let grant = Self.token("grant_"), access = Self.token("sim_at_"), refresh = Self.token("sim_rt_")
        state.withLock { state in
            state.grants[grant] = (client, scope)
            state.refreshTokens[refresh] = grant
            state.accessTokens[access] = (grant, now + configuration.accessTokenSeconds * 1_000_000)
        }
        return (access, refresh)
    }

    func queueChaos(_ chaos: Chaos, count: Int) {
        state.withLock { $0.chaos.append(contentsOf: Array(repeating: chaos, count: count)) }
    }

    /// Ends every access token now (the provider revoked them, or our clocks disagree): the next call with one is 401.
    func expireAccessTokens() {
        state.withLock { state in
            for (token, entry) in state.accessTokens { state.accessTokens[token] = (entry.grant, 0) }
        }
    }
}

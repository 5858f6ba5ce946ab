import Foundation
import Hummingbird
public import Logging
public import TributaryCore
public import TributaryProviders
public import TributaryStore
public import TributaryUpstream

/// A customer's authorization of an OAuth connection: `connections authorize` starts it (a URL for the
/// customer, valid once, for ten minutes), the provider sends the browser back to `GET /oauth/callback`,
/// which exchanges the code for the connection's first grant.
///
/// `state` is 32 random bytes, kept only as its digest and deleted when used, so a callback replayed
/// or forged for another connection finds nothing; the PKCE verifier is sealed like every secret.
public enum OAuthFlow {
    /// How long an authorization URL stays valid.
    public static let lifetime: Int64 = 600 * 1_000_000

    /// The connection's OAuth endpoints and API base (an override of the connection's, or the manifest's).
    static func endpoints(
        store: Store, catalog: ManifestCatalog, connection: Connection
    ) async throws(OperationError) -> (oauth: ProviderManifest.API.Auth.OAuth, api: ProviderManifest.API, baseURL: String, app: ProviderApp) {
        guard let manifestAPI = catalog.providers[connection.provider]?.manifest.api, manifestAPI.auth.oauth != nil,
              manifestAPI.auth.style == .oauth2 || !manifestAPI.auth.style.isOAuth else {
            throw .usage("\(connection.provider)'s manifest does not authorize connections with OAuth (api.auth.style oauth2, or api.auth.oauth)")
        }
        guard let appID = connection.app else {
            throw .usage("connection \(connection.id) belongs to no app: add it with --app, whose client id and secret the authorization uses")
        }
        let app: ProviderApp
        let credentials: (baseURL: String?, token: String?, authorized: Bool)
        do {
            guard let found = try await store.app(id: appID) else { throw OperationError.failure("no app \(appID)") }
            app = found
            credentials = try await store.apiCredentials(connection: connection.id)
        } catch let error as OperationError {
            throw error
        } catch {
            throw .failure("\(error)")
        }
        let override = credentials.baseURL
        let api = manifestAPI.resolved(for: connection, hasToken: credentials.token != nil)
        guard api.auth.style == .oauth2, let oauth = api.auth.oauth else {
            throw .usage(credentials.token != nil
                ? "connection \(connection.id) was given an API token, which it uses instead of OAuth; remove it and add it again without --api-token to authorize it"
                : "\(connection.provider)'s manifest gives its apps' connections \(api.auth.style.rawValue), which needs no customer to authorize")
        }
        guard app.clientID != nil, app.clientSecret != nil else {
            throw .usage("app \(app.id) has no client_id and client_secret; add them with apps rotate-secret \(app.id) --credentials @FILE")
        }
        let baseURL = override ?? ((try? URLTemplate.fillBaseURL(api.baseURL, account: connection.account ?? "").get()) ?? api.baseURL)
        return (oauth, api, baseURL, app)
    }

    /// Stores a pending authorization and returns the URL to send the customer to.
    public static func start(
        store: Store, catalog: ManifestCatalog, connection: Connection, redirectURI: String, now: Int64
    ) async throws(OperationError) -> String {
        guard let redirect = URLComponents(string: redirectURI), let host = redirect.host, !host.isEmpty, redirect.path.hasSuffix("/oauth/callback"),
              redirect.scheme == "https" || (redirect.scheme == "http" && ["127.0.0.1", "localhost", "::1", "[::1]"].contains(host)) else {
            throw .usage("--redirect-uri must be an https URL (http only on loopback) ending in /oauth/callback, not \"\(redirectURI)\"")
        }
        let (oauth, _, baseURL, app) = try await endpoints(store: store, catalog: catalog, connection: connection)
        let state = randomToken()
        let verifier = oauth.pkce == true ? randomToken() : nil
        do {
            try await store.addOAuthAuthorization(state: state, connection: connection.id, verifier: verifier, redirectURI: redirectURI, expiresAt: now + lifetime, now: now)
        } catch {
            throw .failure(error.message)
        }
        var query: [(String, String)] = [
            ("response_type", "code"), ("client_id", app.clientID ?? ""), ("redirect_uri", redirectURI), ("state", state),
        ]
        if let scopes = oauth.scopes, !scopes.isEmpty { query.append(("scope", scopes.joined(separator: oauth.scopeSeparator ?? " "))) }
        if let verifier {
            query.append(("code_challenge", base64URL(TokenDigest(of: verifier).bytes)))
            query.append(("code_challenge_method", "S256"))
        }
        for (name, value) in (oauth.authorizeParams ?? [:]).sorted(by: { $0.key < $1.key }) { query.append((name, value)) }
        let authorize = TokenEndpoint.resolve(oauth.authorizeURL ?? "", baseURL: baseURL)
        return authorize + (authorize.contains("?") ? "&" : "?") + query.map { PercentEncoding.encode($0.0) + "=" + PercentEncoding.encode($0.1) }.joined(separator: "&")
    }

    /// The callback's answer: the connection authorized, or why not (a status and one sentence for the browser).
    public enum Outcome: Sendable, Equatable {
        case authorized(connection: String)
        case refused(status: Int, message: String)
    }

    /// Takes the pending authorization `state` names (once) and exchanges `code` for the connection's grant.
    public static func finish(
        store: Store, catalog: ManifestCatalog, transport: any UpstreamTransport, query: [(String, String)], now: @escaping @Sendable () -> Int64, logger: Logger
    ) async -> Outcome {
        func value(_ name: String) -> String? { query.first { $0.0 == name }?.1 }
        guard let state = value("state"), !state.isEmpty, state.utf8.count <= 512 else {
            return .refused(status: 400, message: "This authorization link has no state. Start again from the application.")
        }
        let pending: (connection: String, verifier: String?, redirectURI: String)?
        do {
            pending = try await store.takeOAuthAuthorization(state: state, now: now())
        } catch {
            logger.error("cannot read pending authorizations", metadata: ["error": "\(error)"])
            return .refused(status: 503, message: "The service cannot complete the authorization now. Try again in a minute.")
        }
        guard let pending else {
            logger.warning("OAuth callback with an unknown, used or expired state")
            return .refused(status: 400, message: "This authorization link is unknown, already used or expired (links last 10 minutes). Start again from the application.")
        }
        if let error = value("error") {
            logger.notice("the customer or the provider declined the authorization", metadata: ["connection": "\(pending.connection)", "error": "\(error.prefix(64))"])
            return .refused(status: 400, message: "The authorization was not granted (\(error.prefix(64).filter { $0.isLetter || $0 == "_" })). Start again from the application.")
        }
        guard let code = value("code"), !code.isEmpty, code.utf8.count <= 4096 else {
            return .refused(status: 400, message: "The provider sent no authorization code. Start again from the application.")
        }
        do {
            guard let connection = try await store.connection(id: pending.connection) else {
                return .refused(status: 400, message: "The connection was removed meanwhile.")
            }
            let (oauth, _, baseURL, app) = try await endpoints(store: store, catalog: catalog, connection: connection)
            var form = [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", pending.redirectURI)]
            if let verifier = pending.verifier { form.append(("code_verifier", verifier)) }
            let endpoint = TokenEndpoint(oauth: oauth, baseURL: baseURL, app: app, transport: transport, now: now)
            switch try await endpoint.request(form) {
            case .granted(let grant):
                // The customer may sign in to another account than the one the connection is for: its
                // data must not reach this tenant.
                if oauth.account != nil, grant.account == nil || grant.account != connection.account {
                    logger.warning("authorization for another account refused", metadata: ["connection": "\(connection.id)", "account": "\(grant.account ?? "none")"])
                    return .refused(status: 400, message: "You authorized account \(grant.account ?? "(not named)"), but this connection is for account \(connection.account ?? "(none)"). Sign in to that account and start again from the application.")
                }
                let before = try await store.oauthGrant(connection: connection.id)
                _ = try await store.commitOAuthGrant(connection: connection.id, grant, over: nil, now: now())
                logger.notice("connection authorized", metadata: ["connection": "\(connection.id)"])
                if before != nil {
                    // Authorized again (the grant was refused or revoked): a subscription made with the old
                    // grant may be gone with it, and deliveries meanwhile went nowhere. The renewal service
                    // makes it again and polls for the gap (nothing happens without a subscription).
                    try await store.requestSubscriptionAction(connection: connection.id, .recreate, now: now())
                }
                return .authorized(connection: connection.id)
            case .refused(let reason), .failed(let reason):
                logger.warning("authorization code exchange failed", metadata: ["connection": "\(connection.id)", "reason": "\(reason)"])
                return .refused(status: 502, message: "The provider did not grant access: \(reason). Start again from the application.")
            }
        } catch {
            logger.error("authorization code exchange failed", metadata: ["connection": "\(pending.connection)", "error": "\(error)"])
            return .refused(status: 502, message: "The authorization could not be completed. Start again from the application.")
        }
    }

    /// 32 bytes from the system's CSPRNG, base64url without padding (43 characters).
    static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return base64URL((0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// `GET /oauth/callback`: answered in plain text (nothing from the request is reflected as markup).
    static func addCallback<Context: RequestContext>(
        to router: Router<Context>, store: Store, catalog: ManifestCatalog, transport: any UpstreamTransport, now: @escaping @Sendable () -> Int64
    ) {
        router.get("/oauth/callback") { request, context in
            let query = FormCoding.pairs(Array((request.uri.query ?? "").utf8)).map { ($0.name, $0.value) }
            let outcome = await finish(store: store, catalog: catalog, transport: transport, query: query, now: now, logger: context.logger)
            let (status, text): (Int, String) = switch outcome {
            case .authorized(let connection): (200, "Authorized: connection \(connection) is connected. You can close this page.\n")
            case .refused(let status, let message): (status, message + "\n")
            }
            var buffer = ByteBuffer()
            buffer.writeString(text)
            return Response(
                status: .init(code: status),
                headers: [.contentType: "text/plain; charset=utf-8", .cacheControl: "no-store", .init("Referrer-Policy")!: "no-referrer"],
                body: .init(byteBuffer: buffer)
            )
        }
    }
}

import Foundation
import HTTPTypes
import Logging
import ProviderSimulator
import Synchronization
import Testing
import TributaryCore
import TributaryIntegrationTesting
import TributaryProviders
import TributaryRuntime
import TributaryScheduling
import TributaryStore
import TributaryTesting
import TributaryUpstream

/// Per-customer OAuth against the simulator's authorization server: a token renewed exactly once
/// however many requests and processes need it, committed before use, refused grants marked for
/// reauthorization, bad token answers backed off, and no token in any log line.
@Suite("OAuth access tokens", .serialized)
struct OAuthTokenTests {
    static let client = (OAuthRig.client.id, OAuthRig.client.secret)

    static func providers(_ directory: URL) throws -> String { try OAuthRig.providers(directory) }

    /// One process's view: its own store handle, token source (its own lease holder) and clients.
    struct Process {
        let store: Store
        let tokens: OAuthTokens
        let client: UpstreamClient

        init(database: String, api: ProviderManifest.API, port: Int, logger: Logger) async throws {
            store = try Store(path: database, masterKey: TestSecrets.masterKey, logger: logger)
            let transport = HTTPTransport(outboundGuard: OutboundGuard(allowPrivate: true))
            // A failed renewal waits an hour: the test's check that nothing is tried within the wait
            // cannot be outrun by a slow machine.
            tokens = OAuthTokens(store: store, transport: transport, clock: .system, logger: logger, backoff: Backoff(base: .seconds(3600), cap: .seconds(3600)))
            let clients = UpstreamClients(transport: transport, clock: .system, accessTokens: tokens)
            let connection = try #require(try await store.connection(id: "c1"))
            client = clients.client(for: connection, api: api, baseURL: "http://127.0.0.1:\(port)", token: nil)
        }

        func get() async throws -> Int {
            try await client.send(UpstreamRequest(url: client.url("/v1/customer?limit=1")), priority: .incrementalPoll, logger: Logger(label: "quiet")).status
        }
    }

    /// Marks the stored access token expired by our clock (the refresh token stays the live one).
    static func expire(_ store: Store) async throws {
        let grant = try #require(try await store.oauthGrant(connection: "c1"))
        let stale = TokenGrant(accessToken: grant.accessToken ?? "", refreshToken: grant.refreshToken, expiresAt: EngineClock.system.now() - 1_000_000, scope: nil)
        _ = try await store.commitOAuthGrant(connection: "c1", stale, over: grant.generation, now: EngineClock.system.now())
    }

    @Test("50 requests on an expired token renew it once, in one process and across two; a 401 on an unexpired token renews once; failures back off; invalid_grant needs reauthorization; no token is logged")
    func renewal() async throws {
        let directory = try TestPaths.temporaryDirectory("oauth")
        defer { try? FileManager.default.removeItem(at: directory) }
        let catalog = try ManifestCatalog.loadValid(directory: try Self.providers(directory))
        let api = try #require(catalog.providers["simulator-oauth"]?.manifest.api)
        var configuration = SimulatorConfiguration()
        configuration.port = 0   // an ephemeral port: a fixed one collides with another test's simulator
        configuration.initialRecordsPerType = 5
        configuration.oauth = SimulatorOAuthConfiguration(clients: [Self.client.0: Self.client.1], accessTokenSeconds: 3600)
        let simulator = try ProviderSimulator(configuration: configuration, logger: SimulatorRig.logger)
        let log = CapturedLog()
        let logger = Logger(label: "oauth-test") { _ in log }
        let database = directory.appendingPathComponent("oauth.db").path

        try await SimulatorRig.withSimulator(simulator) { port in
            let setup = try await OAuthRig.authorizedConnection(database: database, simulator: simulator, port: port, logger: logger)
            let first = try #require(try await setup.oauthGrant(connection: "c1"))

            // One process, 50 requests at once on an expired token: one refresh, every request served.
            let a = try await Process(database: database, api: api, port: port, logger: logger)
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<50 { group.addTask { try await a.get() } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.count == 50 && statuses.allSatisfy { $0 == 200 }, "\(Set(statuses))")
            #expect(simulator.oauthCounters.refreshes == 1)
            let renewed = try #require(try await a.store.oauthGrant(connection: "c1"))
            #expect(renewed.generation == 2 && renewed.refreshToken != first.refreshToken && renewed.accessToken != first.accessToken)

            // Two processes, 25 requests each, on an expired token: still one refresh between them.
            try await Self.expire(setup)
            let b = try await Process(database: database, api: api, port: port, logger: logger)
            let both = try await withThrowingTaskGroup(of: Int.self) { group in
                for n in 0..<50 { group.addTask { try await (n % 2 == 0 ? a : b).get() } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(both.allSatisfy { $0 == 200 }, "\(Set(both))")
            #expect(simulator.oauthCounters.refreshes == 2, "the second process waited for the first one's commit")

            // The provider ends the token early: the 401s renew it once, and every request is sent again.
            simulator.expireAccessTokens()
            let after401 = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<20 { group.addTask { try await a.get() } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(after401.allSatisfy { $0 == 200 }, "\(Set(after401))")
            #expect(simulator.oauthCounters.refreshes == 3)
            #expect(simulator.oauthCounters.invalidGrants == 0, "a rotated refresh token was never presented twice")

            // Bad answers from the token endpoint: the request fails saying why, the grant records the
            // cause and a time before which nothing is tried, and the held refresh token stays usable.
            let bad: [(mode: String, says: String)] = [
                ("server-error", "HTTP 500"), ("html", "not JSON (text/html"), ("no-access-token", "without an access_token"),
            ]
            for row in bad {
                try await Self.expire(setup)
                simulator.failTokenRequests(row.mode)
                let answered = simulator.oauthCounters.chaosAnswers
                await #expect(throws: UpstreamError.self) { _ = try await a.get() }
                let grant = try #require(try await setup.oauthGrant(connection: "c1"))
                #expect(grant.failures == 1 && grant.reason?.contains(row.says) == true && grant.retryAt != nil, "\(row.mode): \(grant.reason ?? "no reason")")
                #expect(grant.state == .active)
                // Within the backoff, no request reaches the token endpoint.
                do {
                    _ = try await a.get()
                    Issue.record("\(row.mode): a request succeeded within the backoff")
                } catch {
                    #expect("\(error)".contains("next try at"), "\(row.mode): \(error)")
                }
                #expect(simulator.oauthCounters.chaosAnswers == answered + 1)
            }
            // Once the backoff is cleared (here: an operator's fix), the same refresh token still works.
            try await Self.expire(setup)
            #expect(try await a.get() == 200)
            #expect(simulator.oauthCounters.refreshes == 4)

            // The provider refuses the grant: reauthorization needed, and nothing more is asked of it.
            try await Self.expire(setup)
            simulator.failTokenRequests("invalid-grant")
            do {
                _ = try await a.get()
                Issue.record("a refused grant served a request")
            } catch {
                #expect("\(error)".contains("needs authorizing again") && "\(error)".contains("connections authorize c1"), "\(error)")
            }
            let refused = try #require(try await setup.oauthGrant(connection: "c1"))
            #expect(refused.state == .reauthRequired)
            let asked = simulator.oauthCounters
            await #expect(throws: UpstreamError.self) { _ = try await b.get() }
            #expect(simulator.oauthCounters == asked, "a connection that needs reauthorization calls neither the token endpoint nor the API")
        }
        let lines = log.lines
        #expect(lines.contains { $0.contains("access token renewed") })
        for secret in ["sim_at_", "sim_rt_", Self.client.1] {
            #expect(!lines.contains { $0.contains(secret) }, "a log line holds \(secret): \(lines.filter { $0.contains(secret) })")
        }
    }
}

extension OAuthTokenTests {
    @Test("connections authorize → the provider's consent → /oauth/callback stores the grant; a state reused, unknown, expired or declined is 400 and stores nothing")
    func authorizationCodeFlow() async throws {
        let directory = try TestPaths.temporaryDirectory("oauth-flow")
        defer { try? FileManager.default.removeItem(at: directory) }
        let providers = try Self.providers(directory)
        var simulatorConfiguration = SimulatorConfiguration()
        simulatorConfiguration.port = 0   // an ephemeral port: a fixed one collides with another test's simulator
        simulatorConfiguration.initialRecordsPerType = 3
        simulatorConfiguration.oauth = SimulatorOAuthConfiguration(clients: [Self.client.0: Self.client.1])
        let simulator = try ProviderSimulator(configuration: simulatorConfiguration, logger: SimulatorRig.logger)
        var configuration = TestEngine.configuration(directory: directory)
        configuration.providersDirectory = providers
        configuration.now = EngineClock.system.now
        let engineConfiguration = configuration
        try await SimulatorRig.withSimulator(simulator) { port in
            let engine = try Engine(configuration: engineConfiguration)
            _ = try await engine.store.addApp(id: "sim-app", provider: "simulator-oauth", credentials: AppCredentials(clientID: Self.client.0, clientSecret: Self.client.1), now: 0)
            _ = try await engine.store.addConnection(id: "c1", provider: "simulator-oauth", tenant: "acme", account: "a1", app: "sim-app", toleranceSeconds: nil, webhookSecrets: [], now: 0)
            try await engine.store.setAPICredentials(connection: "c1", token: nil, baseURL: "http://127.0.0.1:\(port)", now: 0)
            let admin = try Admin(databasePath: engineConfiguration.databasePath, providersDirectory: providers, masterKey: TestSecrets.masterKey, environment: [:])
            let redirect = "https://tributary.example.test/oauth/callback"
            let transport = HTTPTransport(outboundGuard: OutboundGuard(allowPrivate: true))

            /// The customer opens `url` and approves: where the provider sends the browser back (path and query).
            func consent(_ url: String) async throws -> String {
                let answer = try await transport.send(UpstreamRequest(url: url))
                let location = try #require(answer.header("Location"), "authorize answered \(answer.status)")
                #expect(location.hasPrefix(redirect + "?"))
                return "/oauth/callback" + location.dropFirst(redirect.count)
            }
            let url = try await admin.authorize(connection: "c1", redirectURI: redirect)
            for part in ["response_type=code", "client_id=sim-client", "code_challenge_method=S256", "scope=records.read", "state="] {
                #expect(url.contains(part), "\(part) missing from \(url)")
            }
            let callback = try await consent(url)
            try await TestEngine.live(engine) { client in
                let first = try await client.send(callback, method: .get, headers: [:], body: "")
                #expect(first.status == .ok && first.bodyText.contains("connection c1"), "\(first.status) \(first.bodyText)")
                // The same link again (a reload, or an attacker who saw it): the state was used.
                let again = try await client.send(callback, method: .get, headers: [:], body: "")
                #expect(again.status == .badRequest && again.bodyText.contains("already used"))
            }
            let grant = try #require(try await engine.store.oauthGrant(connection: "c1"))
            #expect(grant.state == .active && grant.refreshToken != nil && grant.generation == 1)
            #expect(simulator.oauthCounters.codeExchanges == 1)

            // The customer signs in to another account than the connection's: refused, nothing stored.
            let wrong = try await admin.authorize(connection: "c1", redirectURI: redirect)
            let wrongCallback = try await consent(wrong + "&login_hint=someone-else")
            try await TestEngine.live(engine) { client in
                let answer = try await client.send(wrongCallback, method: .get, headers: [:], body: "")
                #expect(answer.status == .badRequest && answer.bodyText.contains("You authorized account someone-else"), "\(answer.status) \(answer.bodyText)")
            }
            #expect(try await engine.store.oauthGrant(connection: "c1")?.generation == 1)
            let exchanged = simulator.oauthCounters.codeExchanges

            // Refusals: each stores nothing and exchanges no code.
            let declined = try await admin.authorize(connection: "c1", redirectURI: redirect)
            let declinedState = try #require(URLComponents(string: declined)?.queryItems?.first { $0.name == "state" }?.value)
            try await engine.store.addOAuthAuthorization(state: "expired-state", connection: "c1", verifier: nil, redirectURI: redirect, expiresAt: 1, now: 0)
            let refusals: [(query: String, says: String)] = [
                ("code=x&state=never-issued", "unknown, already used or expired"),
                ("code=x&state=expired-state", "unknown, already used or expired"),
                ("code=x", "no state"),
                ("error=access_denied&state=\(declinedState)", "not granted (access_denied)"),
                ("code=x&state=\(declinedState)", "unknown, already used or expired"),
                ("state=<script>alert(1)</script>&code=x", "unknown"),
            ]
            try await TestEngine.live(engine) { client in
                for row in refusals {
                    let answer = try await client.send("/oauth/callback?" + row.query.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed)!, method: .get, headers: [:], body: "")
                    #expect(answer.status == .badRequest && answer.bodyText.contains(row.says), "\(row.query): \(answer.status) \(answer.bodyText)")
                    #expect(!answer.bodyText.contains("<script>") && answer.headers[.contentType]?.hasPrefix("text/plain") == true)
                }
            }
            #expect(simulator.oauthCounters.codeExchanges == exchanged)
            #expect(try await engine.store.oauthGrant(connection: "c1")?.generation == 1)
            // A redirect URI that is not an https /oauth/callback is refused before anything is stored.
            for bad in ["http://evil.example/oauth/callback", "https://tributary.example.test/elsewhere", "javascript:alert(1)"] {
                await #expect(throws: OperationError.self) { _ = try await admin.authorize(connection: "c1", redirectURI: bad) }
            }

            // Authorized again (after a refused grant, say): the subscription made with the old grant is
            // made again, with a poll for the gap, by the renewal service's next pass.
            try await engine.store.saveSubscription(connection: "c1", id: "sub_old", expiresAt: nil, renewed: false, now: 0)
            let reauthorized = try await consent(try await admin.authorize(connection: "c1", redirectURI: redirect))
            try await TestEngine.live(engine) { client in
                let answer = try await client.send(reauthorized, method: .get, headers: [:], body: "")
                #expect(answer.status == .ok, "\(answer.status) \(answer.bodyText)")
            }
            #expect(try await engine.store.oauthGrant(connection: "c1")?.generation == 2)
            #expect(try await engine.store.subscription(connection: "c1")?.action == .recreate)

            // Removing the connection revokes the grant at the provider (RFC 7009): its tokens stop working there.
            let held = try #require(try await engine.store.oauthGrant(connection: "c1"))
            let (_, notes) = try await engine.removeConnection(id: "c1", purge: true)
            #expect(notes.last == "revoked its grant at the provider", "\(notes)")
            #expect(simulator.oauthCounters.revocations == 1)
            let refresh = "grant_type=refresh_token&refresh_token=\(held.refreshToken ?? "")&client_id=\(Self.client.0)&client_secret=\(Self.client.1)"
            let after = try await transport.send(UpstreamRequest(
                method: "POST", url: "http://127.0.0.1:\(port)/oauth/token", headers: [("Content-Type", "application/x-www-form-urlencoded")], body: Array(refresh.utf8)
            ))
            #expect(after.status == 400 && String(decoding: after.body, as: UTF8.self).contains("invalid_grant"), "the revoked refresh token still works: \(after.status)")
        }
    }
}

extension OAuthTokenTests {
    @Test("client credentials: the app's credentials buy the token; refused credentials back off without asking any customer to authorize, and new ones are used at once")
    func clientCredentials() async throws {
        let directory = try TestPaths.temporaryDirectory("oauth-cc")
        defer { try? FileManager.default.removeItem(at: directory) }
        let catalog = try ManifestCatalog.loadValid(directory: try Self.providers(directory))
        let api = try #require(catalog.providers["simulator-cc"]?.manifest.api)
        var configuration = SimulatorConfiguration()
        configuration.port = 0   // an ephemeral port: a fixed one collides with another test's simulator
        configuration.initialRecordsPerType = 3
        configuration.oauth = SimulatorOAuthConfiguration(clients: [Self.client.0: Self.client.1])
        let simulator = try ProviderSimulator(configuration: configuration, logger: SimulatorRig.logger)
        try await SimulatorRig.withSimulator(simulator) { port in
            let store = try Store(path: directory.appendingPathComponent("cc.db").path, masterKey: TestSecrets.masterKey, logger: SimulatorRig.logger)
            _ = try await store.addApp(id: "m2m", provider: "simulator-cc", credentials: AppCredentials(clientID: Self.client.0, clientSecret: "a-wrong-secret"), now: 0)
            _ = try await store.addConnection(id: "c1", provider: "simulator-cc", tenant: "acme", account: "a1", app: "m2m", toleranceSeconds: nil, webhookSecrets: [], now: 0)
            let transport = HTTPTransport(outboundGuard: OutboundGuard(allowPrivate: true))
            let tokens = OAuthTokens(store: store, transport: transport, clock: .system, logger: SimulatorRig.logger)
            let clients = UpstreamClients(transport: transport, clock: .system, accessTokens: tokens)
            func get() async throws -> Int {
                let connection = try #require(try await store.connection(id: "c1"))
                let client = clients.client(for: connection, api: api, baseURL: "http://127.0.0.1:\(port)", token: nil)
                return try await client.send(UpstreamRequest(url: client.url("/v1/customer?limit=1")), priority: .incrementalPoll, logger: SimulatorRig.logger).status
            }
            do {
                _ = try await get()
                Issue.record("a wrong client secret bought a token")
            } catch {
                #expect("\(error)".contains("refused the app's client credentials") && !"\(error)".contains("authorize"), "\(error)")
            }
            #expect(try await store.oauthGrant(connection: "c1") == nil)
            try await store.updateApp(id: "m2m", credentials: AppCredentials(clientSecret: Self.client.1), now: 1)
            #expect(try await get() == 200)
            #expect(try await get() == 200)
            #expect(simulator.oauthCounters.clientCredentials == 1, "the token bought is reused until it expires")
            #expect(try await store.oauthGrant(connection: "c1")?.state == .active)
        }
    }
}

extension OAuthTokenTests {
    @Test("GitHub App: a JWT signed with the app's key buys one token per installation, once for 50 requests; a 401 buys a new one; an unknown installation or a wrong key backs off saying why; no token is logged")
    func githubAppInstallationTokens() async throws {
        let directory = try TestPaths.temporaryDirectory("oauth-ghapp")
        defer { try? FileManager.default.removeItem(at: directory) }
        let catalog = try ManifestCatalog.loadValid(directory: try Self.providers(directory))
        let api = try #require(catalog.providers["simulator-ghapp"]?.manifest.api)
        let key = try OAuthRig.githubAppKey()
        let otherKey = try OAuthRig.githubAppKey()
        var configuration = SimulatorConfiguration()
        configuration.port = 0   // an ephemeral port: a fixed one collides with another test's simulator
        configuration.initialRecordsPerType = 3
        var oauth = SimulatorOAuthConfiguration(clients: [:])
        oauth.githubApps = ["4242": key.publicKey]
        oauth.installations = ["111", "222"]
        configuration.oauth = oauth
        let simulator = try ProviderSimulator(configuration: configuration, logger: SimulatorRig.logger)
        let log = CapturedLog()
        let logger = Logger(label: "ghapp-test") { _ in log }
        try await SimulatorRig.withSimulator(simulator) { port in
            let store = try Store(path: directory.appendingPathComponent("ghapp.db").path, masterKey: TestSecrets.masterKey, logger: logger)
            _ = try await store.addApp(id: "gh", provider: "simulator-ghapp", credentials: AppCredentials(appID: "4242", privateKey: key.privateKey), now: 0)
            _ = try await store.addApp(id: "forged", provider: "simulator-ghapp", credentials: AppCredentials(appID: "4242", privateKey: otherKey.privateKey), now: 0)
            for (id, installation, app) in [("i111", "111", "gh"), ("i222", "222", "gh"), ("i999", "999", "gh"), ("forged", "111", "forged")] {
                _ = try await store.addConnection(id: id, provider: "simulator-ghapp", tenant: id, account: installation, app: app, toleranceSeconds: nil, webhookSecrets: [], now: 0)
            }
            let transport = HTTPTransport(outboundGuard: OutboundGuard(allowPrivate: true))
            let tokens = OAuthTokens(store: store, transport: transport, clock: .system, logger: logger)
            let clients = UpstreamClients(transport: transport, clock: .system, accessTokens: tokens)
            func get(_ id: String) async throws -> Int {
                let connection = try #require(try await store.connection(id: id))
                let client = clients.client(for: connection, api: api, baseURL: "http://127.0.0.1:\(port)", token: nil)
                return try await client.send(UpstreamRequest(url: client.url("/v1/customer?limit=1")), priority: .incrementalPoll, logger: logger).status
            }
            func fifty(_ id: String) async throws -> [Int] {
                try await withThrowingTaskGroup(of: Int.self) { group in
                    for _ in 0..<50 { group.addTask { try await get(id) } }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
            }

            let first = try await fifty("i111")
            #expect(first.allSatisfy { $0 == 200 }, "\(Set(first))")
            #expect(simulator.oauthCounters.installationTokens == 1, "50 requests bought one installation token")
            #expect(try await get("i222") == 200)
            #expect(simulator.oauthCounters.installationTokens == 2, "each installation has its own token")
            let one = try #require(try await store.oauthGrant(connection: "i111"))
            let two = try #require(try await store.oauthGrant(connection: "i222"))
            #expect(one.accessToken != two.accessToken && one.refreshToken == nil && one.state == .active)
            let expiresAt = try #require(one.expiresAt)
            #expect(expiresAt > EngineClock.system.now() + 3_000_000_000, "GitHub's answer names the hour the token lives")

            // Expired by our clock: one new token for 50 requests again.
            _ = try await store.commitOAuthGrant(
                connection: "i111", TokenGrant(accessToken: one.accessToken ?? "", refreshToken: nil, expiresAt: EngineClock.system.now() - 1_000_000, scope: nil),
                over: one.generation, now: EngineClock.system.now()
            )
            let again = try await fifty("i111")
            #expect(again.allSatisfy { $0 == 200 }, "\(Set(again))")
            #expect(simulator.oauthCounters.installationTokens == 3)

            // GitHub ends the token early: the 401 buys one new token and the request is sent again.
            simulator.expireAccessTokens()
            #expect(try await get("i111") == 200)
            #expect(simulator.oauthCounters.installationTokens == 4)

            // An installation GitHub does not know (uninstalled): the request fails saying so, nothing is stored.
            do {
                _ = try await get("i999")
                Issue.record("an unknown installation was served")
            } catch {
                #expect("\(error)".contains("404") && "\(error)".contains("installation 999"), "\(error)")
            }
            #expect(try await store.oauthGrant(connection: "i999") == nil)
            // A JWT signed with another key than the app's: GitHub's 401, named as the app's credentials.
            do {
                _ = try await get("forged")
                Issue.record("a JWT signed with a foreign key bought a token")
            } catch {
                #expect("\(error)".contains("401") && "\(error)".contains("private_key"), "\(error)")
            }
            #expect(simulator.oauthCounters.refusedJWTs == 1)
            #expect(simulator.oauthCounters.installationTokens == 4)
        }
        let lines = log.lines
        #expect(!lines.contains { $0.contains("ghs_") || $0.contains("PRIVATE KEY") }, "a log line holds a token or the key")
    }
}

extension OAuthTokenTests {
    @Test("a manifest of a static style with auth.oauth: a connection given a token sends it; a connection of an app given none authorizes and renews through OAuth; one of an app given a token is refused authorization with the reason")
    func staticStyleWithOAuth() async throws {
        let directory = try TestPaths.temporaryDirectory("oauth-dual")
        defer { try? FileManager.default.removeItem(at: directory) }
        let providers = try Self.providers(directory)
        let catalog = try ManifestCatalog.loadValid(directory: providers)
        let api = try #require(catalog.providers["simulator-dual"]?.manifest.api)
        var configuration = SimulatorConfiguration()
        configuration.port = 0   // an ephemeral port: a fixed one collides with another test's simulator
        configuration.initialRecordsPerType = 3
        configuration.oauth = SimulatorOAuthConfiguration(clients: [Self.client.0: Self.client.1])
        let simulator = try ProviderSimulator(configuration: configuration, logger: SimulatorRig.logger)
        let staticToken = configuration.tokens[0]
        try await SimulatorRig.withSimulator(simulator) { port in
            let database = directory.appendingPathComponent("dual.db").path
            let store = try Store(path: database, masterKey: TestSecrets.masterKey, logger: SimulatorRig.logger)
            let base = "http://127.0.0.1:\(port)"
            _ = try await store.addApp(id: "sim-app", provider: "simulator-dual", credentials: AppCredentials(clientID: Self.client.0, clientSecret: Self.client.1), now: 0)
            _ = try await store.addConnection(id: "by-hand", provider: "simulator-dual", tenant: "a", account: nil, toleranceSeconds: nil, webhookSecrets: [], now: 0)
            try await store.setAPICredentials(connection: "by-hand", token: staticToken, baseURL: base, now: 0)
            _ = try await store.addConnection(id: "by-oauth", provider: "simulator-dual", tenant: "b", account: "a1", app: "sim-app", toleranceSeconds: nil, webhookSecrets: [], now: 0)
            try await store.setAPICredentials(connection: "by-oauth", token: nil, baseURL: base, now: 0)
            _ = try await store.addConnection(id: "app-with-token", provider: "simulator-dual", tenant: "c", account: "a2", app: "sim-app", toleranceSeconds: nil, webhookSecrets: [], now: 0)
            try await store.setAPICredentials(connection: "app-with-token", token: staticToken, baseURL: base, now: 0)

            let transport = HTTPTransport(outboundGuard: OutboundGuard(allowPrivate: true))
            let tokens = OAuthTokens(store: store, transport: transport, clock: .system, logger: SimulatorRig.logger)
            let clients = UpstreamClients(transport: transport, clock: .system, accessTokens: tokens)
            func get(_ id: String) async throws -> Int {
                let connection = try #require(try await store.connection(id: id))
                let credentials = try await store.apiCredentials(connection: id)
                let client = clients.client(for: connection, api: api, baseURL: credentials.baseURL, token: credentials.token)
                return try await client.send(UpstreamRequest(url: client.url("/v1/customer?limit=1")), priority: .incrementalPoll, logger: SimulatorRig.logger).status
            }
            #expect(try await get("by-hand") == 200)
            #expect(try await get("app-with-token") == 200, "a connection of an app given a token sends it")
            let asked = simulator.oauthCounters
            #expect(asked.refreshes + asked.codeExchanges + asked.clientCredentials == 0, "no token was asked for")

            // Not authorized yet: it needs the customer, and says so.
            do {
                _ = try await get("by-oauth")
                Issue.record("an unauthorized OAuth connection was served")
            } catch {
                #expect("\(error)".contains("connections authorize by-oauth"), "\(error)")
            }
            let admin = try Admin(databasePath: database, providersDirectory: providers, masterKey: TestSecrets.masterKey, environment: [:])
            let url = try await admin.authorize(connection: "by-oauth", redirectURI: "https://tributary.example.test/oauth/callback")
            #expect(url.hasPrefix(base + "/oauth/authorize?") && url.contains("code_challenge="), "\(url)")
            do {
                _ = try await admin.authorize(connection: "app-with-token", redirectURI: "https://tributary.example.test/oauth/callback")
                Issue.record("a connection given a token was sent to authorize")
            } catch {
                #expect("\(error)".contains("was given an API token, which it uses instead of OAuth"), "\(error)")
            }
            // Authorized (as the callback would store it), then renewed through the manifest's token URL.
            let grant = try #require(simulator.issueGrant(client: Self.client.0))
            _ = try await store.commitOAuthGrant(connection: "by-oauth", TokenGrant(accessToken: grant.accessToken, refreshToken: grant.refreshToken, expiresAt: 1, scope: nil), over: nil, now: 0)
            #expect(try await get("by-oauth") == 200)
            #expect(simulator.oauthCounters.refreshes == 1)
            let readers = try await clients.readers(connections: try await store.connections(), catalog: catalog) { id throws(StoreError) in try await store.apiCredentials(connection: id) }
            #expect(Set(readers.map(\.connection.id)) == ["by-hand", "by-oauth", "app-with-token"], "each is polled, each with its own credential")
        }
    }
}

/// Every log line at every level, metadata included, for tests that grep the log.
final class CapturedLog: LogHandler, Sendable {
    private let stored = Mutex<[String]>([])
    var lines: [String] { stored.withLock { $0 } }

    var logLevel: Logger.Level {
        get { .trace }
        set {}
    }

    var metadata: Logger.Metadata {
        get { [:] }
        set {}
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { nil }
        set {}
    }

    func log(event: LogEvent) {
        let line = "\(event.level) \(event.message) \(event.metadata ?? [:])"
        stored.withLock { $0.append(line) }
    }
}

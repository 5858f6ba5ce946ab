import Foundation
import Logging
import ProviderSimulator
import Testing
import TributaryCore
import TributaryIntegrationTesting
import TributaryProviders
import TributaryRuntime
import TributaryScheduling
import TributaryStore
import TributaryTesting
import TributaryUpstream

/// `kill -9` of `tributary poll` while it renews an OAuth token, round after round: the grant is never
/// torn, the lease of a dead renewer does not block the next one, and the connection keeps working.
@Suite("OAuth renewal crash recovery", .serialized)
struct OAuthCrashTests {
    @Test("24 rounds of SIGKILL at random moments of a token renewal leave a working grant, never a torn one")
    func killDuringRenewal() async throws {
        var configuration = SimulatorConfiguration()
        configuration.port = 0
        configuration.types = ["customer"]
        configuration.initialRecordsPerType = 20
        // The provider rotates refresh tokens, answers 80 ms after it did (the window in which a dead
        // client loses the new one), and accepts the previous token for a grace of 60 s.
        configuration.oauth = SimulatorOAuthConfiguration(
            clients: [OAuthRig.client.id: OAuthRig.client.secret], refreshReuseGraceSeconds: 60, tokenLatencyMilliseconds: 80
        )
        let simulator = try ProviderSimulator(configuration: configuration, logger: SimulatorRig.logger)
        let directory = try TestPaths.temporaryDirectory("oauth-crash")
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = directory.appendingPathComponent("oauth.db").path
        let providers = try OAuthRig.providers(directory)
        let rounds = 24

        try await SimulatorRig.withSimulator(simulator) { port in
            let store = try await OAuthRig.authorizedConnection(database: database, simulator: simulator, port: port, logger: SimulatorRig.logger)

            var random = SplitMix64(seed: UInt64(Date().timeIntervalSince1970 * 1000))
            var generations: [Int64] = []
            for round in 0..<rounds {
                // Expired by our clock: the poll must renew before its first request.
                let grant = try #require(try await store.oauthGrant(connection: "c1"))
                #expect(grant.state == .active, "round \(round): \(grant.reason ?? "")")
                generations.append(grant.generation)
                _ = try await store.commitOAuthGrant(
                    connection: "c1", TokenGrant(accessToken: grant.accessToken ?? "", refreshToken: grant.refreshToken, expiresAt: 1, scope: nil),
                    over: grant.generation, now: 1
                )
                let poll = try Self.startPoll(database: database, providers: providers)
                // Anywhere from before the token request to after the commit.
                try await Task.sleep(for: .milliseconds(Int(random.next(below: 250))))
                kill(poll.processIdentifier, SIGKILL)
                poll.waitUntilExit()
            }
            // The grant's generation only ever grew, and a poll run to its end works with it.
            #expect(generations == generations.sorted(), "\(generations)")
            let last = try Self.startPoll(database: database, providers: providers, stderr: true)
            let said = String(decoding: (last.standardError as! Pipe).fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            last.waitUntilExit()
            #expect(last.terminationStatus == 0, "the poll after the kills exited \(last.terminationStatus): \(said)")
            let after = try #require(try await store.oauthGrant(connection: "c1"))
            #expect(after.state == .active && after.failures == 0)
            let counters = simulator.oauthCounters
            print("oauth crash: \(rounds) kills; \(counters.refreshes) renewals at the provider; grant generation \(after.generation); invalid grants \(counters.invalidGrants)")
            #expect(counters.invalidGrants == 0, "a renewal presented a refresh token the provider no longer accepts")
            #expect(counters.refreshes >= 1 && counters.refreshes <= rounds + 1, "renewals at the provider: \(counters.refreshes)")
            #expect(try await store.events(EventFilter(connection: "c1", limit: 1000)).count >= 20, "the final poll read the records")
        }
    }

    @Test("50 requests in this process and a tributary poll process, on a token just expired: one renewal at the provider between them")
    func renewalAcrossProcesses() async throws {
        var configuration = SimulatorConfiguration()
        configuration.port = 0
        configuration.types = ["customer"]
        configuration.initialRecordsPerType = 20
        // A slow token endpoint: whichever process renews first holds the lease for over a second,
        // so the other one (started 300 ms apart) arrives while the renewal is in flight.
        configuration.oauth = SimulatorOAuthConfiguration(clients: [OAuthRig.client.id: OAuthRig.client.secret], tokenLatencyMilliseconds: 1500)
        let simulator = try ProviderSimulator(configuration: configuration, logger: SimulatorRig.logger)
        let directory = try TestPaths.temporaryDirectory("oauth-two-processes")
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = directory.appendingPathComponent("oauth.db").path
        let providers = try OAuthRig.providers(directory)
        let api = try #require(try ManifestCatalog.loadValid(directory: providers).providers["simulator-oauth"]?.manifest.api)

        try await SimulatorRig.withSimulator(simulator) { port in
            let store = try await OAuthRig.authorizedConnection(database: database, simulator: simulator, port: port, logger: SimulatorRig.logger)

            let transport = HTTPTransport(outboundGuard: OutboundGuard(allowPrivate: true))
            let tokens = OAuthTokens(store: store, transport: transport, clock: .system, logger: SimulatorRig.logger)
            let connection = try #require(try await store.connection(id: "c1"))
            let client = UpstreamClients(transport: transport, clock: .system, accessTokens: tokens)
                .client(for: connection, api: api, baseURL: "http://127.0.0.1:\(port)", token: nil)

            let poll = try Self.startPoll(database: database, providers: providers, stderr: true)
            try await Task.sleep(for: .milliseconds(300))
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<50 {
                    group.addTask { try await client.send(UpstreamRequest(url: client.url("/v1/customer?limit=1")), priority: .incrementalPoll, logger: SimulatorRig.logger).status }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let said = String(decoding: (poll.standardError as! Pipe).fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            poll.waitUntilExit()
            #expect(statuses.count == 50 && statuses.allSatisfy { $0 == 200 }, "\(Set(statuses))")
            #expect(poll.terminationStatus == 0, "the poll process exited \(poll.terminationStatus): \(said)")
            print("oauth across processes: \(simulator.oauthCounters.refreshes) renewal(s) for 50 requests here and one poll process")
            #expect(simulator.oauthCounters.refreshes == 1, "renewals at the provider: \(simulator.oauthCounters.refreshes)")
            #expect(simulator.oauthCounters.invalidGrants == 0)
            #expect(try await store.oauthGrant(connection: "c1")?.generation == 2)
            #expect(try await store.events(EventFilter(connection: "c1", limit: 1000)).count >= 20, "the poll process read the records")
        }
    }

    static func startPoll(database: String, providers: String, stderr: Bool = false) throws -> Process {
        let process = TestPaths.tributaryProcess(
            ["poll", "--once", "--allow-private-upstreams", "--connection", "c1", "--resource", "customers", "--db", database, "--providers", providers],
            masterKey: TestSecrets.masterKey
        )
        process.standardOutput = FileHandle.nullDevice
        process.standardError = stderr ? Pipe() : FileHandle.nullDevice
        try process.run()
        return process
    }
}

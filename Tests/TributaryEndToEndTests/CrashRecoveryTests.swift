import Foundation
import GRDB
import HTTPTypes
import HummingbirdTesting
import Logging
import NIOCore
import Synchronization
import Testing
import TributaryCore
import TributaryStore
import TributaryIntegrationTesting
import TributaryTesting

/// `kill -9` at a random moment loses no acknowledged event (DESIGN.md §3 rules 2 and 7).
@Suite("Crash recovery", .serialized)
struct CrashRecoveryTests {
    static let secret = "crash-test-secret"
    /// 20 in the suite; `scripts/soak.sh` sets `TRIBUTARY_CRASH_ROUNDS` for a long run.
    static let rounds = ProcessInfo.processInfo.environment["TRIBUTARY_CRASH_ROUNDS"].flatMap(Int.init) ?? 20
    static let requestsPerRound = 64

    @Test("every 2xx survives SIGKILL at a random moment, over 20 rounds")
    func ackedEventsSurviveSIGKILL() async throws {
        var totalAcked = 0
        var totalLost = 0
        var totalAppliedTwice = 0
        var generator = SystemRandomNumberGenerator()
        for round in 1...Self.rounds {
            let directory = try TestPaths.temporaryDirectory("crash")
            defer { try? FileManager.default.removeItem(at: directory) }
            let database = directory.appendingPathComponent("tributary.db").path
            do {
                let store = try Store(path: database, masterKey: TestSecrets.masterKey, logger: Logger(label: "crash-test"))
                _ = try await store.addConnection(
                    id: "gh1", provider: "github", tenant: "acme", account: nil, toleranceSeconds: nil,
                    webhookSecrets: [Self.secret], now: 0
                )
            }
            let server = try await ServeProcess.start(database: database, masterKey: TestSecrets.masterKey)
            let killAfter = Int.random(in: 0..<Self.requestsPerRound, using: &generator)
            let acked = try await Self.fire(port: server.port, round: round, killAfterAcks: killAfter) { server.kill(SIGKILL) }
            server.kill(SIGKILL) // in case fewer acks than killAfter arrived
            _ = await server.waitForExit()

            // Restart the service on the same file, then list through the CLI as an operator would.
            let restarted = try await ServeProcess.start(database: database, masterKey: TestSecrets.masterKey)
            let listed = try Self.listEventIDs(database: database)
            restarted.kill(SIGTERM)
            _ = await restarted.waitForExit()

            // The killed service was reconciling: an event applied in the killed run must not be applied again.
            let appliedTwice = try await DatabaseQueue(path: database).read { db in
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM events WHERE applications > 1") ?? 0
            }
            let lost = acked.subtracting(listed)
            totalAcked += acked.count
            totalLost += lost.count
            totalAppliedTwice += appliedTwice
            print("crash round \(round): killed after \(killAfter) acks; acked \(acked.count), stored \(listed.count), lost \(lost.count), applied twice \(appliedTwice)")
            #expect(appliedTwice == 0, "round \(round): \(appliedTwice) events applied twice")
            #expect(lost.isEmpty, "round \(round): acknowledged but missing after restart: \(lost.sorted())")
            #expect(listed.count <= Self.requestsPerRound)
        }
        print("crash test (kill -9): \(Self.rounds) rounds, acked \(totalAcked), lost \(totalLost), applied twice \(totalAppliedTwice)")
        #expect(totalLost == 0)
        #expect(totalAcked > 0, "no request was ever acknowledged: the test proved nothing")
    }

    /// Sends one signed request per connection, concurrently; calls `kill` once `killAfterAcks` acks arrived.
    /// - Returns: the delivery ids answered 2xx.
    static func fire(port: Int, round: Int, killAfterAcks: Int, kill: @escaping @Sendable () -> Void) async throws -> Set<String> {
        let acks = Acks()
        if killAfterAcks == 0 { kill() }
        await withTaskGroup(of: Void.self) { group in
            for n in 0..<requestsPerRound {
                group.addTask {
                    let delivery = "round-\(round)-\(n)"
                    let body = Signer.issueBody(n)
                    let client = TestClient(host: "127.0.0.1", port: port, configuration: .init(timeout: .seconds(10)))
                    client.connect()
                    var headers = HTTPFields()
                    for (name, value) in Signer.github(body: body, secret: secret, delivery: delivery) {
                        headers.append(HTTPField(name: HTTPField.Name(name)!, value: value))
                    }
                    let response = try? await client.post("/webhooks/github/gh1", headers: headers, body: ByteBuffer(string: body))
                    try? await client.shutdown()
                    guard let response, response.status == .ok else { return }
                    if acks.record(delivery) == killAfterAcks { kill() }
                }
            }
        }
        return acks.ids
    }

    /// Delivery ids answered 2xx, shared by the request tasks.
    final class Acks: Sendable {
        private let state = Mutex(Set<String>())

        /// Records one ack; returns how many there are now.
        func record(_ id: String) -> Int {
            state.withLock { ids in
                ids.insert(id)
                return ids.count
            }
        }

        var ids: Set<String> { state.withLock { $0 } }
    }

    /// `tributary events list --json` on `database`, as delivery ids.
    static func listEventIDs(database: String) throws -> Set<String> {
        let process = TestPaths.tributaryProcess(["events", "list", "--json", "--limit", "1000", "--db", database, "--providers", TestPaths.providers], masterKey: TestSecrets.masterKey)
        let stdout = Pipe()
        process.standardOutput = stdout
        try process.run()
        let data = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0, case .array(let events)? = JSONValue(parsing: Array(data)) else {
            throw ServeProcess.ServeError(message: "events list failed with status \(process.terminationStatus)")
        }
        return Set(events.compactMap { $0["event_id"]?.stringValue })
    }
}

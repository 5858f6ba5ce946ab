import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Synchronization
import Testing
import TributaryCore
import TributaryDelivery
import TributaryIntegrationTesting
import TributaryScheduling
import TributaryStore
import TributaryTesting

/// `kill -9` of `serve` while it takes webhooks, applies them and delivers the changes: the outbox is
/// written with the change, so every change committed reaches the application, in order per record.
@Suite("Delivery crash recovery", .serialized)
struct DeliveryCrashTests {
    static let rounds = 20
    static let records = (0..<8).map { "cus_\($0)" }

    @Test("20 rounds of SIGKILL at random moments: every version acknowledged at intake reaches the receiver, in version order per record")
    func killDuringDelivery() async throws {
        let directory = try TestPaths.temporaryDirectory("delivery-crash")
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = directory.appendingPathComponent("tributary.db").path
        let receiver = WebhookReceiver()
        let acked = Mutex<[String: Set<Int>]>([:])
        try await receiver.run { port in
            let store = try Store(path: database, masterKey: TestSecrets.masterKey, logger: SimulatorRig.logger)
            _ = try await store.addConnection(id: "sim1", provider: "simulator", tenant: "acme", account: nil, toleranceSeconds: nil, webhookSecrets: [ChaosRig.secret], now: 0)
            _ = try await store.addDestination(
                id: "app", url: "http://127.0.0.1:\(port)/hook", tenant: nil, connection: nil, kinds: [.recordChanged], recordTypes: [],
                secret: StandardWebhooks.newSecret(), now: 0
            )
            var random = SplitMix64(seed: UInt64(Date().timeIntervalSince1970 * 1000))
            // Loopback receiver: the outbound guard allows it only with the upstreams' setting.
            let environment: [String: String?] = ["TRIBUTARY_ALLOW_PRIVATE_UPSTREAMS": "1"]
            for round in 1...Self.rounds {
                let server = try await ServeProcess.start(database: database, masterKey: TestSecrets.masterKey, environment: environment)
                let killAt = Int(random.next(below: 400))
                let killer = Task {
                    try await Task.sleep(for: .milliseconds(killAt))
                    server.kill(SIGKILL)
                }
                // One new version of each record per round, sent one after the other.
                for id in Self.records {
                    let (headers, body) = SimulatorWebhook.customerUpdated(id, version: round, now: EngineClock.system.now())
                    if try await Self.post(port: server.port, headers: headers, body: body) { acked.withLock { _ = $0[id, default: []].insert(round) } }
                }
                _ = try? await killer.value
                _ = await server.waitForExit()
            }
            // A last run to the end: everything committed goes out.
            let server = try await ServeProcess.start(database: database, masterKey: TestSecrets.masterKey, environment: environment)
            var waited = 0
            while waited < 600 {
                let pendingEvents = try await store.events(EventFilter(connection: "sim1", status: .pending, limit: 1)).count
                let pendingDeliveries = try await store.deliveries(destination: "app", status: .pending, limit: 1).count
                if pendingEvents == 0 && pendingDeliveries == 0 { break }
                try await Task.sleep(for: .milliseconds(100))
                waited += 1
            }
            server.kill(SIGTERM)
            _ = await server.waitForExit()
        }
        var arrived: [String: [Int]] = [:]
        for request in receiver.requests where request.answered == 200 {
            guard let data = JSONValue(parsing: request.body)?["data"], let id = data["record_id"]?.stringValue,
                  let version = data["version"]?.stringValue.flatMap({ Int($0) }) else { continue }
            arrived[id, default: []].append(version)
        }
        let lastAcked = acked.withLock { $0 }
        #expect(!lastAcked.isEmpty, "no webhook was ever acknowledged: the test proved nothing")
        var lost: [String] = []
        for id in Self.records {
            let versions = arrived[id] ?? []
            // Each version acknowledged at intake was applied (they came in order, each newer) and its
            // change reached the application; nothing arrived out of order.
            lost += (lastAcked[id] ?? []).subtracting(versions).sorted().map { "\(id)@\($0)" }
            #expect(versions == versions.sorted(), "\(id): out of order \(versions)")
        }
        let ackedCount = lastAcked.values.map(\.count).reduce(0, +)
        let duplicates = receiver.requests.count - Set(receiver.requests.compactMap { $0.header("webhook-id") }).count
        print("delivery crash (kill -9): \(Self.rounds) rounds, \(ackedCount) versions acknowledged, \(receiver.requests.count) deliveries received, \(duplicates) repeated after a kill, \(lost.count) acknowledged but never delivered")
        #expect(lost.isEmpty, "acknowledged but never delivered: \(lost.prefix(10))")
    }

    /// POSTs one webhook; whether it was answered 2xx.
    static func post(port: Int, headers: [String: String], body: String) async throws -> Bool {
        let client = TestClient(host: "127.0.0.1", port: port, configuration: .init(timeout: .seconds(5)))
        client.connect()
        var fields = HTTPFields()
        for (name, value) in headers { fields.append(HTTPField(name: HTTPField.Name(name)!, value: value)) }
        let response = try? await client.post("/webhooks/simulator/sim1", headers: fields, body: ByteBuffer(string: body))
        try? await client.shutdown()
        return response?.status == .ok
    }
}

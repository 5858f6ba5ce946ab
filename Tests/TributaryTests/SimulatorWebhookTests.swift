import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ProviderSimulator
import Synchronization
import Testing
import TributaryCore
import TributaryIntegrationTesting
import TributaryProviders
import TributaryTesting

/// The simulator's Standard Webhooks emission, checked by the project's own verifier on a live receiver.
@Suite("Simulator webhooks")
struct SimulatorWebhookTests {
    static let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

    /// A loopback receiver that keeps every delivery and announces each on a stream.
    final class Receiver: Sendable {
        let deliveries = Mutex<[WebhookRequest]>([])
        let arrivals: AsyncStream<Int>
        private let continuation: AsyncStream<Int>.Continuation

        init() {
            (arrivals, continuation) = AsyncStream.makeStream(of: Int.self)
        }

        func run<Value: Sendable>(_ body: @escaping @Sendable (_ url: String) async throws -> Value) async throws -> Value {
            let router = Router()
            router.post("/hooks") { request, _ in
                let body = try await request.body.collect(upTo: 1 << 20)
                let delivery = WebhookRequest(
                    method: "POST", url: "http://127.0.0.1/hooks",
                    headers: request.headers.map { ($0.name.rawName, $0.value) }, body: Array(buffer: body)
                )
                let count = self.deliveries.withLock { deliveries in
                    deliveries.append(delivery)
                    return deliveries.count
                }
                self.continuation.yield(count)
                return Response(status: .noContent)
            }
            let app = Application(
                router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: SimulatorRig.logger
            )
            return try await app.test(.live) { client async throws in
                try await body("http://127.0.0.1:\(try #require(client.port))/hooks")
            }
        }
    }

    static func verifier() throws -> WebhookVerifier {
        let provider = try ManifestCatalog.validate(file: TestPaths.providers + "/standard-webhooks.yaml").get()
        return try #require(provider.verifier)
    }

    @Test("deliveries are signed like Standard Webhooks; drop and duplicate rates hold for a fixed seed; order is shuffled")
    func signedWithChaos() async throws {
        let receiver = Receiver()
        let verifier = try Self.verifier()
        try await receiver.run { url async throws in
            let clock = ManualSimulatorClock()
            let simulator = try SimulatorHarness.make(clock: clock) {
                $0.seed = 7
                $0.webhooks = WebhookConfiguration(url: url, secret: Self.secret, dropRate: 0.1, duplicateRate: 0.2, reorderWindow: 4)
            }
            let changes = simulator.mutate(count: 300)
            let emitter = try #require(simulator.webhookEmitter)
            let report = await emitter.deliverPending()
            let deliveries = receiver.deliveries.withLock { $0 }
            #expect(report.attempted == deliveries.count && report.delivered == deliveries.count && report.failed == 0)

            let counters = simulator.counters()
            #expect((15...45).contains(counters.webhooksDropped), "dropped \(counters.webhooksDropped) of 300")
            #expect((35...85).contains(counters.webhooksDuplicated), "duplicated \(counters.webhooksDuplicated) of the rest")
            #expect(deliveries.count == 300 - counters.webhooksDropped + counters.webhooksDuplicated)

            let now = clock.nowMicroseconds() / 1_000_000
            var order: [String] = []
            for delivery in deliveries {
                #expect(throws: Never.self) { try verifier.verify(delivery, secrets: [Self.secret], now: now).get() }
                let id = try #require(delivery.header("webhook-id"))
                let body = try #require(JSONValue(parsing: delivery.body))
                let change = try #require(changes.first { $0.eventID == id })
                #expect(body["type"] == .string(change.eventType))
                #expect(body["data"] == change.record.json)
                #expect(body["timestamp"] == change.record.json["updated_at"])
                order.append(id)
            }
            #expect(Set(order).count == 300 - counters.webhooksDropped)
            #expect(order != order.sorted(), "a reorder window of 4 shuffles")

            var tampered = try #require(deliveries.first)
            tampered.body += Array(" ".utf8)
            #expect(throws: VerificationFailure.self) { try verifier.verify(tampered, secrets: [Self.secret], now: now).get() }
            #expect(throws: VerificationFailure.self) {
                try verifier.verify(deliveries[0], secrets: ["whsec_" + Data("other".utf8).base64EncodedString()], now: now).get()
            }
        }
    }

    @Test("deleted records arrive as <type>.deleted; in order and complete without chaos")
    func plainDelivery() async throws {
        let receiver = Receiver()
        try await receiver.run { url async throws in
            let simulator = try SimulatorHarness.make { $0.webhooks = WebhookConfiguration(url: url, secret: Self.secret) }
            let deleted = try simulator.delete(type: "customer", id: "cus_000002")
            let changes = [deleted] + simulator.mutate(count: 20)
            let report = await simulator.webhookEmitter?.deliverPending()
            #expect(report?.delivered == 21)
            let ids = receiver.deliveries.withLock { $0.map { $0.header("webhook-id") ?? "" } }
            #expect(ids == changes.map(\.eventID))
            let first = try #require(receiver.deliveries.withLock { $0.first }.flatMap { JSONValue(parsing: $0.body) })
            #expect(first["type"] == .string("customer.deleted"))
            #expect(first["data"]?["deleted"] == .bool(true))
        }
    }

    @Test("the emitter service delivers in the background while the application runs", .timeLimit(.minutes(1)))
    func background() async throws {
        let receiver = Receiver()
        try await receiver.run { url async throws in
            let simulator = try SimulatorHarness.make { $0.webhooks = WebhookConfiguration(url: url, secret: Self.secret) }
            try await SimulatorHarness.live(simulator) { client async throws in
                let step = try await client.send("/_sim/mutate?count=12", method: .post, headers: [:], body: "")
                #expect(step.status == .ok)
                for await count in receiver.arrivals where count >= 12 { break }
                guard case .array(let changes)? = step.json?["changes"] else { Issue.record("no changes"); return }
                let sent = receiver.deliveries.withLock { $0.map { $0.header("webhook-id") } }
                #expect(sent == changes.map { $0["event_id"]?.stringValue }, "every change, in order")
            }
        }
    }

    @Test("deliveries to a receiver that is down are counted as failed and not retried")
    func receiverDown() async throws {
        let simulator = try SimulatorHarness.make {
            // Nothing listens on port 1 of the loopback interface.
            $0.webhooks = WebhookConfiguration(url: "http://127.0.0.1:1/hooks", secret: Self.secret, timeout: .milliseconds(300))
        }
        simulator.mutate(count: 3)
        let report = try #require(await simulator.webhookEmitter?.deliverPending())
        #expect(report == WebhookEmitter.Report(attempted: 3, delivered: 0, failed: 3))
        #expect(simulator.counters().webhooksFailed == 3)
        #expect(await simulator.webhookEmitter?.deliverPending() == WebhookEmitter.Report(), "nothing left to send")
    }

    @Test("a webhook target that is not a loopback literal is refused at configuration", arguments: [
        "http://10.0.0.1/hook", "http://192.168.1.10:8080/hook", "https://example.com/hook", "http://localhost:8080/hook",
        "http://[::2]/hook", "http://[::ffff:127.0.0.1]/hook", "http://127.0.0.1.example.com/hook", "http://1.2.3.4/",
    ])
    func notLoopback(url: String) throws {
        #expect {
            _ = try SimulatorHarness.make { $0.webhooks = WebhookConfiguration(url: url, secret: Self.secret) }
        } throws: { error in
            (error as? SimulatorError)?.code == .webhookTargetNotLoopback
        }
    }

    @Test("malformed targets and secrets are configuration errors", arguments: [
        ("ftp://127.0.0.1/hook", secret), ("http://user@127.0.0.1/hook", secret), ("127.0.0.1/hook", secret),
        ("http://127.0.0.1:99999/hook", secret), ("http://127.0.0.1/hook", "not-whsec"), ("http://127.0.0.1/hook", "whsec_***"),
    ])
    func malformed(url: String, secret: String) throws {
        #expect {
            _ = try SimulatorHarness.make { $0.webhooks = WebhookConfiguration(url: url, secret: secret) }
        } throws: { error in
            (error as? SimulatorError)?.code == .invalidConfiguration
        }
    }

    @Test("loopback literals are accepted", arguments: [
        "http://127.0.0.1:9/hook", "http://127.1.2.3/", "https://[::1]:8443/hook", "http://[0:0:0:0:0:0:0:1]/",
    ])
    func loopback(url: String) throws {
        let simulator = try SimulatorHarness.make { $0.webhooks = WebhookConfiguration(url: url, secret: Self.secret) }
        #expect(simulator.webhookEmitter != nil)
    }
}

import Foundation
import Hummingbird
import Logging
import NIOCore
import Synchronization
import Testing
import TributaryCore
import TributaryDelivery
import TributaryIntegrationTesting
import TributaryProviders
import TributaryReconcile
import TributaryRuntime
import TributaryScheduling
import TributaryStore
import TributaryTesting
import TributaryUpstream

/// Every change delivered to the application's URL: signed per Standard Webhooks, tagged with the
/// tenant, retried with the same webhook-id, in version order per record, against a receiver that
/// fails in every way it can; and never to an address the outbound guard refuses.
@Suite("Delivery to destinations", .serialized)
struct DeliveryTests {
    /// A worker with Standard Webhooks' schedule shortened to milliseconds (and longer, so that chaos
    /// alone cannot exhaust it), a 1-s timeout, answers cut to 1 KB.
    static func worker(_ store: Store, resolver: OutboundGuard.Resolver? = nil, allowPrivate: Bool = true) -> DeliveryWorker {
        DeliveryWorker(
            store: store,
            transport: HTTPTransport(outboundGuard: OutboundGuard(allowPrivate: allowPrivate, resolver: resolver), timeoutSeconds: 1, maxBodyBytes: 1024, truncateBodies: true),
            clock: .system, schedule: DeliverySchedule(waits: [0] + Array(repeating: 20_000, count: 30), jitter: 0.2, retryAfterCap: 50_000), concurrency: 4
        )
    }

    /// The operator's door to the engine's database.
    static func admin(_ engine: Engine) throws -> Admin {
        try Admin(databasePath: engine.configuration.databasePath, providersDirectory: TestPaths.providers, masterKey: TestSecrets.masterKey, environment: [:])
    }

    /// Customer `id` at `version` through intake, then applied: the outbox gets its change.
    static func change(_ engine: Engine, _ id: String, _ version: Int) async throws {
        try await TestEngine.live(engine) { client in
            let (headers, body) = SimulatorWebhook.customerUpdated(id, version: version, now: EngineClock.system.now())
            let answer = try await client.send("/webhooks/simulator/sim1", headers: headers, body: body)
            #expect(answer.status == .ok, "\(answer.status) \(answer.bodyText)")
        }
        _ = try await engine.reconciler.runOnce(untilSettled: true, logger: SimulatorRig.logger)
    }

    /// Whether a receiver fails its requests; shared by a test and its receiver.
    final class Switch: Sendable {
        let state: Mutex<Bool>
        init(_ on: Bool) { state = Mutex(on) }
    }

    /// An engine with destination "app" at a receiver that answers 500 while `failing` is on (it starts on),
    /// and a worker that gives a delivery two attempts before it is dead.
    static func withFailingDestination(
        _ label: String, _ body: @escaping @Sendable (Engine, Admin, WebhookReceiver, Switch, DeliveryWorker) async throws -> Void
    ) async throws {
        let directory = try TestPaths.temporaryDirectory(label)
        defer { try? FileManager.default.removeItem(at: directory) }
        let engine = try await Self.engine(directory)
        let admin = try Self.admin(engine)
        let failing = Switch(true)
        let receiver = WebhookReceiver { _ in failing.state.withLock { $0 } ? .status(500) : .status(200) }
        try await receiver.run { port in
            _ = try await admin.addDestination(Admin.NewDestination(
                id: "app", url: "http://127.0.0.1:\(port)/hook", tenant: nil, connection: nil, kinds: [.recordChanged], recordTypes: [], allowPrivate: true
            ))
            let worker = DeliveryWorker(
                store: engine.store, transport: HTTPTransport(outboundGuard: OutboundGuard(allowPrivate: true), timeoutSeconds: 1),
                clock: .system, schedule: DeliverySchedule(waits: [0], jitter: 0), concurrency: 4
            )
            try await body(engine, admin, receiver, failing, worker)
        }
    }

    static func engine(_ directory: URL) async throws -> Engine {
        var configuration = TestEngine.configuration(directory: directory)
        configuration.now = EngineClock.system.now
        configuration.polling = false
        configuration.reconciling = false
        let engine = try Engine(configuration: configuration)
        _ = try await engine.store.addConnection(id: "sim1", provider: "simulator", tenant: "acme", account: nil, toleranceSeconds: nil, webhookSecrets: [ChaosRig.secret], now: 0)
        return engine
    }

    @Test("under 500s, 429s with Retry-After, timeouts and long answers, every record.changed arrives verified, tenant-tagged, once per version in version order per record, with one webhook-id per delivery")
    func chaosReceiver() async throws {
        let directory = try TestPaths.temporaryDirectory("delivery-chaos")
        defer { try? FileManager.default.removeItem(at: directory) }
        let engine = try await Self.engine(directory)
        let admin = try Self.admin(engine)
        let receiver = WebhookReceiver { n in
            var random = SplitMix64(seed: UInt64(n) &* 7919 &+ 17)
            let roll = random.nextUnit()
            return switch roll {
            case ..<0.25: .status(500)
            case ..<0.35: .status(429, retryAfter: "0")
            case ..<0.40: .status(503, retryAfter: "Wed, 21 Oct 2015 07:28:00 GMT")
            case ..<0.44: .slow(1.5)
            case ..<0.50: .status(200, body: 100_000)
            default: .status(204, body: 0)
            }
        }
        let records = (0..<12).map { "cus_\($0)" }
        let versions = 1...4
        let (secret, deliveredCount) = try await receiver.run { port in
            let (destination, secret) = try await admin.addDestination(Admin.NewDestination(
                id: "app", url: "http://127.0.0.1:\(port)/hook", tenant: nil, connection: nil, kinds: [.recordChanged], recordTypes: [], allowPrivate: true
            ))
            #expect(destination.state == .active && secret.hasPrefix("whsec_"))
            let worker = Self.worker(engine.store)
            // Version by version, records interleaved; a delivery pass between some rounds, so a record's
            // later versions queue behind an earlier one still failing.
            try await TestEngine.live(engine) { client in
                for version in versions {
                    for id in records.shuffled() {
                        let (headers, body) = SimulatorWebhook.customerUpdated(id, version: version, now: EngineClock.system.now())
                        let answer = try await client.send("/webhooks/simulator/sim1", headers: headers, body: body)
                        #expect(answer.status == .ok, "\(answer.status) \(answer.bodyText)")
                    }
                    _ = try await engine.reconciler.runOnce(untilSettled: true, logger: SimulatorRig.logger)
                    if version % 2 == 0 { try await worker.runOnce(logger: SimulatorRig.logger) }
                }
            }
            var passes = 0
            while try await !engine.store.deliveries(destination: "app", status: .pending, limit: 1).isEmpty, passes < 400 {
                try await worker.runOnce(logger: SimulatorRig.logger)
                try await Task.sleep(for: .milliseconds(20))
                passes += 1
            }
            return (secret, try await engine.store.deliveries(destination: "app", status: .delivered, limit: 1000).count)
        }
        #expect(deliveredCount == records.count * versions.count, "delivered \(deliveredCount)")
        #expect(try await engine.store.deliveries(destination: "app", status: .dead, limit: 10).isEmpty)
        let lag = try await admin.deliveryLag(destination: "app")
        #expect(lag.delivered == records.count * versions.count && lag.oldestPending == nil)
        #expect((lag.p50 ?? -1) >= 0 && (lag.p50 ?? 0) <= (lag.p99 ?? -1), "\(lag)")

        let catalog = try ManifestCatalog.loadValid(directory: TestPaths.providers)
        let verifier = try #require(catalog.providers["standard-webhooks"]?.verifier)
        var accepted: [String: [Int]] = [:]
        var idOf: [String: String] = [:]
        let requests = receiver.requests
        #expect(requests.contains { $0.answered >= 500 } && requests.contains { $0.answered == 429 }, "the chaos did not happen")
        for request in requests {
            // The project's own Standard Webhooks verifier, with the secret shown at `destinations add`.
            let verified = verifier.verify(WebhookRequest(method: "POST", url: "http://127.0.0.1/hook", headers: request.headers, body: request.body), secrets: [secret], now: EngineClock.system.now() / 1_000_000)
            guard case .success = verified else {
                Issue.record("a delivery did not verify: \(verified)")
                continue
            }
            #expect(request.header("Tributary-Tenant") == "acme" && request.header("Tributary-Connection") == "sim1" && request.header("Tributary-Provider") == "simulator")
            let json = try #require(JSONValue(parsing: request.body))
            #expect(json["type"]?.stringValue == "record.changed")
            let data = try #require(json["data"])
            let id = try #require(data["record_id"]?.stringValue)
            let version = try #require(data["version"]?.stringValue.flatMap { Int($0) })
            #expect(data["tenant"]?.stringValue == "acme" && data["data"]?["name"]?.stringValue == "n\(version)")
            // One webhook-id per (record, version), the same on every retry.
            let webhookID = try #require(request.header("webhook-id"))
            let key = "\(id)@\(version)"
            if let seen = idOf[key] { #expect(seen == webhookID, "\(key) was sent with two webhook-ids") } else { idOf[key] = webhookID }
            if (200..<300).contains(request.answered) { accepted[id, default: []].append(version) }
        }
        for id in records {
            // Taken once per version (a retry after a timeout the receiver did take may repeat one), never out of order.
            let taken = accepted[id] ?? []
            #expect(Array(Set(taken)).sorted() == Array(versions), "\(id) took \(taken)")
            #expect(taken == taken.sorted(), "\(id): a later version arrived before an earlier one: \(taken)")
        }
        #expect(Set(idOf.values).count == idOf.count, "two deliveries shared a webhook-id")
        // Answers are kept cut to 1 KB.
        let kept = try await engine.store.deliveries(destination: "app", status: .delivered, limit: 1000).compactMap(\.lastResponse)
        #expect(kept.allSatisfy { $0.utf8.count <= Delivery.keptResponseBytes })
    }

    @Test("a 410 disables the destination at once and keeps the delivery; resume sends it")
    func goneDisables() async throws {
        let directory = try TestPaths.temporaryDirectory("delivery-gone")
        defer { try? FileManager.default.removeItem(at: directory) }
        let engine = try await Self.engine(directory)
        let admin = try Self.admin(engine)
        let gone = Mutex(true)
        let receiver = WebhookReceiver { _ in gone.withLock { $0 } ? .status(410) : .status(200) }
        try await receiver.run { port in
            _ = try await admin.addDestination(Admin.NewDestination(
                id: "app", url: "http://127.0.0.1:\(port)/hook", tenant: "acme", connection: nil, kinds: [.recordChanged], recordTypes: ["customer"], allowPrivate: true
            ))
            try await Self.change(engine, "cus_1", 1)
            let worker = Self.worker(engine.store)
            try await worker.runOnce(logger: SimulatorRig.logger)
            let disabled = try await admin.destination(id: "app")
            #expect(disabled.state == .disabled && disabled.reason?.contains("410") == true)
            #expect(receiver.requests.count == 1)
            try await worker.runOnce(logger: SimulatorRig.logger)
            #expect(receiver.requests.count == 1, "a disabled destination was sent to")
            // A change while it is disabled still queues: resume loses nothing.
            try await Self.change(engine, "cus_1", 2)
            #expect(try await engine.store.deliveries(destination: "app", status: .pending, limit: 10).count == 2)
            gone.withLock { $0 = false }
            try await admin.setDestinationState(id: "app", .active)
            try await worker.runOnce(logger: SimulatorRig.logger)
            #expect(try await engine.store.deliveries(destination: "app", status: .delivered, limit: 10).count == 2)
            let versions = receiver.requests.dropFirst().compactMap { JSONValue(parsing: $0.body)?["data"]?["version"]?.stringValue }
            #expect(versions == ["1", "2"], "\(versions)")
        }
    }

    @Test("a dead delivery is retried from the start of the schedule, unless a later one of its record was taken since")
    func retryDead() async throws {
        try await Self.withFailingDestination("delivery-retry") { engine, admin, receiver, failing, worker in
            try await Self.change(engine, "cus_1", 1)
            try await Self.change(engine, "cus_2", 1)
            try await worker.runOnce(logger: SimulatorRig.logger)
            let dead = try await engine.store.deliveries(destination: "app", status: .dead, limit: 10)
            #expect(dead.count == 2 && dead.allSatisfy { $0.attempts == 2 && $0.lastStatus == 500 })
            failing.state.withLock { $0 = false }
            try await Self.change(engine, "cus_1", 2)
            try await worker.runOnce(logger: SimulatorRig.logger)
            // cus_1's v1 is superseded by v2, taken; cus_2's v1 is the newest it has: sent again.
            #expect(try await admin.retryDeliveries(ids: [], destination: "app") == 1)
            try await worker.runOnce(logger: SimulatorRig.logger)
            let taken = receiver.requests.filter { $0.answered == 200 }.compactMap { JSONValue(parsing: $0.body)?["data"] }
            #expect(taken.map { "\($0["record_id"]?.stringValue ?? "")@\($0["version"]?.stringValue ?? "")" } == ["cus_1@2", "cus_2@1"])
            #expect(try await engine.store.deliveries(destination: "app", status: .dead, limit: 10).map(\.recordId) == ["cus_1"])
        }
    }

    @Test("retention deletes old delivered and dead deliveries, but keeps a delivered one while an older dead one of its record could be retried")
    func retention() async throws {
        try await Self.withFailingDestination("delivery-retention") { engine, admin, receiver, failing, worker in
            try await Self.change(engine, "cus_1", 1)
            try await Self.change(engine, "cus_2", 1)
            try await worker.runOnce(logger: SimulatorRig.logger)
            failing.state.withLock { $0 = false }
            try await Self.change(engine, "cus_1", 2)
            try await Self.change(engine, "cus_3", 1)
            try await worker.runOnce(logger: SimulatorRig.logger)
            func rows(_ status: Delivery.Status) async throws -> [String] {
                try await engine.store.deliveries(destination: "app", status: status, limit: 100).map { "\($0.recordId ?? "")@\($0.version ?? 0)" }.sorted()
            }
            #expect(try await rows(.dead) == ["cus_1@1", "cus_2@1"])
            #expect(try await rows(.delivered) == ["cus_1@2", "cus_3@1"])

            // Every delivered row is past retention, no dead one is: cus_1@2 stays, because without it a
            // retry would send cus_1@1 over the newer state the receiver holds.
            let far = EngineClock.system.now() + 3_600_000_000
            #expect(try await engine.store.pruneDeliveries(deliveredBefore: far, deadBefore: 0) == 1)
            #expect(try await rows(.delivered) == ["cus_1@2"])
            #expect(try await admin.retryDeliveries(ids: [], destination: "app") == 1, "only cus_2@1 may be retried; cus_1@1 is still superseded")
            try await worker.runOnce(logger: SimulatorRig.logger)
            #expect(try await rows(.dead) == ["cus_1@1"])

            // A worker whose retention is a microsecond prunes on its first pass: the dead row, then the
            // delivered rows it no longer protects.
            let pruning = DeliveryWorker(
                store: engine.store, transport: HTTPTransport(outboundGuard: OutboundGuard(allowPrivate: true), timeoutSeconds: 1),
                clock: .system, schedule: DeliverySchedule(waits: [0], jitter: 0), retention: DeliveryRetention(delivered: 1, dead: 1)
            )
            try await pruning.runOnce(logger: SimulatorRig.logger)
            #expect(try await rows(.dead) == [])
            #expect(try await rows(.delivered) == [])
            #expect(try await rows(.pending) == [])
            let counts = try await engine.store.deliveryCounts()
            #expect(counts["app"] == nil, "nothing pending or dead is left to count: \(String(describing: counts["app"]))")
        }
    }

    @Test("a destination at a link-local, private or metadata address is refused at add; one whose name resolves there is refused at each delivery, before any connection")
    func outboundGuard() async throws {
        let rows: [(url: String, allowPrivate: Bool, says: String?)] = [
            ("http://169.254.169.254/latest/meta-data", true, "link-local address"),
            ("http://10.0.0.1/hook", false, "private address"),
            ("http://[fe80::1]/hook", true, "link-local address"),
            ("http://127.0.0.1:9/hook", false, "loopback address"),
            ("http://0.0.0.0/hook", true, "unspecified address"),
            ("http://[::ffff:169.254.169.254]/x", true, "link-local address"),
            ("http://2852039166/latest", true, "link-local address"),      // 169.254.169.254 as one number
            ("http://0xA9FEA9FE/latest", true, "link-local address"),
            ("http://169.254.43518/latest", true, "link-local address"),
            ("http://012.0.0.1/hook", false, "private address"),           // octal 10.0.0.1
            ("http://[fe80::1%25eth0]/hook", true, "link-local address"),
            ("ftp://example.com/hook", true, "absolute http(s) URL"),
            ("https://user:pass@example.com/hook", true, "must not hold credentials"),
            ("https://example.com/hook#frag", true, "#fragment"),
            ("/relative", true, "absolute http(s) URL"),
            ("https://" + String(repeating: "a", count: 3000) + ".com", true, "absolute http(s) URL"),
            ("https://app.example.com/webhooks/tributary", false, nil),
            ("http://10.0.0.1/hook", true, nil),
        ]
        for row in rows {
            do {
                try Admin.checkDestinationURL(row.url, allowPrivate: row.allowPrivate)
                #expect(row.says == nil, "\(row.url.prefix(60)) was accepted")
            } catch {
                #expect(row.says.map { "\(error)".contains($0) } == true, "\(row.url.prefix(60)): \(error)")
            }
        }

        let directory = try TestPaths.temporaryDirectory("delivery-guard")
        defer { try? FileManager.default.removeItem(at: directory) }
        let engine = try await Self.engine(directory)
        let receiver = WebhookReceiver { _ in .status(200) }
        try await receiver.run { port in
            // The name is not checked at add (it could change); each delivery resolves it and refuses.
            _ = try await engine.store.addDestination(
                id: "meta", url: "http://metadata.internal.test:\(port)/hook", tenant: nil, connection: nil, kinds: [.recordChanged], recordTypes: [],
                secret: StandardWebhooks.newSecret(), now: 0
            )
            try await Self.change(engine, "cus_1", 1)
            let resolved = Mutex(0)
            let worker = Self.worker(engine.store, resolver: { _ in resolved.withLock { $0 += 1 }; return [[169, 254, 169, 254]] }, allowPrivate: true)
            try await worker.runOnce(logger: SimulatorRig.logger)
            let delivery = try #require(try await engine.store.deliveries(destination: "meta", limit: 1).first)
            #expect(delivery.status == .pending && delivery.lastStatus == nil && delivery.lastError?.contains("link-local") == true, "\(delivery.lastError ?? "")")
            #expect(resolved.withLock { $0 } >= 1 && receiver.requests.isEmpty, "the guard let a request through")
        }
    }

    @Test("replay sends the mirror's records changed since a time again, as they are now, with new webhook-ids, a few per round beside live changes")
    func replay() async throws {
        let directory = try TestPaths.temporaryDirectory("delivery-replay")
        defer { try? FileManager.default.removeItem(at: directory) }
        let engine = try await Self.engine(directory)
        let admin = try Self.admin(engine)
        let receiver = WebhookReceiver()
        try await receiver.run { port in
            _ = try await admin.addDestination(Admin.NewDestination(
                id: "app", url: "http://127.0.0.1:\(port)/hook", tenant: nil, connection: nil, kinds: [.recordChanged], recordTypes: [], allowPrivate: true
            ))
            let started = EngineClock.system.now()
            try await TestEngine.live(engine) { client in
                for id in ["cus_1", "cus_2", "cus_3"] {
                    let (headers, body) = SimulatorWebhook.customerUpdated(id, version: 2, now: EngineClock.system.now())
                    _ = try await client.send("/webhooks/simulator/sim1", headers: headers, body: body)
                }
            }
            _ = try await engine.reconciler.runOnce(untilSettled: true, logger: SimulatorRig.logger)
            let worker = Self.worker(engine.store)
            try await worker.runOnce(logger: SimulatorRig.logger)
            #expect(receiver.requests.count == 3)
            // Refusals first: neither or both bounds, an unknown destination.
            await #expect(throws: OperationError.self) { _ = try await admin.replayDeliveries(destination: "app", since: nil, afterSeq: nil) }
            await #expect(throws: OperationError.self) { _ = try await admin.replayDeliveries(destination: "app", since: 0, afterSeq: 0) }
            await #expect(throws: OperationError.self) { _ = try await admin.replayDeliveries(destination: "ghost", since: 0, afterSeq: nil) }
            #expect(try await admin.replayDeliveries(destination: "app", since: started, afterSeq: nil) == 3)
            #expect(try await admin.replayDeliveries(destination: "app", since: EngineClock.system.now() + 60_000_000, afterSeq: nil) == 0)
            // A live change meanwhile: it goes first, and the replays take only their share of a round.
            try await Self.change(engine, "cus_4", 1)
            let round = try await engine.store.dueDeliveries(destination: "app", now: EngineClock.system.now(), limit: 8, replays: 1, busy: [])
            #expect(round.map(\.recordId) == ["cus_4", "cus_1"], "\(round.map(\.recordId))")
            try await worker.runOnce(logger: SimulatorRig.logger)
        }
        let requests = receiver.requests
        #expect(requests.count == 7 && requests.allSatisfy { $0.answered == 200 })
        let ids = requests.compactMap { $0.header("webhook-id") }
        #expect(Set(ids).count == 7, "a replay reused a webhook-id")
        let replayed = requests.suffix(4).compactMap { JSONValue(parsing: $0.body)?["data"] }.filter { $0["record_id"]?.stringValue != "cus_4" }
        #expect(Set(replayed.compactMap { $0["record_id"]?.stringValue }) == ["cus_1", "cus_2", "cus_3"])
        #expect(replayed.allSatisfy { $0["version"]?.stringValue == "2" && $0["data"]?["name"]?.stringValue == "n2" })
    }

    @Test("event.received: each verified event as logged (applied or superseded), before the change it made, in order with the record's changes")
    func eventReceived() async throws {
        let directory = try TestPaths.temporaryDirectory("delivery-events")
        defer { try? FileManager.default.removeItem(at: directory) }
        let engine = try await Self.engine(directory)
        let admin = try Self.admin(engine)
        let receiver = WebhookReceiver()
        try await receiver.run { port in
            _ = try await admin.addDestination(Admin.NewDestination(
                id: "both", url: "http://127.0.0.1:\(port)/hook", tenant: nil, connection: nil, kinds: [.recordChanged, .eventReceived], recordTypes: [], allowPrivate: true
            ))
            try await TestEngine.live(engine) { client in
                for version in [2, 1] {   // the second is older: superseded, still an event
                    let (headers, body) = SimulatorWebhook.customerUpdated("cus_1", version: version, now: EngineClock.system.now())
                    _ = try await client.send("/webhooks/simulator/sim1", headers: headers, body: body)
                }
            }
            _ = try await engine.reconciler.runOnce(untilSettled: true, logger: SimulatorRig.logger)
            try await Self.worker(engine.store).runOnce(logger: SimulatorRig.logger)
        }
        let messages = receiver.requests.compactMap { JSONValue(parsing: $0.body) }
        #expect(messages.map { $0["type"]?.stringValue ?? "" } == ["event.received", "record.changed", "event.received"], "\(messages.map { $0["type"]?.stringValue ?? "" })")
        let first = try #require(messages.first?["data"])
        #expect(first["event_id"]?.stringValue == "evt_cus_1_2" && first["status"]?.stringValue == "applied" && first["body"]?["data"]?["name"]?.stringValue == "n2")
        #expect(messages.last?["data"]?["status"]?.stringValue == "superseded")
    }

    @Test("signatures match the official standardwebhooks SDK's, one per active secret during a rotation")
    func signatureVectors() throws {
        let vector = try Vector.load("standard-webhooks")
        let id = try #require(vector.headers["webhook-id"])
        let one = StandardWebhooks.signature(id: id, timestamp: vector.timestamp, body: Array(vector.body.utf8), secrets: [vector.secret])
        #expect(one == vector.headers["webhook-signature"], "\(vector.producedBy)")
        let both = StandardWebhooks.signature(id: id, timestamp: vector.timestamp, body: Array(vector.body.utf8), secrets: [vector.secret, vector.rotated.secret])
        #expect(both == "\(vector.headers["webhook-signature"] ?? "") \(vector.rotated.headers["webhook-signature"] ?? "")")
        #expect(StandardWebhooks.key(StandardWebhooks.newSecret())?.count == 32)
    }
}

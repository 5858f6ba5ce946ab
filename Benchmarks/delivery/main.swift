// Delivery benchmark: deliveries/s the delivery worker sends from the outbox to a receiver, against a
// bare loop POSTing the same signed bodies to the same receiver with the same concurrency and the
// same HTTP client, in one run, A/B/A/B (target >= 0.5); and the delivery lag (outbox row written →
// receiver's 2xx recorded) p50/p99 of the worker's rounds.
//
// Each round: N distinct records' changes are logged as polled observations and applied by the
// reconciler, which writes N deliveries into the outbox (untimed); the worker then drains them
// (timed: selection of each record's head delivery, signing, POST, recording the answer). The bare
// loop sends N POSTs of the same payloads and headers through the same transport, 8 at a time,
// recording nothing. The receiver is an in-process Hummingbird server on 127.0.0.1 answering 204.
// Usage: tributary-bench-delivery [--deliveries N] [--rounds R]
import Foundation
import Logging
import TributaryCore
import TributaryDelivery
import TributaryIntegrationTesting
import TributaryPolling
import TributaryProviders
import TributaryReconcile
import TributaryScheduling
import TributaryStore
import TributaryTesting
import TributaryUpstream

let arguments = CommandLine.arguments
func option(_ name: String, default value: Int) -> Int {
    guard let i = arguments.firstIndex(of: name), i + 1 < arguments.count, let n = Int(arguments[i + 1]), n > 0 else { return value }
    return n
}
let perRound = option("--deliveries", default: 2_000)
let rounds = option("--rounds", default: 2)
let concurrency = 8
let logger: Logger = {
    var logger = Logger(label: "bench-delivery")
    logger.logLevel = .error
    return logger
}()
let clock: @Sendable () -> Int64 = EngineClock.system.now
func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }
func percentile(_ values: [Int64], _ p: Double) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    return Double(sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * p))]) / 1000
}

let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tributary-bench-delivery-\(UUID().uuidString)")
try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: directory) }

let receiver = WebhookReceiver { _ in .status(204, body: 0) }
try await receiver.run { port in
    let catalog = try ManifestCatalog.loadValid(directory: TestPaths.providers)
    let store = try Store(path: directory.appendingPathComponent("delivery.db").path, masterKey: TestSecrets.masterKey, logger: logger)
    _ = try await store.addConnection(id: "sim", provider: "simulator", tenant: "bench", account: nil, toleranceSeconds: nil, webhookSecrets: [], now: 0)
    _ = try await store.acquireLease("bench", holder: "bench", ttl: .seconds(3600), now: clock())
    let secret = StandardWebhooks.newSecret()
    let url = "http://127.0.0.1:\(port)/hook"
    _ = try await store.addDestination(id: "app", url: url, tenant: nil, connection: nil, kinds: [.recordChanged], recordTypes: [], secret: secret, now: 0)
    let reconciler = Reconciler(store: store, catalog: catalog, clients: nil, now: clock)
    let transport = HTTPTransport(outboundGuard: OutboundGuard(allowPrivate: true), timeoutSeconds: 15, maxBodyBytes: Delivery.keptResponseBytes, truncateBodies: true)
    let worker = DeliveryWorker(store: store, transport: transport, clock: .system, concurrency: concurrency)

    /// Logs and applies one round of changes: the outbox gets `perRound` deliveries.
    func fill(_ round: Int) async throws {
        var drafts: [EventDraft] = []
        for n in 0..<perRound {
            let id = String(format: "cus_%07d", n)
            let body = #"{"id":"\#(id)","type":"customer","version":\#(round),"updated_at":"2026-11-20T10:00:00Z","deleted":false,"data":{"name":"Customer \#(n)","email":"c\#(n)@example.com"}}"#
            drafts.append(EventDraft(
                connection: "sim", tenant: "bench", provider: "simulator", source: .poll, eventId: "poll:customer:\(id):\(round)", type: "customer.observed",
                record: RecordRef(recordType: "customer", recordId: id, version: Int64(round), deleted: false, fullState: true),
                occurredAt: nil, receivedAt: 0, headers: [], body: Array(body.utf8), url: nil
            ))
        }
        for start in stride(from: 0, to: drafts.count, by: 1000) {
            _ = try await store.commitPage(Array(drafts[start..<min(start + 1000, drafts.count)]), connection: "sim", resource: "bench", cursor: PollCursor(), lease: "bench", holder: "bench", now: clock(), pages: 1)
        }
        _ = try await reconciler.runOnce(untilSettled: true, logger: logger)
    }

    var workerRates: [Double] = []
    var bareRates: [Double] = []
    var lags: [Int64] = []
    for round in 1...rounds {
        // A: the worker drains the outbox.
        try await fill(round)
        let pending = try await store.deliveries(destination: "app", status: .pending, limit: perRound + 1)
        guard pending.count == perRound else { fatalError("the outbox holds \(pending.count) deliveries, expected \(perRound)") }
        let start = ContinuousClock.now
        let report = try await worker.runOnce(logger: logger)
        let workerTime = seconds(ContinuousClock.now - start)
        guard report.delivered == perRound else { fatalError("delivered \(report.delivered) of \(perRound): \(report)") }
        workerRates.append(Double(perRound) / workerTime)
        for delivery in try await store.deliveries(destination: "app", status: .delivered, limit: perRound) {
            if let at = delivery.deliveredAt { lags.append(at - delivery.createdAt) }
        }
        // B: the same payloads and headers, POSTed with the same transport and concurrency, nothing recorded.
        let bodies = pending.map(\.payload)
        let bareStart = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for lane in 0..<concurrency {
                group.addTask {
                    for index in stride(from: lane, to: bodies.count, by: concurrency) {
                        let now = clock() / 1_000_000
                        let id = "msg_bare_\(round)_\(index)"
                        let answer = try await transport.send(UpstreamRequest(method: "POST", url: url, headers: [
                            ("Content-Type", "application/json"), ("User-Agent", "tributary"), ("webhook-id", id), ("webhook-timestamp", String(now)),
                            ("webhook-signature", StandardWebhooks.signature(id: id, timestamp: now, body: bodies[index], secrets: [secret])),
                            ("Tributary-Tenant", "bench"), ("Tributary-Connection", "sim"), ("Tributary-Provider", "simulator"),
                        ], body: bodies[index]))
                        guard answer.status == 204 else { fatalError("the receiver answered \(answer.status)") }
                    }
                }
            }
            try await group.waitForAll()
        }
        bareRates.append(Double(perRound) / seconds(ContinuousClock.now - bareStart))
        print(String(format: "round %d: worker %.0f deliveries/s, bare loop %.0f POSTs/s, ratio %.2f", round, workerRates.last!, bareRates.last!, workerRates.last! / bareRates.last!))
    }
    let workerRate = workerRates.reduce(0, +) / Double(workerRates.count)
    let bareRate = bareRates.reduce(0, +) / Double(bareRates.count)
    print(String(format: "delivery: %d deliveries x %d rounds, %d in flight; worker %.0f/s, bare loop (ceiling) %.0f/s, ratio %.2f (target >= 0.50)", perRound, rounds, concurrency, workerRate, bareRate, workerRate / bareRate))
    print(String(format: "delivery lag (outbox row → 2xx recorded, whole outbox queued at once): p50 %.1f ms, p99 %.1f ms", percentile(lags, 0.5), percentile(lags, 0.99)))
    print("receiver got \(receiver.requests.count) requests")
}

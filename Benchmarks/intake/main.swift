// Intake benchmark: durable acks/s for signed webhooks against a bare Hummingbird route, in one run.
//
// One client process, 64 keep-alive connections, closed loop (each connection sends its
// next request when the previous answer arrives). Figures:
//   1. durable acks/s through intake (verify + extract + group commit with synchronous=FULL);
//   2. the same client against a bare route that reads the body and answers 200 (the ceiling);
//   3. their ratio (target >= 0.6);
//   4. ack latency p50/p99 at half the measured max rate, open loop, measured from each
//      request's scheduled send time so a stall cannot hide itself (target p99 < 5 ms);
//   5. acks/s with one commit per request (group commit off), to show what grouping buys.
// Usage: tributary-bench-intake [--seconds S] [--connections N] [--only intake|bare] (--only: one phase, for profiling)
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import TributaryIntake
import TributaryRuntime
import TributaryStore
import TributaryIntegrationTesting
import TributaryTesting

let arguments = CommandLine.arguments
func option(_ name: String, _ fallback: Int) -> Int {
    guard let i = arguments.firstIndex(of: name), i + 1 < arguments.count, let value = Int(arguments[i + 1]) else { return fallback }
    return value
}
let seconds = option("--seconds", 5)
let connections = option("--connections", 64)
let secret = "bench-secret"
let masterKey = TestSecrets.masterKey

/// Numbers every request gets, unique across the whole run (so every intake request is a new event).
let sequence = Atomic<Int>(0)

func signedRequest(path: String) -> (HTTPFields, ByteBuffer) {
    let n = sequence.add(1, ordering: .relaxed).newValue
    let body = Signer.issueBody(n)
    var headers = HTTPFields()
    for (name, value) in Signer.github(body: body, secret: secret, delivery: "bench-\(n)") {
        headers.append(HTTPField(name: HTTPField.Name(name)!, value: value))
    }
    return (headers, ByteBuffer(string: body))
}

struct Measurement {
    var ok: Int
    var failed: Int
    var elapsed: Double
    var latencies: [Double]
    var rate: Double { Double(ok) / elapsed }

    func percentile(_ p: Double) -> Double {
        guard !latencies.isEmpty else { return .nan }
        let sorted = latencies.sorted()
        return sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)]
    }
}

/// Runs `connections` clients against `port` for `seconds`. With `ratePerSecond`, each connection
/// sends on a fixed schedule (open loop) and latency counts from the scheduled time.
func load(port: Int, path: String, seconds: Int, ratePerSecond: Double? = nil) async throws -> Measurement {
    let start = ContinuousClock.now
    let deadline = start + .seconds(seconds)
    let results = try await withThrowingTaskGroup(of: (Int, Int, [Double]).self) { group in
        for c in 0..<connections {
            group.addTask {
                let client = TestClient(host: "127.0.0.1", port: port, configuration: .init(timeout: .seconds(30)))
                client.connect()
                var ok = 0, failed = 0
                var latencies: [Double] = []
                let interval: Duration? = ratePerSecond.map { .nanoseconds(Int64(1e9 * Double(connections) / $0)) }
                var scheduled = start + (interval.map { $0 * (Double(c) / Double(connections)) } ?? .zero)
                while ContinuousClock.now < deadline {
                    if interval != nil {
                        if scheduled > ContinuousClock.now { try await Task.sleep(until: scheduled, clock: .continuous) }
                    } else {
                        scheduled = ContinuousClock.now
                    }
                    let (headers, body) = signedRequest(path: path)
                    let response = try await client.post(path, headers: headers, body: body)
                    let latency = ContinuousClock.now - scheduled
                    if response.status == .ok { ok += 1 } else { failed += 1 }
                    latencies.append(Double(latency.components.seconds) * 1000 + Double(latency.components.attoseconds) / 1e15)
                    if let interval { scheduled += interval }
                }
                try await client.shutdown()
                return (ok, failed, latencies)
            }
        }
        return try await group.reduce(into: Measurement(ok: 0, failed: 0, elapsed: 0, latencies: [])) { total, part in
            total.ok += part.0
            total.failed += part.1
            total.latencies += part.2
        }
    }
    var measurement = results
    measurement.elapsed = Double((ContinuousClock.now - start).components.seconds) + Double((ContinuousClock.now - start).components.attoseconds) / 1e18
    return measurement
}

/// Runs `app` until `body` finishes, handing `body` the bound port.
func withRunning<App: ApplicationProtocol>(_ makeApp: (@escaping @Sendable (Int) async -> Void) -> App, _ body: @escaping @Sendable (Int) async throws -> Measurement) async throws -> Measurement {
    let (portStream, portContinuation) = AsyncStream.makeStream(of: Int.self)
    let app = makeApp { port in portContinuation.yield(port) }
    var logger = Logger(label: "bench")
    logger.logLevel = .error
    let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
    return try await withThrowingTaskGroup(of: Measurement?.self) { tasks in
        tasks.addTask {
            try await group.run()
            return nil
        }
        var iterator = portStream.makeAsyncIterator()
        guard let port = await iterator.next() else { fatalError("server did not start") }
        let result = try await body(port)
        await group.triggerGracefulShutdown()
        try await tasks.waitForAll()
        return result
    }
}

func intakeEngine(groupCommit: Bool) throws -> (Engine, URL) {
    let directory = try TestPaths.temporaryDirectory("bench")
    var configuration = TestEngine.configuration(directory: directory)
    configuration.masterKey = masterKey
    configuration.groupCommit = groupCommit
    configuration.logger.logLevel = .error
    return (try Engine(configuration: configuration), directory)
}

func measureIntake(groupCommit: Bool, seconds: Int, ratePerSecond: Double? = nil) async throws -> (Measurement, commits: Int) {
    let (engine, directory) = try intakeEngine(groupCommit: groupCommit)
    defer { try? FileManager.default.removeItem(at: directory) }
    _ = try await engine.store.addConnection(id: "gh1", provider: "github", tenant: "bench", account: nil, toleranceSeconds: nil, webhookSecrets: [secret], now: 0)
    let measurement = try await withRunning({ engine.application(onServerRunning: $0) }) { port in
        try await load(port: port, path: "/webhooks/github/gh1", seconds: seconds, ratePerSecond: ratePerSecond)
    }
    return (measurement, engine.store.commitCount)
}

func measureBare(seconds: Int) async throws -> Measurement {
    try await withRunning({ onRunning in
        let router = Router()
        router.post("/bare") { request, _ -> HTTPResponse.Status in
            _ = try await request.body.collect(upTo: 1 << 20)
            return .ok
        }
        var logger = Logger(label: "bench-bare")
        logger.logLevel = .error
        return Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { await onRunning($0.localAddress?.port ?? 0) },
            logger: logger
        )
    }) { port in
        try await load(port: port, path: "/bare", seconds: seconds)
    }
}

func f(_ value: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", value) }

if let i = arguments.firstIndex(of: "--only"), i + 1 < arguments.count {
    if arguments[i + 1] == "bare" {
        print("bare: \(f(try await measureBare(seconds: seconds).rate)) req/s")
    } else {
        print("intake: \(f(try await measureIntake(groupCommit: true, seconds: seconds).0.rate)) acks/s")
    }
    exit(0)
}
print("intake benchmark: \(connections) connections, \(seconds) s per phase, closed loop unless noted")
let bare = try await measureBare(seconds: seconds)
print("bare Hummingbird route (reads body, 200):   \(f(bare.rate)) req/s  (p50 \(f(bare.percentile(0.5), 2)) ms, p99 \(f(bare.percentile(0.99), 2)) ms)")
let (grouped, groupedCommits) = try await measureIntake(groupCommit: true, seconds: seconds)
print("intake, durable acks (group commit):        \(f(grouped.rate)) acks/s  (\(grouped.ok) acks in \(groupedCommits) commits, \(f(Double(grouped.ok) / Double(max(groupedCommits, 1)))) per commit, \(grouped.failed) non-2xx)")
let ratio = grouped.rate / bare.rate
print("ratio intake / bare:                        \(f(ratio, 2))  (target >= 0.60: \(ratio >= 0.6 ? "met" : "missed"))")
let half = grouped.rate / 2
let (paced, _) = try await measureIntake(groupCommit: true, seconds: seconds, ratePerSecond: half)
let p99 = paced.percentile(0.99)
print("ack latency at \(f(half)) req/s (half max):   p50 \(f(paced.percentile(0.5), 2)) ms, p99 \(f(p99, 2)) ms  (\(paced.ok) acks; target p99 < 5 ms: \(p99 < 5 ? "met" : "missed"))")
let (single, singleCommits) = try await measureIntake(groupCommit: false, seconds: seconds)
print("intake, one commit per request:             \(f(single.rate)) acks/s  (\(singleCommits) commits; group commit is \(f(grouped.rate / max(single.rate, 0.001), 2))x)")

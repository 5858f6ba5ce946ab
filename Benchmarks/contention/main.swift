// Contention benchmark: how long intake's acks wait while the store's other writers work.
//
// Signed GitHub deliveries at a fixed rate (open loop: each request has a scheduled send time and
// its latency counts from it, so a stall cannot hide), over 16 keep-alive connections, through
// the real HTTP server, in three phases of one run. The load comes from a child process (this
// executable with --client), so the server's work cannot starve the client that times it:
//   1. idle: nothing else writes;
//   2. reconcile: the reconciler applies a backlog of N pending webhook events (default 100,000),
//      each a full-state body it must parse;
//   3. sweep: a sweep commits pages that see M mirror records (default 50,000), then ends,
//      proposing every record it did not see as a suspected deletion.
// Figures: ack p50/p99/max in each phase, and the p99 during each phase over the idle p99 (the
// ceiling measured in the same run). Usage:
//   tributary-bench-contention [--rate R] [--events N] [--records M] [--seconds S]
//   (internal) tributary-bench-contention --client PORT --rate R: load until stdin says "end";
//   a line "phase NAME" on stdin starts a phase; at "end" it prints one line per phase.
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import TributaryCore
import TributaryReconcile
import TributaryRuntime
import TributaryScheduling
import TributaryStore
import TributaryIntegrationTesting
import TributaryTesting

let arguments = CommandLine.arguments
func option(_ name: String, _ fallback: Int) -> Int {
    guard let i = arguments.firstIndex(of: name), i + 1 < arguments.count, let value = Int(arguments[i + 1]) else { return fallback }
    return value
}
let rate = Double(option("--rate", 400))
let backlog = option("--events", 100_000)
let swept = option("--records", 50_000)
let idleSeconds = option("--seconds", 5)
let connections = 16
let secret = "bench-secret"
let sequence = Atomic<Int>(0)

struct Latencies {
    var values: [Double] = []
    var failed = 0

    func percentile(_ p: Double) -> Double {
        guard !values.isEmpty else { return .nan }
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, max(0, Int((Double(sorted.count) * p).rounded(.up)) - 1))]
    }
}

func milliseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
}

/// The load generator as a child process: every request is counted in the phase that was current
/// when it was scheduled.
final class ClientProcess: Sendable {
    let process: Process
    let input: Pipe
    let output: Pipe

    init(port: Int) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        process.arguments = ["--client", String(port), "--rate", String(Int(rate))]
        input = Pipe()
        output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
    }

    func phase(_ name: String) {
        input.fileHandleForWriting.write(Data("phase \(name)\n".utf8))
    }

    /// Ends the load; returns each phase's latencies (ms) and failures.
    func end() -> [String: Latencies] {
        input.fileHandleForWriting.write(Data("end\n".utf8))
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        var phases: [String: Latencies] = [:]
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count >= 2, let failed = Int(fields[1]) else { continue }
            phases[String(fields[0])] = Latencies(values: fields.dropFirst(2).compactMap { Double($0) }, failed: failed)
        }
        return phases
    }
}

/// `--client PORT`: open-loop load until stdin says "end", latencies bucketed by phase.
func runClient(port: Int) async throws {
    let phase = Shared("warmup")
    let stop = Shared(false)
    let reader = Thread {
        while let line = readLine() {
            if line == "end" { break }
            if line.hasPrefix("phase ") { phase.update { $0 = String(line.dropFirst(6)) } }
        }
        stop.update { $0 = true }
    }
    reader.start()
    let start = ContinuousClock.now
    let interval = Duration.nanoseconds(Int64(1e9 * Double(connections) / rate))
    let buckets = try await withThrowingTaskGroup(of: [String: Latencies].self) { group in
        for c in 0..<connections {
            group.addTask {
                let client = TestClient(host: "127.0.0.1", port: port, configuration: .init(timeout: .seconds(120)))
                client.connect()
                var result: [String: Latencies] = [:]
                var scheduled = start + interval * (Double(c) / Double(connections))
                while !stop.value {
                    if scheduled > ContinuousClock.now { try await Task.sleep(until: scheduled, clock: .continuous) }
                    let current = phase.value
                    let n = sequence.add(1, ordering: .relaxed).newValue + c * 100_000_000
                    let body = Signer.issueBody(n)
                    var headers = HTTPFields()
                    for (name, value) in Signer.github(body: body, secret: secret, delivery: "load-\(n)") {
                        headers.append(HTTPField(name: HTTPField.Name(name)!, value: value))
                    }
                    let response = try await client.post("/webhooks/github/gh1", headers: headers, body: ByteBuffer(string: body))
                    if response.status == .ok {
                        result[current, default: Latencies()].values.append(milliseconds(ContinuousClock.now - scheduled))
                    } else {
                        result[current, default: Latencies()].failed += 1
                    }
                    scheduled += interval
                }
                try await client.shutdown()
                return result
            }
        }
        return try await group.reduce(into: [String: Latencies]()) { total, part in
            for (name, latencies) in part {
                total[name, default: Latencies()].values += latencies.values
                total[name, default: Latencies()].failed += latencies.failed
            }
        }
    }
    for (name, latencies) in buckets {
        print(([name, String(latencies.failed)] + latencies.values.map { String(format: "%.3f", $0) }).joined(separator: " "))
    }
}

func f(_ value: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", value) }

func report(_ name: String, _ latencies: Latencies, idle: Latencies?, extra: String) {
    let p99 = latencies.percentile(0.99)
    let ratio = idle.map { " p99/idle \(f(p99 / $0.percentile(0.99), 2))" } ?? ""
    print("\(name): \(latencies.values.count) acks, \(latencies.failed) non-2xx, p50 \(f(latencies.percentile(0.5), 2)) ms, p99 \(f(p99, 2)) ms, max \(f(latencies.values.max() ?? .nan, 1)) ms\(ratio)  \(extra)")
}

if let i = arguments.firstIndex(of: "--client"), i + 1 < arguments.count, let port = Int(arguments[i + 1]) {
    try await runClient(port: port)
    exit(0)
}

let directory = try TestPaths.temporaryDirectory("bench-contention")
defer { try? FileManager.default.removeItem(at: directory) }
var configuration = TestEngine.configuration(directory: directory)
configuration.logger.logLevel = .error
let engine = try Engine(configuration: configuration)
let store = engine.store
for id in ["gh1", "bulk"] {
    _ = try await store.addConnection(id: id, provider: "github", tenant: "bench", account: nil, toleranceSeconds: nil, webhookSecrets: [secret], now: 0)
}

// The backlog: N deliveries of distinct issues, as intake would have logged them (group commit, 64 at once).
let now = EngineClock.system.now()
let logged = Atomic<Int>(0)
try await withThrowingTaskGroup(of: Void.self) { group in
    for _ in 0..<64 {
        group.addTask {
            while true {
                let n = logged.add(1, ordering: .relaxed).oldValue
                guard n < backlog else { return }
                _ = try await store.append(EventDraft(
                    connection: "bulk", tenant: "bench", provider: "github", source: .webhook, eventId: "backlog-\(n)", type: "issues",
                    record: RecordRef(recordType: "issue", recordId: String(1_000_000 + n), version: now, deleted: false, fullState: true),
                    occurredAt: nil, receivedAt: now, headers: [("X-GitHub-Event", "issues")], body: Array(Signer.issueBody(n).utf8), url: nil
                ))
            }
        }
    }
    try await group.waitForAll()
}
print("contention benchmark: \(f(rate, 0)) deliveries/s over \(connections) connections; backlog \(backlog) events; sweep of \(swept) records")

let (portStream, portContinuation) = AsyncStream.makeStream(of: Int.self)
let app = engine.application { portContinuation.yield($0) }
var logger = Logger(label: "bench")
logger.logLevel = .error
let services = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
try await withThrowingTaskGroup(of: Void.self) { tasks in
    tasks.addTask { try await services.run() }
    var ports = portStream.makeAsyncIterator()
    guard let port = await ports.next() else { fatalError("server did not start") }

    let client = try ClientProcess(port: port)
    try await Task.sleep(for: .seconds(1))  // connections open, the load at its rate
    client.phase("idle")
    try await Task.sleep(for: .seconds(idleSeconds))

    // The workers run in a child task, as serve's services do (inheriting the priority of the task that starts them).
    let figures = try await withThrowingTaskGroup(of: (Int, Duration, Duration, Int, Duration).self) { group in
        group.addTask {
            client.phase("reconcile")
            var start = ContinuousClock.now
            let applied = try await engine.reconciler.runOnce(logger: logger).applied
            let reconcileTime = ContinuousClock.now - start

            client.phase("sweep")
            start = ContinuousClock.now
            let holder = "bench"
            let lease = "sweep:bulk:issues"
            let begun = EngineClock.system.now()
            guard try await store.acquireLease(lease, holder: holder, ttl: .seconds(3600), now: begun) else { fatalError("lease") }
            let sweep = try await store.beginSweep(connection: "bulk", resource: "issues", recordType: "issue", now: begun)
            for page in stride(from: 0, to: swept, by: 100) {
                let drafts = (page..<min(page + 100, swept)).map { n in
                    EventDraft(
                        connection: "bulk", tenant: "bench", provider: "github", source: .poll, eventId: "unused", type: nil,
                        record: RecordRef(recordType: "issue", recordId: String(1_000_000 + n), version: now, deleted: false, fullState: true),
                        occurredAt: nil, receivedAt: begun, headers: [], body: Array(Signer.issueBody(n).utf8), url: nil
                    )
                }
                try await store.commitSweepPage(drafts, sweep: sweep.generation, cursor: PollCursor(), lease: lease, holder: holder)
            }
            let paged = ContinuousClock.now - start
            let suspects = try await store.finishSweep(sweep.generation, status: .complete, confirmable: true, lease: lease, holder: holder, now: EngineClock.system.now())
            let finished = ContinuousClock.now - start - paged

            return (applied, reconcileTime, paged, suspects, finished)
        }
        return try await group.next()!
    }
    let (applied, reconcileTime, paged, suspects, finished) = figures
    client.phase("after")
    try await Task.sleep(for: .milliseconds(500))
    let phases = client.end()

    let idle = phases["idle"] ?? Latencies()
    report("idle     ", idle, idle: nil, extra: "")
    report("reconcile", phases["reconcile"] ?? Latencies(), idle: idle, extra: "(\(applied) events applied in \(f(milliseconds(reconcileTime) / 1000, 2)) s)")
    report("sweep    ", phases["sweep"] ?? Latencies(), idle: idle,
           extra: "(\(swept) records seen in \(f(milliseconds(paged) / 1000, 2)) s, then \(suspects) suspects proposed in \(f(milliseconds(finished) / 1000, 2)) s)")

    await services.triggerGracefulShutdown()
    try await tasks.waitForAll()
}

// Poll benchmark: records/s Tributary ingests from the simulator against the simulator's raw
// list rate read by a plain HTTP client, in one run (target >= 0.9).
//
// The simulator runs in-process on 127.0.0.1 with N records of one type, no rate limit and no
// chaos. The raw reader pages the same keyset list (same page size) with AsyncHTTPClient and
// only counts items. Tributary runs a backfill of that resource through the real poller:
// request, parse, one transaction per page (events + cursor) on a temp SQLite file.
// Usage: tributary-bench-poll [--records N] [--page-size N]
import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import ProviderSimulator
import ServiceLifecycle
import TributaryCore
import TributaryScheduling
import TributaryPolling
import TributaryProviders
import TributaryStore
import TributaryTesting
import TributaryUpstream

let arguments = CommandLine.arguments
func option(_ name: String, _ fallback: Int) -> Int {
    guard let i = arguments.firstIndex(of: name), i + 1 < arguments.count, let value = Int(arguments[i + 1]) else { return fallback }
    return value
}
let recordCount = option("--records", 20_000)
let pageSize = option("--page-size", 100)
let logger: Logger = {
    var logger = Logger(label: "bench-poll")
    logger.logLevel = .error
    return logger
}()

var configuration = SimulatorConfiguration()
configuration.port = 0
configuration.types = ["customer"]
configuration.initialRecordsPerType = recordCount
configuration.granularity = .milliseconds
configuration.maxPageSize = max(1000, pageSize)
let simulator = try ProviderSimulator(configuration: configuration, logger: logger)
let token = configuration.tokens[0]

func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }

/// Pages the keyset list with a plain client, counting items.
func rawRead(port: Int) async throws -> (records: Int, elapsed: Double) {
    let client = HTTPClient.shared
    var since = "1970-01-01T00:00:00Z"
    var afterID: String?
    var total = 0
    let start = ContinuousClock.now
    while true {
        var url = "http://127.0.0.1:\(port)/v1/customer?limit=\(pageSize)&updated_since=\(since)"
        if let afterID { url += "&after_id=\(afterID)" }
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        let response = try await client.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 64 << 20)
        guard let json = JSONValue(parsing: Array(buffer: body)), case .array(let items)? = json["items"] else { fatalError("bad page") }
        total += items.count
        guard json["has_more"] == .bool(true), let last = items.last else { break }
        since = last["updated_at"]?.stringValue ?? since
        afterID = last["id"]?.stringValue
    }
    return (total, seconds(ContinuousClock.now - start))
}

/// A backfill of the same resource through Tributary's poller.
func tributaryRead(port: Int) async throws -> (records: Int, pages: Int, elapsed: Double) {
    let directory = try TestPaths.temporaryDirectory("bench-poll")
    defer { try? FileManager.default.removeItem(at: directory) }
    let store = try Store(path: directory.appendingPathComponent("p.db").path, masterKey: TestSecrets.masterKey, logger: logger)
    _ = try await store.addConnection(id: "sim", provider: "simulator", tenant: "bench", account: nil, toleranceSeconds: nil, webhookSecrets: [], now: 0)
    try await store.setAPICredentials(connection: "sim", token: token, baseURL: "http://127.0.0.1:\(port)", now: 0)
    let catalog = try ManifestCatalog.load(directory: TestPaths.providers)
    let runner = PollRunner(store: store, catalog: catalog, transport: HTTPTransport(outboundGuard: OutboundGuard(allowPrivate: true)), clock: .system)
    guard let poller = try await runner.pollers(connection: "sim", resource: "customers").first else { fatalError("no poller") }
    let start = ContinuousClock.now
    let report = await poller.runOnce(logger: logger)
    let elapsed = seconds(ContinuousClock.now - start)
    if let error = report.error { fatalError("poll failed: \(error)") }
    return (report.observations, report.pages, elapsed)
}

let (portStream, portContinuation) = AsyncStream.makeStream(of: Int.self)
let group = ServiceGroup(configuration: .init(services: [simulator.application { portContinuation.yield($0) }], gracefulShutdownSignals: [], logger: logger))
try await withThrowingTaskGroup(of: Void.self) { tasks in
    tasks.addTask { try await group.run() }
    var ports = portStream.makeAsyncIterator()
    guard let port = await ports.next() else { fatalError("simulator did not start") }
    print("poll benchmark: \(recordCount) records, page size \(pageSize), simulator on 127.0.0.1:\(port)")
    _ = try await rawRead(port: port) // warm both sides once
    let raw = try await rawRead(port: port)
    let rawRate = Double(raw.records) / raw.elapsed
    print("raw list read (plain HTTP client): \(raw.records) records in \(String(format: "%.2f", raw.elapsed)) s = \(String(format: "%.0f", rawRate)) records/s")
    let ours = try await tributaryRead(port: port)
    let ourRate = Double(ours.records) / ours.elapsed
    print("tributary backfill (poll + commit): \(ours.records) records, \(ours.pages) pages in \(String(format: "%.2f", ours.elapsed)) s = \(String(format: "%.0f", ourRate)) records/s")
    let ratio = ourRate / rawRate
    print("ratio tributary / raw: \(String(format: "%.2f", ratio))  (target >= 0.90: \(ratio >= 0.9 ? "met" : "missed"))")
    await group.triggerGracefulShutdown()
    try await tasks.waitForAll()
}

// Reconcile benchmark: events/s the reconciler applies to the mirror against the raw SQLite upsert
// rate of the same rows, in one run (target >= 0.5).
//
// Phase 1: N pending polled observations (distinct records, full state) on a temp SQLite file;
// `Reconciler.runOnce` applies them (decision, CAS read, upsert, event status, one transaction per
// batch of 500). The ceiling: the same rows upserted by plain GRDB, with one prepared statement,
// into a table of the same shape with the mirror's indexes (its key, update time and change
// sequence), 500 per transaction, same synchronous=FULL.
// Phase 2: convergence lag under chaos. The engine as `serve` runs it (intake, poll scheduler and
// reconciler ticking every 200 ms) fed by the simulator's webhooks (20% dropped, 20% duplicated,
// reordered within 50) and polled with 10% 429s, while the simulator makes `--rate` changes/s for
// `--seconds`. Lag of a record = when the mirror wrote its final version minus when the simulator
// made that version (both on this machine's clock, millisecond granularity); p50/p99 over every
// record changed during the run.
// Usage: tributary-bench-reconcile [--events N] [--rate R] [--seconds S]
import Foundation
import GRDB
import Logging
import ProviderSimulator
import ServiceLifecycle
import TributaryCore
import TributaryPolling
import TributaryProviders
import TributaryReconcile
import TributaryRuntime
import TributaryStore
import TributaryTesting

let arguments = CommandLine.arguments
func option(_ name: String, default value: Int) -> Int {
    guard let i = arguments.firstIndex(of: name), i + 1 < arguments.count, let n = Int(arguments[i + 1]), n > 0 else { return value }
    return n
}
let eventCount = option("--events", default: 50_000)
let mutationRate = option("--rate", default: 100)
let mutationSeconds = option("--seconds", default: 10)
let logger: Logger = {
    var logger = Logger(label: "bench-reconcile")
    logger.logLevel = .error
    return logger
}()
let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
let clock: @Sendable () -> Int64 = { Int64((Date().timeIntervalSince1970 * 1_000_000).rounded()) }
func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }

func draft(_ n: Int) -> EventDraft {
    let id = String(format: "cus_%07d", n)
    let body = #"{"id":"\#(id)","type":"customer","version":1,"updated_at":"2026-11-20T10:00:00Z","deleted":false,"data":{"name":"Customer \#(n)","email":"c\#(n)@example.com"}}"#
    return EventDraft(
        connection: "sim", tenant: "bench", provider: "simulator", source: .poll, eventId: "poll:customer:\(id):1", type: "customer.observed",
        record: RecordRef(recordType: "customer", recordId: id, version: 1, deleted: false, fullState: true),
        occurredAt: nil, receivedAt: 0, headers: [], body: Array(body.utf8), url: nil
    )
}

// Phase 1: three rounds, each on fresh files: the reconciler, then the raw ceiling. The medians
// are compared (the shared disk makes single runs of either vary by half).
let directory = try TestPaths.temporaryDirectory("bench-reconcile")
defer { try? FileManager.default.removeItem(at: directory) }
let catalog = try ManifestCatalog.load(directory: TestPaths.providers)

func reconcileRate(_ round: Int) async throws -> Double {
    let store = try Store(path: directory.appendingPathComponent("r-\(round).db").path, masterKey: key, logger: logger)
    _ = try await store.addConnection(id: "sim", provider: "simulator", tenant: "bench", account: nil, toleranceSeconds: nil, webhookSecrets: [], now: 0)
    _ = try await store.acquireLease("bench", holder: "bench", ttl: .seconds(3600), now: clock())
    var n = 0
    while n < eventCount {
        let chunk = (n..<min(n + 1000, eventCount)).map(draft)
        _ = try await store.commitPage(chunk, connection: "sim", resource: "bench", cursor: PollCursor(), lease: "bench", holder: "bench", now: clock(), pages: 1)
        n += chunk.count
    }
    let reconciler = Reconciler(store: store, catalog: catalog, clients: nil, now: clock)
    let start = ContinuousClock.now
    let report = try await reconciler.runOnce(logger: logger)
    precondition(report.applied == eventCount, "the reconciler applied \(report.applied) of \(eventCount)")
    return Double(report.applied) / seconds(ContinuousClock.now - start)
}

// Phase 1b: the raw upsert ceiling (inside an async function: at top level GRDB's blocking overload would be picked).
func rawUpsertRate(_ round: Int) async throws -> Double {
    let raw = try DatabasePool(path: directory.appendingPathComponent("raw-\(round).db").path)
    try await raw.writeWithoutTransaction { db in
        try db.execute(sql: "PRAGMA synchronous = FULL")
        try db.execute(sql: """
            CREATE TABLE records (connection TEXT NOT NULL, record_type TEXT NOT NULL, record_id TEXT NOT NULL, tenant TEXT NOT NULL,
                provider TEXT NOT NULL, version INTEGER, deleted INTEGER NOT NULL, data BLOB, content_hash TEXT, updated_at INTEGER NOT NULL,
                source_seq INTEGER NOT NULL, change_seq INTEGER, PRIMARY KEY (connection, record_type, record_id));
            CREATE INDEX records_by_update ON records(connection, record_type, updated_at);
            CREATE UNIQUE INDEX records_by_change ON records(change_seq);
            """)
    }
    let rows = (0..<eventCount).map(draft)
    let start = ContinuousClock.now
    var offset = 0
    while offset < rows.count {
        let batch = Array(rows[offset..<min(offset + 500, rows.count)])
        let first = offset
        try await raw.write { db in
            for (i, row) in batch.enumerated() {
                // A prepared statement reused for every row: the fastest plain upsert, so the ceiling is honest.
                try db.cachedStatement(sql: """
                    INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?)
                    ON CONFLICT (connection, record_type, record_id) DO UPDATE SET version = excluded.version, data = excluded.data,
                        content_hash = excluded.content_hash, updated_at = excluded.updated_at, source_seq = excluded.source_seq,
                        change_seq = excluded.change_seq
                    """).execute(arguments: [row.connection, row.record!.recordType, row.record!.recordId, row.tenant, row.provider, row.record!.version,
                                      Data(row.body), "h", 0, Int64(first + i), Int64(first + i)])
            }
        }
        offset += batch.count
    }
    return Double(rows.count) / seconds(ContinuousClock.now - start)
}
print("reconcile benchmark: \(eventCount) pending events (distinct records, full state), 3 rounds")
var reconcileRates: [Double] = []
var rawRates: [Double] = []
for round in 1...3 {
    reconcileRates.append(try await reconcileRate(round))
    rawRates.append(try await rawUpsertRate(round))
    print("round \(round): reconciler \(String(format: "%.0f", reconcileRates.last!)) events/s, raw upsert \(String(format: "%.0f", rawRates.last!)) rows/s")
}
let reconcileMedian = reconcileRates.sorted()[1]
let rawMedian = rawRates.sorted()[1]
print("reconciler applied:        \(String(format: "%.0f", reconcileMedian)) events/s (median)")
print("raw SQLite upsert:         \(String(format: "%.0f", rawMedian)) rows/s (median; same rows, one prepared statement, 500 per transaction)")
let ratio = reconcileMedian / rawMedian
print("ratio reconciler / raw:    \(String(format: "%.2f", ratio))  (target >= 0.50: \(ratio >= 0.5 ? "met" : "missed"))")

// Phase 2: lag under chaos.
func percentile(_ sorted: [Double], _ p: Double) -> Double {
    sorted.isEmpty ? .nan : sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)]
}

func lagUnderChaos() async throws -> (lags: [Double], unconverged: Int, counters: SimulatorCounters) {
    let lagDirectory = try TestPaths.temporaryDirectory("bench-reconcile-lag")
    defer { try? FileManager.default.removeItem(at: lagDirectory) }
    var configuration = TestEngine.configuration(directory: lagDirectory)
    configuration.polling = true
    configuration.reconciling = true
    configuration.pollTick = .milliseconds(200)
    let initial = 500
    return try await ChaosRig.run(engine: configuration, logger: logger, simulator: { sim in
        sim.seed = 99
        sim.initialRecordsPerType = initial
        sim.granularity = .milliseconds
    }) { engine, simulator in
        // The backfill first, so the lag measured is of changes, not of the initial copy.
        while try await engine.store.records(connection: "sim1", limit: 10_000).count < 2 * initial {
            try await Task.sleep(for: .milliseconds(100))
        }
        let began = clock()
        try simulator.startMutations(rate: Double(mutationRate))
        try await Task.sleep(for: .seconds(mutationSeconds))
        simulator.stopMutations()
        // Converged when every record changed during the run is in the mirror at its final version (or 60 s pass).
        let deadline = ContinuousClock.now + .seconds(60)
        var lags: [Double] = []
        var unconverged = 0
        repeat {
            try await Task.sleep(for: .milliseconds(250))
            let mirror = Dictionary(uniqueKeysWithValues: try await engine.store.records(connection: "sim1", limit: 1_000_000).map { ("\($0.recordType)/\($0.recordId)", $0) })
            lags = []
            unconverged = 0
            for record in simulator.records() where record.updatedAt >= began {
                guard let m = mirror["\(record.type)/\(record.id)"], m.version == Int64(record.version), m.deleted == record.deleted else {
                    unconverged += 1
                    continue
                }
                lags.append(Double(m.updatedAt - record.updatedAt) / 1000)
            }
        } while unconverged > 0 && ContinuousClock.now < deadline
        return (lags.sorted(), unconverged, simulator.counters())
    }
}
let (lags, unconverged, counters) = try await lagUnderChaos()
print("lag under chaos:           \(mutationRate) changes/s for \(mutationSeconds) s; \(counters.webhooksSent) webhooks (\(counters.webhooksDropped) dropped, \(counters.webhooksDuplicated) duplicated), \(counters.rateLimited) 429s")
print("convergence lag:           p50 \(String(format: "%.0f", percentile(lags, 0.5))) ms, p99 \(String(format: "%.0f", percentile(lags, 0.99))) ms, max \(String(format: "%.0f", lags.last ?? .nan)) ms over \(lags.count) records; \(unconverged) not converged within 60 s")

// Reconcile benchmark: events/s the reconciler applies to the mirror against the raw SQLite upsert
// rate of the same rows, in one run (target >= 0.5).
//
// Phase 1: N pending polled observations (distinct records, full state) on a temp SQLite file;
// `Reconciler.runOnce` applies them (decision, CAS read, upsert, event status, one transaction per
// batch of 500). The ceiling: the same rows upserted by plain GRDB, with one prepared statement,
// into a table of the same shape with the mirror's indexes (its key, update time and change
// sequence), 500 per transaction, same synchronous=FULL. The two are interleaved chunk by chunk.
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
let eventCount = option("--events", default: 100_000)
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

// Phase 1, interleaved: the rows go to both sides in chunks of 10,000. Each chunk is logged as
// pending polled observations (untimed); then the reconciler applies it and the raw ceiling upserts
// the same rows, back to back, alternating which goes first. Each side's rate is its events over
// its own timed work, so both are measured across the same minutes of this shared machine, whose
// speed (above all its fsync) drifts by half within a minute: separate runs, even paired, gave
// ratios from 0.3 to 0.9 for the same code.
let directory = try TestPaths.temporaryDirectory("bench-reconcile")
defer { try? FileManager.default.removeItem(at: directory) }
let catalog = try ManifestCatalog.load(directory: TestPaths.providers)

/// The reconciler's side: a store whose log receives each chunk as a poll page.
struct ReconcileSide {
    let store: Store
    let reconciler: Reconciler

    init() async throws {
        store = try Store(path: directory.appendingPathComponent("reconcile.db").path, masterKey: key, logger: logger)
        _ = try await store.addConnection(id: "sim", provider: "simulator", tenant: "bench", account: nil, toleranceSeconds: nil, webhookSecrets: [], now: 0)
        _ = try await store.acquireLease("bench", holder: "bench", ttl: .seconds(3600), now: clock())
        reconciler = Reconciler(store: store, catalog: catalog, clients: nil, now: clock)
    }

    func log(_ rows: [EventDraft]) async throws {
        for start in stride(from: 0, to: rows.count, by: 1000) {
            let page = Array(rows[start..<min(start + 1000, rows.count)])
            _ = try await store.commitPage(page, connection: "sim", resource: "bench", cursor: PollCursor(), lease: "bench", holder: "bench", now: clock(), pages: 1)
        }
    }

    /// Applies every pending event, timed.
    func apply(expecting count: Int) async throws -> Duration {
        let start = ContinuousClock.now
        let report = try await reconciler.runOnce(logger: logger)
        let elapsed = ContinuousClock.now - start
        precondition(report.applied == count, "the reconciler applied \(report.applied) of \(count)")
        return elapsed
    }
}

/// The ceiling: plain GRDB into a table of the mirror's shape and indexes, one prepared statement
/// per transaction, 500 rows per transaction, synchronous=FULL.
struct RawSide {
    let pool: DatabasePool

    init() async throws {
        pool = try DatabasePool(path: directory.appendingPathComponent("raw.db").path)
        try await pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            try db.execute(sql: """
                CREATE TABLE records (connection TEXT NOT NULL, record_type TEXT NOT NULL, record_id TEXT NOT NULL, tenant TEXT NOT NULL,
                    provider TEXT NOT NULL, version INTEGER, deleted INTEGER NOT NULL, data BLOB, content_hash TEXT, updated_at INTEGER NOT NULL,
                    source_seq INTEGER NOT NULL, change_seq INTEGER, PRIMARY KEY (connection, record_type, record_id));
                CREATE INDEX records_by_update ON records(connection, record_type, updated_at);
                CREATE UNIQUE INDEX records_by_change ON records(change_seq);
                """)
        }
    }

    /// Upserts `rows` (numbered from `first`), timed; bodies are converted before the clock starts.
    func upsert(_ rows: [EventDraft], first: Int) async throws -> Duration {
        let bodies = rows.map { Data($0.body) }
        let start = ContinuousClock.now
        for offset in stride(from: 0, to: rows.count, by: 500) {
            let range = offset..<min(offset + 500, rows.count)
            try await pool.write { db in
                let statement = try db.makeStatement(sql: """
                    INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?)
                    ON CONFLICT (connection, record_type, record_id) DO UPDATE SET version = excluded.version, data = excluded.data,
                        content_hash = excluded.content_hash, updated_at = excluded.updated_at, source_seq = excluded.source_seq,
                        change_seq = excluded.change_seq
                    """)
                for i in range {
                    let row = rows[i], record = row.record!
                    try statement.execute(arguments: [row.connection, record.recordType, record.recordId, row.tenant, row.provider, record.version,
                                                      bodies[i], "h", 0, Int64(first + i), Int64(first + i)])
                }
            }
        }
        return ContinuousClock.now - start
    }
}

let chunkSize = 10_000
print("reconcile benchmark: \(eventCount) pending events (distinct records, full state), interleaved with the raw ceiling in chunks of \(chunkSize)")
let reconcileSide = try await ReconcileSide()
let rawSide = try await RawSide()
var reconcileTime = Duration.zero
var rawTime = Duration.zero
var chunkRatios: [Double] = []
for (index, first) in stride(from: 0, to: eventCount, by: chunkSize).enumerated() {
    let rows = (first..<min(first + chunkSize, eventCount)).map(draft)
    try await reconcileSide.log(rows)
    let reconciled: Duration, raw: Duration
    if index % 2 == 0 {
        reconciled = try await reconcileSide.apply(expecting: rows.count)
        raw = try await rawSide.upsert(rows, first: first)
    } else {
        raw = try await rawSide.upsert(rows, first: first)
        reconciled = try await reconcileSide.apply(expecting: rows.count)
    }
    reconcileTime += reconciled
    rawTime += raw
    chunkRatios.append(seconds(raw) / seconds(reconciled))
}
let reconcileRate = Double(eventCount) / seconds(reconcileTime)
let rawRate = Double(eventCount) / seconds(rawTime)
let ratio = reconcileRate / rawRate
chunkRatios.sort()
print("reconciler applied:        \(String(format: "%.0f", reconcileRate)) events/s")
print("raw SQLite upsert:         \(String(format: "%.0f", rawRate)) rows/s (same rows, one prepared statement, 500 per transaction)")
print("ratio reconciler / raw:    \(String(format: "%.2f", ratio))  (target >= 0.50: \(ratio >= 0.5 ? "met" : "missed")); by chunk: min \(String(format: "%.2f", chunkRatios.first!)), median \(String(format: "%.2f", chunkRatios[chunkRatios.count / 2])), max \(String(format: "%.2f", chunkRatios.last!))")

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

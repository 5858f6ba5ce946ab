// Reconcile benchmark: events/s the reconciler applies to the mirror against the raw SQLite upsert
// rate of the same rows, in one run (target >= 0.5).
//
// Phase 1: N pending polled observations (distinct records, full state) on a temp SQLite file;
// `Reconciler.runOnce` applies them (decision, CAS read, upsert, event status, one transaction per
// batch of 500). The ceiling: the same rows, as the reconciler writes them, upserted by plain GRDB
// with one prepared statement into the mirror's own table and indexes, 500 per transaction, same
// synchronous=FULL. A narrower table's rate is printed for reference. All are interleaved chunk by chunk.
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
import TributaryScheduling
import TributaryPolling
import TributaryProviders
import TributaryReconcile
import TributaryRuntime
import TributaryStore
import TributaryIntegrationTesting
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
let key = TestSecrets.masterKey
let clock: @Sendable () -> Int64 = EngineClock.system.now
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

// Phase 1, interleaved: the rows go to every side in chunks of 10,000. Each chunk is logged as
// pending polled observations (untimed); then the reconciler applies it and the raw ceilings upsert
// the same rows, back to back, each going first in turn. Each side's rate is its events over
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

/// The ceiling: the same rows upserted by plain GRDB, one prepared statement per transaction, 500
/// rows per transaction, synchronous=FULL, with nothing around it: no log to read or mark, no
/// decision, values computed before the clock starts.
struct RawSide {
    enum Table {
        /// The mirror's own table (every column, the same indexes), each row exactly as the
        /// reconciler writes it: the ceiling the target is measured against.
        case mirror
        /// A narrower table (the mirror's key, indexes and main columns, without its version-trust,
        /// regression, fence and generation columns): the ceiling earlier runs used, kept for reference.
        case narrow
    }

    let pool: DatabasePool
    let table: Table

    init(_ table: Table) async throws {
        self.table = table
        pool = try DatabasePool(path: directory.appendingPathComponent("raw-\(table).db").path)
        try await pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            switch table {
            case .mirror:
                // As migrations v3 and v5 leave it.
                try db.execute(sql: """
                    CREATE TABLE records (connection TEXT NOT NULL, record_type TEXT NOT NULL, record_id TEXT NOT NULL, tenant TEXT NOT NULL,
                        provider TEXT NOT NULL, version INTEGER, deleted INTEGER NOT NULL CHECK (deleted IN (0, 1)), data BLOB, content_hash TEXT,
                        version_trusted INTEGER NOT NULL DEFAULT 1 CHECK (version_trusted IN (0, 1)), pending_regression INTEGER,
                        updated_at INTEGER NOT NULL, source_seq INTEGER NOT NULL, generation INTEGER, read_fence INTEGER, change_seq INTEGER,
                        PRIMARY KEY (connection, record_type, record_id));
                    CREATE INDEX records_by_update ON records(connection, record_type, updated_at);
                    CREATE UNIQUE INDEX records_by_change ON records(change_seq);
                    """)
            case .narrow:
                try db.execute(sql: """
                    CREATE TABLE records (connection TEXT NOT NULL, record_type TEXT NOT NULL, record_id TEXT NOT NULL, tenant TEXT NOT NULL,
                        provider TEXT NOT NULL, version INTEGER, deleted INTEGER NOT NULL, data BLOB, content_hash TEXT, updated_at INTEGER NOT NULL,
                        source_seq INTEGER NOT NULL, change_seq INTEGER, PRIMARY KEY (connection, record_type, record_id));
                    CREATE INDEX records_by_update ON records(connection, record_type, updated_at);
                    CREATE UNIQUE INDEX records_by_change ON records(change_seq);
                    """)
            }
        }
    }

    /// Upserts `rows` (numbered from `first`), timed.
    func upsert(_ rows: [EventDraft], first: Int) async throws -> Duration {
        let bodies = rows.map { Data($0.body) }
        let hashes = rows.map { String(fnv1a64($0.body), radix: 16) }
        let now = clock()
        let sql = switch table {
        case .mirror: """
            INSERT INTO records (connection, record_type, record_id, tenant, provider, version, deleted, data, content_hash,
                                 version_trusted, pending_regression, updated_at, source_seq, read_fence, generation, change_seq)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?)
            ON CONFLICT (connection, record_type, record_id) DO UPDATE SET version = excluded.version, deleted = excluded.deleted,
                data = excluded.data, content_hash = excluded.content_hash, version_trusted = excluded.version_trusted,
                pending_regression = NULL, updated_at = excluded.updated_at, source_seq = excluded.source_seq,
                read_fence = excluded.read_fence, generation = excluded.generation, change_seq = excluded.change_seq
            """
        case .narrow: """
            INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?)
            ON CONFLICT (connection, record_type, record_id) DO UPDATE SET version = excluded.version, data = excluded.data,
                content_hash = excluded.content_hash, updated_at = excluded.updated_at, source_seq = excluded.source_seq,
                change_seq = excluded.change_seq
            """
        }
        let table = self.table
        let start = ContinuousClock.now
        for offset in stride(from: 0, to: rows.count, by: 500) {
            let range = offset..<min(offset + 500, rows.count)
            try await pool.write { db in
                let statement = try db.makeStatement(sql: sql)
                for i in range {
                    let row = rows[i], record = row.record!, n = Int64(first + i)
                    switch table {
                    case .mirror:
                        try statement.execute(arguments: [row.connection, record.recordType, record.recordId, row.tenant, row.provider, record.version,
                                                          record.deleted, bodies[i], hashes[i], true, now, n, row.receivedAt, nil, n])
                    case .narrow:
                        try statement.execute(arguments: [row.connection, record.recordType, record.recordId, row.tenant, row.provider, record.version,
                                                          bodies[i], hashes[i], now, n, n])
                    }
                }
            }
        }
        return ContinuousClock.now - start
    }
}

let chunkSize = 10_000
print("reconcile benchmark: \(eventCount) pending events (distinct records, full state), interleaved with the raw ceilings in chunks of \(chunkSize)")
let reconcileSide = try await ReconcileSide()
let mirrorCeiling = try await RawSide(.mirror)
let narrowCeiling = try await RawSide(.narrow)
var reconcileTime = Duration.zero
var mirrorTime = Duration.zero
var narrowTime = Duration.zero
var chunkRatios: [Double] = []
for (index, first) in stride(from: 0, to: eventCount, by: chunkSize).enumerated() {
    let rows = (first..<min(first + chunkSize, eventCount)).map(draft)
    try await reconcileSide.log(rows)
    // The three back to back, each first in turn.
    var reconciled = Duration.zero, mirror = Duration.zero
    for step in 0..<3 {
        switch (index + step) % 3 {
        case 0: reconciled = try await reconcileSide.apply(expecting: rows.count)
        case 1: mirror = try await mirrorCeiling.upsert(rows, first: first)
        default: narrowTime += try await narrowCeiling.upsert(rows, first: first)
        }
    }
    reconcileTime += reconciled
    mirrorTime += mirror
    chunkRatios.append(seconds(mirror) / seconds(reconciled))
}
func rate(_ time: Duration) -> Double { Double(eventCount) / seconds(time) }
chunkRatios.sort()
// The median of the chunks' ratios: a stall of the machine lands on whichever side happens to be
// running and can skew the totals' ratio by itself (one chunk at a quarter of its usual speed has).
let ratio = chunkRatios[chunkRatios.count / 2]
func figure(_ value: Double) -> String { String(format: "%.2f", value) }
print("reconciler applied:        \(String(format: "%.0f", rate(reconcileTime))) events/s")
print("raw SQLite upsert:         \(String(format: "%.0f", rate(mirrorTime))) rows/s (the same rows into the mirror's own table, one prepared statement, 500 per transaction)")
print("ratio reconciler / raw:    \(figure(ratio)) median of \(chunkRatios.count) chunks (target >= 0.50: \(ratio >= 0.5 ? "met" : "missed")); chunks \(figure(chunkRatios.first!))-\(figure(chunkRatios.last!)), ratio of the totals \(figure(rate(reconcileTime) / rate(mirrorTime)))")
print("for reference:             \(String(format: "%.0f", rate(narrowTime))) rows/s into a narrower table (no trust, regression, fence or generation columns); ratio of the totals \(figure(rate(reconcileTime) / rate(narrowTime)))")

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

// Reconcile benchmark: events/s the reconciler applies to the mirror against the raw SQLite upsert
// rate of the same rows, in one run (target >= 0.5).
//
// Phase 1: N pending polled observations (distinct records, full state) on a temp SQLite file;
// `Reconciler.runOnce` applies them (decision, CAS read, upsert, event status, one transaction per
// batch of 500). The ceiling: the same rows upserted by plain GRDB into a table of the same shape,
// 500 per transaction, same synchronous=FULL.
// Not yet measured here (issue 4): mirror lag p50/p99 under webhook chaos — the engine fed by the simulator's webhooks (20% dropped, 20%
// duplicated, reordered within 50) with polling every 200 ms (10% 429s); lag = when the mirror
// wrote a record's final version minus when the simulator made it.
// Usage: tributary-bench-reconcile [--events N]
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
let eventCount: Int = {
    guard let i = arguments.firstIndex(of: "--events"), i + 1 < arguments.count, let n = Int(arguments[i + 1]) else { return 50_000 }
    return n
}()
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

// Phase 1a: the reconciler.
let directory = try TestPaths.temporaryDirectory("bench-reconcile")
defer { try? FileManager.default.removeItem(at: directory) }
let store = try Store(path: directory.appendingPathComponent("r.db").path, masterKey: key, logger: logger)
_ = try await store.addConnection(id: "sim", provider: "simulator", tenant: "bench", account: nil, toleranceSeconds: nil, webhookSecrets: [], now: 0)
_ = try await store.acquireLease("bench", holder: "bench", ttl: .seconds(3600), now: clock())
var n = 0
while n < eventCount {
    let chunk = (n..<min(n + 1000, eventCount)).map(draft)
    _ = try await store.commitPage(chunk, connection: "sim", resource: "bench", cursor: PollCursor(), lease: "bench", holder: "bench", now: clock(), pages: 1)
    n += chunk.count
}
let catalog = try ManifestCatalog.load(directory: TestPaths.providers)
let reconciler = Reconciler(store: store, catalog: catalog, clients: nil, now: clock)
var start = ContinuousClock.now
let report = try await reconciler.runOnce(logger: logger)
let reconcileRate = Double(report.applied) / seconds(ContinuousClock.now - start)
print("reconcile benchmark: \(eventCount) pending events (distinct records, full state)")
print("reconciler applied:        \(report.applied) events at \(String(format: "%.0f", reconcileRate)) events/s")

// Phase 1b: the raw upsert ceiling (inside an async function: at top level GRDB's blocking overload would be picked).
func rawUpsertRate() async throws -> Double {
    let raw = try DatabasePool(path: directory.appendingPathComponent("raw.db").path)
    try await raw.writeWithoutTransaction { db in
        try db.execute(sql: "PRAGMA synchronous = FULL")
        try db.execute(sql: """
            CREATE TABLE records (connection TEXT NOT NULL, record_type TEXT NOT NULL, record_id TEXT NOT NULL, tenant TEXT NOT NULL,
                provider TEXT NOT NULL, version INTEGER, deleted INTEGER NOT NULL, data BLOB, content_hash TEXT, updated_at INTEGER NOT NULL,
                source_seq INTEGER NOT NULL, PRIMARY KEY (connection, record_type, record_id))
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
                try db.execute(sql: """
                    INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?)
                    ON CONFLICT (connection, record_type, record_id) DO UPDATE SET version = excluded.version, data = excluded.data,
                        content_hash = excluded.content_hash, updated_at = excluded.updated_at, source_seq = excluded.source_seq
                    """, arguments: [row.connection, row.record!.recordType, row.record!.recordId, row.tenant, row.provider, row.record!.version,
                                      Data(row.body), "h", 0, Int64(first + i)])
            }
        }
        offset += batch.count
    }
    return Double(rows.count) / seconds(ContinuousClock.now - start)
}
let rawRate = try await rawUpsertRate()
print("raw SQLite upsert:         \(eventCount) rows at \(String(format: "%.0f", rawRate)) rows/s (same rows, 500 per transaction)")
let ratio = reconcileRate / rawRate
print("ratio reconciler / raw:    \(String(format: "%.2f", ratio))  (target >= 0.50: \(ratio >= 0.5 ? "met" : "missed"))")

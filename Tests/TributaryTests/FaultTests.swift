import Foundation
import GRDB
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing
import Logging
import TributaryCore
import TributaryReconcile
import TributaryRuntime
import TributaryStore
import TributaryIntegrationTesting
import TributaryTesting

/// The durability promise under the faults a `kill -9` never shows: a power cut that loses what was
/// not synced, a failing fsync, a full disk, a database locked by another process, a store that
/// cannot commit as fast as requests come, and processes opening a database at once.
@Suite("Faults")
struct FaultTests {
    static let secret = "fault-secret"

    /// What one power-cut round found once the machine was back on.
    struct PowerCutRound {
        var acked: Set<String>
        var lost: Set<String>
        var stored: Int
        var appliedTwice: Int
        var integrity: String
    }

    /// One round: a live engine on the fault VFS (reconciler running), 8 clients sending signed
    /// GitHub deliveries, and a power cut just before the `cutAt`-th request is sent. Then every
    /// connection is closed, the power restored, and the files read back as a disk would have kept them.
    static func powerCutRound(_ round: Int, seed: UInt64, normal: Bool, vfs: FaultVFS) async throws -> PowerCutRound {
        let directory = try TestPaths.temporaryDirectory("power-cut")
        defer { try? FileManager.default.removeItem(at: directory) }
        var random = SplitMix64(seed: seed)
        let workers = 8, perWorker = 12
        let cutAt = Int(random.next() % UInt64(workers * perWorker - 8))
        let keepPrefix = random.next() % 2 == 0
        let cutSeed = random.next()

        var configuration = TestEngine.configuration(directory: directory)
        configuration.store.vfs = vfs.name
        configuration.store.unsafeSynchronousNormal = normal
        configuration.reconciling = true
        configuration.pollTick = .milliseconds(5)
        let engine = try Engine(configuration: configuration)
        _ = try await engine.store.addConnection(
            id: "gh1", provider: "github", tenant: "acme", account: nil, toleranceSeconds: nil, webhookSecrets: [secret], now: 0
        )
        let sent = Shared(0)
        let acked = Shared(Set<String>())
        try await TestEngine.live(engine) { client in
            let port = try #require(client.port)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<workers {
                    group.addTask {
                        try await TestClient.withClient(host: "127.0.0.1", port: port) { http in
                            for i in 0..<perWorker {
                                if sent.update({ n in defer { n += 1 }; return n }) == cutAt {
                                    vfs.powerCut(seed: cutSeed, keepPrefix: keepPrefix, tear: keepPrefix)
                                }
                                let n = round * 10_000 + worker * 100 + i
                                let delivery = "r\(round)-w\(worker)-\(i)"
                                let body = Signer.issueBody(n)
                                var headers = HTTPFields()
                                for (name, value) in Signer.github(body: body, secret: secret, delivery: delivery) {
                                    headers.append(HTTPField(name: try #require(HTTPField.Name(name)), value: value))
                                }
                                let response = try await http.post("/webhooks/github/gh1", headers: headers, body: ByteBuffer(string: body))
                                if response.status == .ok { acked.update { _ = $0.insert(delivery) } }
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        try engine.store.closeConnections()
        // A connection left open would keep the lost pages in its shared-memory index.
        try #require(vfs.openFiles == 0, "connections still open after the store closed")
        vfs.restore()

        let path = directory.appendingPathComponent("tributary.db").path
        let (integrity, stored) = try await DatabaseQueue(path: path).read { db in
            (try String.fetchOne(db, sql: "PRAGMA integrity_check") ?? "", Set(try String.fetchAll(db, sql: "SELECT event_id FROM events")))
        }
        // Reopened for real (no VFS): the reconciler settles what the cut interrupted, and no event is applied twice.
        var plain = TestEngine.configuration(directory: directory)
        plain.reconciling = true
        let reopened = try Engine(configuration: plain)
        _ = try await reopened.reconciler.runOnce(untilSettled: true, logger: plain.logger)
        let appliedTwice = try await reopened.store.applications().values.filter { $0 > 1 }.count
        let ackedNow = acked.value
        return PowerCutRound(acked: ackedNow, lost: ackedNow.subtracting(stored), stored: stored.count, appliedTwice: appliedTwice, integrity: integrity)
    }

    @Test("a power cut at 50 random points under concurrent signed webhooks loses no acknowledged event")
    func powerCut() async throws {
        let vfs = FaultVFS()
        let rounds = ProcessInfo.processInfo.environment["TRIBUTARY_POWER_CUTS"].flatMap(Int.init) ?? 50
        let base = ProcessInfo.processInfo.environment["TRIBUTARY_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 0...UInt64.max)
        var acked = 0, lost = 0, appliedTwice = 0
        for round in 0..<rounds {
            let result = try await Self.powerCutRound(round, seed: base &+ UInt64(round), normal: false, vfs: vfs)
            acked += result.acked.count
            lost += result.lost.count
            appliedTwice += result.appliedTwice
            #expect(result.lost.isEmpty, "seed \(base &+ UInt64(round)): acknowledged but lost: \(result.lost.sorted())")
            #expect(result.integrity == "ok", "seed \(base &+ UInt64(round)): integrity_check: \(result.integrity)")
            #expect(result.appliedTwice == 0, "seed \(base &+ UInt64(round)): \(result.appliedTwice) events applied twice")
        }
        print("power cut (synchronous=FULL): \(rounds) cuts from seed \(base), acked \(acked), lost \(lost), applied twice \(appliedTwice)")
        // The cuts must land under load, not before or after it.
        #expect(acked > rounds)
    }

    @Test("the same power cuts with synchronous=NORMAL forced lose acknowledged events: the test can fail")
    func powerCutCatchesNormal() async throws {
        let vfs = FaultVFS()
        let base = UInt64.random(in: 0...UInt64.max)
        var acked = 0, lost = 0
        for round in 0..<10 {
            let result = try await Self.powerCutRound(round, seed: base &+ UInt64(round), normal: true, vfs: vfs)
            acked += result.acked.count
            lost += result.lost.count
            #expect(result.integrity == "ok")
        }
        print("power cut (synchronous=NORMAL): 10 cuts from seed \(base), acked \(acked), lost \(lost)")
        #expect(lost > 0, "synchronous=NORMAL lost nothing: the power-cut test cannot see a lost fsync")
    }

    // MARK: failing fsync, full disk, locked database

    /// A live engine on the fault VFS with connection `gh1`, and 8 HTTP clients of its own.
    static func withFaultEngine(
        configure: (inout EngineConfiguration) -> Void = { _ in },
        _ body: @escaping @Sendable (Engine, FaultVFS, URL, Clients) async throws -> Void
    ) async throws {
        let directory = try TestPaths.temporaryDirectory("faults")
        defer { try? FileManager.default.removeItem(at: directory) }
        let vfs = FaultVFS()
        var configuration = TestEngine.configuration(directory: directory)
        configuration.store.vfs = vfs.name
        configure(&configuration)
        let engine = try Engine(configuration: configuration)
        _ = try await engine.store.addConnection(
            id: "gh1", provider: "github", tenant: "acme", account: nil, toleranceSeconds: nil, webhookSecrets: [secret], now: 0
        )
        try await TestEngine.live(engine) { client in
            try await body(engine, vfs, directory, Clients(port: try #require(client.port)))
        }
    }

    /// Sends deliveries from separate connections at once, as providers do.
    struct Clients: Sendable {
        var port: Int

        /// Sends deliveries `numbers` concurrently; returns each one's status, by number.
        func send(_ numbers: some Sequence<Int> & Sendable, onAnswer: @escaping @Sendable (Int, HTTPResponse.Status) -> Void = { _, _ in }) async throws -> [Int: HTTPResponse.Status] {
            try await withThrowingTaskGroup(of: (Int, HTTPResponse.Status).self) { group in
                for n in numbers {
                    group.addTask {
                        try await TestClient.withClient(host: "127.0.0.1", port: port) { http in
                            let body = Signer.issueBody(n)
                            var headers = HTTPFields()
                            for (name, value) in Signer.github(body: body, secret: FaultTests.secret, delivery: "d-\(n)") {
                                headers.append(HTTPField(name: try #require(HTTPField.Name(name)), value: value))
                            }
                            let status = try await http.post("/webhooks/github/gh1", headers: headers, body: ByteBuffer(string: body)).status
                            onAnswer(n, status)
                            return (n, status)
                        }
                    }
                }
                var statuses: [Int: HTTPResponse.Status] = [:]
                for try await (n, status) in group { statuses[n] = status }
                return statuses
            }
        }

        func ready() async throws -> HTTPResponse.Status {
            try await TestClient.withClient(host: "127.0.0.1", port: port) { try await $0.get("/readyz").status }
        }
    }

    @Test("fsync fails: no 2xx for an uncommitted event, one failed commit per batch, /readyz 503 until a commit succeeds, no restart", arguments: [false, true])
    func fsyncFails(persistent: Bool) async throws {
        try await Self.withFaultEngine { engine, vfs, _, clients in
            #expect(try await clients.send([1]) == [1: .ok])
            vfs.inject(.sync, code: FaultVFS.ioErrorFsync, persistent: persistent)
            let during = try await clients.send(2...11)
            let accepted = Set(during.filter { $0.value == .ok }.map(\.key))
            #expect(during.values.allSatisfy { $0 == .ok || $0 == .serviceUnavailable })
            #expect(vfs.failed(.sync) >= 1)
            if persistent {
                #expect(accepted.isEmpty)
                #expect(try await clients.ready() == .serviceUnavailable)
            }
            // Each failed commit failed its whole batch at once: never a retry per delivery.
            let gauge = engine.store.intakeQueue
            #expect(gauge.failedCommits <= during.count - accepted.count + (persistent ? 1 : 0))
            vfs.clear()
            // Recovered by itself: the provider's retries land, readiness comes back, on connections
            // opened after the failed fsync.
            #expect(try await clients.send(2...11).values.allSatisfy { $0 == .ok })
            #expect(engine.store.intakeQueue.reopened >= 1)
            #expect(try await clients.ready() == .ok)
            let stored = Set(try await engine.store.events(EventFilter(limit: 100)).map(\.eventId))
            #expect(stored == Set((1...11).map { "d-\($0)" }))
        }
    }

    @Test("disk full: every delivery of the failed batch gets 503, nothing accepted is lost, intake resumes when space returns")
    func diskFull() async throws {
        try await Self.withFaultEngine { engine, vfs, _, clients in
            #expect(try await clients.send(1...3).values.allSatisfy { $0 == .ok })
            vfs.inject(.write, code: FaultVFS.full, persistent: true)
            let during = try await clients.send(4...13)
            #expect(during.values.allSatisfy { $0 == .serviceUnavailable })
            #expect(try await clients.ready() == .serviceUnavailable)
            vfs.clear()
            #expect(try await clients.send(4...13).values.allSatisfy { $0 == .ok })
            #expect(try await clients.ready() == .ok)
            #expect(try await engine.store.events(EventFilter(limit: 100)).count == 13)
        }
    }

    @Test("a write lock held by another process: all 10 deliveries get 503 within one busy timeout, not one timeout each")
    func lockHeld() async throws {
        try await Self.withFaultEngine(configure: { $0.store.busyTimeout = .seconds(2) }) { engine, _, directory, clients in
            let blocker = try await Self.holdWriteLock(directory.appendingPathComponent("tributary.db").path)
            let during = try await clients.send(1...10)
            let gauge = engine.store.intakeQueue
            #expect(during.values.allSatisfy { $0 == .serviceUnavailable })
            // The review's 54.8 s came from one busy timeout per delivery; now each batch waits one, and
            // what queued behind it fails with it (a straggler that arrived after may start one more).
            #expect(gauge.failedCommits <= 2, "failed commits while locked: \(gauge.failedCommits)")
            #expect(try await clients.ready() == .serviceUnavailable)
            try await blocker.writeWithoutTransaction { db in try db.execute(sql: "ROLLBACK") }
            #expect(try await clients.send(1...10).values.allSatisfy { $0 == .ok })
            #expect(try await clients.ready() == .ok)
        }
    }

    @Test("with commits blocked, deliveries past the bound are answered 503 at once and the writer holds no more than its bound")
    func queueBound() async throws {
        let bound = 4
        try await Self.withFaultEngine(configure: {
            $0.store.busyTimeout = .seconds(120)
            $0.store.maxWaitingEvents = bound
        }) { engine, _, directory, clients in
            let blocker = try await Self.holdWriteLock(directory.appendingPathComponent("tributary.db").path)
            // Refusals arrive while the lock is still held; once 6 have, the lock is released.
            let refused = Shared(0)
            let released = Shared(false)
            let refusedWhileLocked = Shared(0)
            let release = AsyncStream<Void>.makeStream()
            async let answers = clients.send(1...10) { _, status in
                if status == .serviceUnavailable {
                    if !released.value { refusedWhileLocked.update { $0 += 1 } }
                    if refused.update({ $0 += 1; return $0 }) == 10 - bound { release.continuation.yield() }
                }
            }
            for await _ in release.stream { break }
            released.update { $0 = true }
            try await blocker.writeWithoutTransaction { db in try db.execute(sql: "ROLLBACK") }
            let statuses = try await answers
            let gauge = engine.store.intakeQueue
            #expect(statuses.values.filter { $0 == .ok }.count == bound)
            #expect(statuses.values.filter { $0 == .serviceUnavailable }.count == 10 - bound)
            #expect(refusedWhileLocked.value == 10 - bound)
            #expect(gauge.peakEvents == bound)
            #expect(gauge.refused == 10 - bound)
            #expect(gauge.peakBytes <= 64 << 20)
            #expect(gauge.waitingEvents == 0 && gauge.waitingBytes == 0)
        }
    }

    @Test("the byte bound refuses at once too, and the gauge never passes it")
    func byteBound() async throws {
        let store = try Self.scratchStore { $0.maxWaitingBytes = 3_000; $0.busyTimeout = .seconds(120) }
        defer { try? FileManager.default.removeItem(atPath: (store.path as NSString).deletingLastPathComponent) }
        _ = try await store.addConnection(id: "c", provider: "github", tenant: "t", account: nil, toleranceSeconds: nil, webhookSecrets: ["s"], now: 0)
        let blocker = try await Self.holdWriteLock(store.path)
        let results = Shared([Result<AppendResult, StoreError>]())
        // Signalled when the 6 appends past the bound have been answered (refused while the lock is held).
        let refused = AsyncStream<Void>.makeStream()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for n in 0..<8 {
                group.addTask {
                    let draft = EventDraft(
                        connection: "c", tenant: "t", provider: "github", source: .webhook, eventId: "e\(n)", type: nil, record: nil,
                        occurredAt: nil, receivedAt: 0, headers: [], body: Array(repeating: UInt8(ascii: "x"), count: 900), url: nil
                    )
                    let result: Result<AppendResult, StoreError>
                    do throws(StoreError) { result = .success(try await store.append(draft)) } catch { result = .failure(error) }
                    if results.update({ $0.append(result); return $0.count }) == 6 { refused.continuation.yield() }
                }
            }
            for await _ in refused.stream { break }
            try await blocker.writeWithoutTransaction { db in try db.execute(sql: "ROLLBACK") }
            try await group.waitForAll()
        }
        let gauge = store.intakeQueue
        #expect(gauge.peakBytes <= 3_000)
        #expect(gauge.refused == 6)
        #expect(results.value.filter { (try? $0.get()) != nil }.count == 2)
    }

    /// Another connection holding the database's write lock (`BEGIN IMMEDIATE`) until it runs `ROLLBACK`.
    static func holdWriteLock(_ path: String) async throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.allowsUnsafeTransactions = true
        let blocker = try DatabaseQueue(path: path, configuration: configuration)
        try await blocker.writeWithoutTransaction { db in try db.execute(sql: "BEGIN IMMEDIATE") }
        return blocker
    }

    static func scratchStore(_ configure: (inout StoreOptions) -> Void) throws -> Store {
        let directory = try TestPaths.temporaryDirectory("store-bound")
        var options = StoreOptions()
        configure(&options)
        return try Store(path: directory.appendingPathComponent("t.db").path, masterKey: nil, options: options, logger: .init(label: "t"))
    }

    @Test("a database migrated by a newer Tributary is refused with one sentence, not opened")
    func newerDatabase() throws {
        let directory = try TestPaths.temporaryDirectory("newer")
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("t.db").path
        _ = try Store(path: path, masterKey: nil, logger: .init(label: "t"))
        try DatabaseQueue(path: path).write { db in try db.execute(sql: "INSERT INTO grdb_migrations VALUES ('v99-from-the-future')") }
        #expect {
            _ = try Store(path: path, masterKey: nil, logger: .init(label: "t"))
        } throws: { error in
            (error as? StoreError)?.message.contains("newer Tributary") == true
        }
    }
}

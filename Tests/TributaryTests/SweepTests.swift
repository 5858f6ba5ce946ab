import Foundation
import Logging
import ProviderSimulator
import Testing
import TributaryCore
import TributaryPolling
import TributaryProviders
import TributaryReconcile
import TributaryScheduling
import TributaryStore
import TributaryIntegrationTesting
import TributaryTesting
import TributaryUpstream

/// The full sweep: enumeration by generation, drift counts, deletions only after a complete
/// enumeration and a confirming 404, resumption after an interruption.
@Suite("Sweep", .serialized)
struct SweepTests {
    static let logger = SimulatorRig.logger

    /// A simulator whose deletions vanish from its lists (so polling cannot see them), synced once.
    static func synced(
        _ directory: URL, records: Int, repeats: Int = 0, _ body: @escaping @Sendable (ProviderSimulator, Store, SweepRunner, Reconciler) async throws -> Void
    ) async throws {
        var configuration = SimulatorConfiguration()
        configuration.port = 0
        configuration.seed = 7
        configuration.initialRecordsPerType = records
        configuration.hardDeletes = true
        configuration.chaos.repeatAtBoundary = repeats
        let simulator = try ProviderSimulator(configuration: configuration, logger: logger)
        let token = configuration.tokens[0]
        try await SimulatorRig.withSimulator(simulator) { port in
            let store = try await SimulatorRig.store(directory, port: port, token: token)
            let catalog = try ManifestCatalog.load(directory: TestPaths.providers)
            let runner = PollRunner(store: store, catalog: catalog, transport: HTTPTransport(outboundGuard: OutboundGuard(allowPrivate: true)), clock: .system)
            let reconciler = Reconciler(store: store, catalog: catalog, clients: runner.clients, now: EngineClock.system.now)
            _ = try await runner.runDue(force: true, logger: logger)
            _ = try await reconciler.runOnce(logger: logger)
            #expect(try await store.records(connection: "sim1", limit: 10_000).count == 2 * records)
            try await body(simulator, store, SweepRunner(store: store, catalog: catalog, clients: runner.clients, now: EngineClock.system.now), reconciler)
        }
    }

    @Test("a sweep counts missing, stale and extra records; a deletion polls could not see is tombstoned only after the provider's 404")
    func driftAndConfirmedDeletions() async throws {
        let directory = try TestPaths.temporaryDirectory("sweep")
        defer { try? FileManager.default.removeItem(at: directory) }
        try await Self.synced(directory, records: 40) { simulator, store, runner, reconciler in
            let customers = simulator.records().filter { $0.type == "customer" }.map(\.id)
            let tickets = simulator.records().filter { $0.type == "ticket" }.map(\.id)
            for id in customers.prefix(3) { _ = try simulator.delete(type: "customer", id: id) }
            for id in tickets.prefix(2) { _ = try simulator.update(type: "ticket", id: id) }
            _ = try simulator.create(type: "customer")
            // No poll in between: the incremental cursor would see the update and the create, never the deletions.

            let sweeps = try await runner.runDue(force: true, logger: Self.logger).compactMap(\.outcome.sweep)
            let byType = Dictionary(uniqueKeysWithValues: sweeps.map { ($0.recordType, $0) })
            let customerSweep = try #require(byType["customer"])
            let ticketSweep = try #require(byType["ticket"])
            print("sweep: customer \(customerSweep.json.jsonText); ticket \(ticketSweep.json.jsonText)")
            #expect(customerSweep.status == .complete && ticketSweep.status == .complete)
            #expect(customerSweep.seen == 38 && ticketSweep.seen == 40)
            #expect((customerSweep.missing, customerSweep.stale, customerSweep.extra) == (1, 0, 3))
            #expect((ticketSweep.missing, ticketSweep.stale, ticketSweep.extra) == (0, 2, 0))

            // A sweep alone never deletes: the suspects are still live until the provider confirms.
            for id in customers.prefix(3) {
                #expect(try await store.record(connection: "sim1", type: "customer", id: id)?.deleted == false)
            }
            let report = try await reconciler.runOnce(logger: Self.logger)
            #expect(report.fetches == 3, "one fetch per suspected deletion")
            for id in customers.prefix(3) {
                #expect(try await store.record(connection: "sim1", type: "customer", id: id)?.deleted == true)
            }
            let confirmed = try await store.sweeps(connection: "sim1").first { $0.generation == customerSweep.generation }
            #expect(confirmed?.confirmedDeleted == 3)
            let mirror = try await store.records(connection: "sim1", limit: 10_000)
            #expect(SimulatorRig.mismatches(mirror, simulator.records(), hardDeletes: true) == [])

            // Converged: the next sweep finds no drift.
            let again = try await runner.runDue(force: true, logger: Self.logger).compactMap(\.outcome.sweep)
            #expect(again.map { $0.missing + $0.stale + $0.extra } == [0, 0])
        }
    }

    @Test("a sweep cut short proposes nothing and resumes with its generation; a failed one proposes nothing")
    func onlyCompleteSweepsProposeDeletions() async throws {
        let directory = try TestPaths.temporaryDirectory("sweep-partial")
        defer { try? FileManager.default.removeItem(at: directory) }
        // Pages repeat 3 items at each boundary: a record listed twice is seen (and counted) once.
        try await Self.synced(directory, records: 250, repeats: 3) { simulator, store, runner, _ in
            let gone = simulator.records().filter { $0.type == "customer" }.map(\.id).suffix(2)
            for id in gone { _ = try simulator.delete(type: "customer", id: id) }
            let sweeper = try #require(try await runner.sweepers(resource: "customers").first)

            let first = try #require(await sweeper.sweepOnce(maxPages: 1, confirmable: true, logger: Self.logger).sweep)
            #expect(first.status == .running && first.pages == 1 && first.extra == 0)
            #expect(try await Self.suspects(store) == 0, "an unfinished enumeration proposed deletions")

            // Due at once: an interrupted sweep does not wait for its interval to resume.
            let due = try await runner.runDue(resource: "customers", logger: Self.logger)
            let resumed = try #require(due.first?.outcome.sweep)
            #expect(resumed.generation == first.generation && resumed.startedAt == first.startedAt, "the sweep started over instead of resuming")
            #expect(resumed.status == .complete && resumed.pages == 3 && resumed.seen == 248 && resumed.extra == 2)
            #expect(try await Self.suspects(store) == 2)

            // The provider goes away mid-life: the next sweep fails, and proposes nothing more.
            _ = try simulator.delete(type: "customer", id: simulator.records().first { $0.type == "customer" && !$0.deleted }!.id)
            try await store.setAPICredentials(connection: "sim1", token: simulator.configuration.tokens[0], baseURL: "http://127.0.0.1:1", now: 0)
            // (The HTTP client retries a refused connection until the request's deadline: keep it short.)
            let refused = HTTPTransport(outboundGuard: OutboundGuard(allowPrivate: true), timeoutSeconds: 2)
            let failingRunner = SweepRunner(
                store: store, catalog: runner.catalog, clients: UpstreamClients(transport: refused, clock: .system, maxAttempts: 1), now: EngineClock.system.now
            )
            let failing = try #require(try await failingRunner.sweepers(resource: "customers").first)
            let failed = try #require(await failing.sweepOnce(confirmable: true, logger: Self.logger).sweep)
            #expect(failed.status == .failed && failed.error != nil && failed.extra == 0)
            #expect(try await Self.suspects(store) == 2)
        }
    }

    @Test("a record written after the sweep began is never a suspect")
    func untouchedSinceTheSweepBegan() async throws {
        let directory = try TestPaths.temporaryDirectory("sweep-fence")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try Store(path: directory.appendingPathComponent("s.db").path, masterKey: TestSecrets.masterKey, logger: Self.logger)
        _ = try await store.addConnection(id: "sim1", provider: "simulator", tenant: "acme", account: nil, toleranceSeconds: nil, webhookSecrets: [], now: 0)
        func observe(_ id: String, at time: Int64) async throws {
            _ = try await store.append(EventDraft(
                connection: "sim1", tenant: "acme", provider: "simulator", source: .poll, eventId: "poll:customer:\(id):1", type: "customer.observed",
                record: RecordRef(recordType: "customer", recordId: id, version: 1, deleted: false, fullState: true),
                occurredAt: nil, receivedAt: time, headers: [], body: Array(#"{"id":"\#(id)"}"#.utf8), url: nil
            ))
            _ = try await store.applyPendingEvents(now: time) { _, _, body in body }
        }
        try await observe("before", at: 500)
        let sweep = try await store.beginSweep(connection: "sim1", resource: "customers", recordType: "customer", now: 1000)
        try await observe("during", at: 2000)
        #expect(try await store.acquireLease("sweep:sim1:customers", holder: "me", ttl: .seconds(60), now: 1000))
        try await store.commitSweepPage([], sweep: sweep.generation, cursor: PollCursor(), lease: "sweep:sim1:customers", holder: "me")
        #expect(try await store.finishSweep(sweep.generation, status: .complete, confirmable: true, lease: "sweep:sim1:customers", holder: "me", now: 3000) == 1)
        await #expect(throws: StoreError.self, "a sweep is ended once") {
            try await store.finishSweep(sweep.generation, status: .failed, confirmable: true, lease: "sweep:sim1:customers", holder: "me", now: 3001)
        }
        let suspects = try await store.events(EventFilter(type: "customer.suspected_deleted"))
        #expect(suspects.map(\.recordId) == ["before"])
        #expect(suspects.first?.reason?.hasPrefix("needs fetch") == true)

        // Without api.fetch nothing can confirm a deletion: the suspects are counted, not proposed.
        let blind = try await store.beginSweep(connection: "sim1", resource: "customers", recordType: "customer", now: 4000)
        await #expect(throws: StoreError.self, "a process that lost the lease must not end the sweep") {
            try await store.finishSweep(blind.generation, status: .complete, confirmable: false, lease: "sweep:sim1:customers", holder: "someone else", now: 5000)
        }
        #expect(try await store.finishSweep(blind.generation, status: .complete, confirmable: false, lease: "sweep:sim1:customers", holder: "me", now: 5000) == 2)
        #expect(try await store.events(EventFilter(type: "customer.suspected_deleted")).count == 1)
        let counted = try await store.sweeps(connection: "sim1").first
        #expect(counted?.extra == 2 && counted?.error?.contains("api.fetch") == true)
    }

    @Test("a sweep that ends with more suspects than one transaction holds proposes every one, once, in bounded transactions")
    func manySuspects() async throws {
        let directory = try TestPaths.temporaryDirectory("sweep-many")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try Store(path: directory.appendingPathComponent("s.db").path, masterKey: TestSecrets.masterKey, logger: Self.logger)
        _ = try await store.addConnection(id: "sim1", provider: "simulator", tenant: "acme", account: nil, toleranceSeconds: nil, webhookSecrets: [], now: 0)
        let count = 1_234  // two full batches of 500 and a partial one
        for n in 0..<count {
            _ = try await store.append(EventDraft(
                connection: "sim1", tenant: "acme", provider: "simulator", source: .poll, eventId: "poll:customer:c\(n):1", type: "customer.observed",
                record: RecordRef(recordType: "customer", recordId: "c\(n)", version: 1, deleted: false, fullState: true),
                occurredAt: nil, receivedAt: 500, headers: [], body: Array(#"{"id":"c\#(n)"}"#.utf8), url: nil
            ))
        }
        _ = try await store.applyPendingEvents(limit: 10_000, now: 500) { _, _, body in body }
        #expect(try await store.acquireLease("sweep:sim1:customers", holder: "me", ttl: .seconds(60), now: 1000))
        let sweep = try await store.beginSweep(connection: "sim1", resource: "customers", recordType: "customer", now: 1000)
        #expect(try await store.finishSweep(sweep.generation, status: .complete, confirmable: true, lease: "sweep:sim1:customers", holder: "me", now: 3000) == count)
        let proposed = try await store.events(EventFilter(type: "customer.suspected_deleted", limit: 10_000)).compactMap(\.recordId)
        #expect(proposed.count == count)
        #expect(Set(proposed) == Set((0..<count).map { "c\($0)" }))
        #expect(try await store.sweeps(connection: "sim1").first?.extra == count)
    }

    static func suspects(_ store: Store) async throws -> Int {
        try await store.events(EventFilter(type: "customer.suspected_deleted", limit: 10_000)).count
    }
}

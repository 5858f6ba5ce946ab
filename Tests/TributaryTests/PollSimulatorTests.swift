import Foundation
import Logging
import ProviderSimulator
import ServiceLifecycle
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

/// Polling the provider simulator for real, over loopback, under throttling and live mutations.
@Suite("Polling the simulator", .serialized)
struct PollSimulatorTests {
    @Test("with mutations running, 10% 429s and repeats at page boundaries, every latest version is logged and nothing is sent while told to wait")
    func convergesUnderChaos() async throws {
        var configuration = SimulatorConfiguration()
        configuration.port = 0
        configuration.seed = 42
        configuration.initialRecordsPerType = 1500
        configuration.granularity = .seconds
        configuration.chaos.rateLimitFraction = 0.1
        configuration.chaos.repeatAtBoundary = 2
        configuration.rateLimit = .init(requestsPerSecond: 400, burst: 40)
        let simulator = try ProviderSimulator(configuration: configuration, logger: SimulatorRig.logger)
        let token = configuration.tokens[0]
        let directory = try TestPaths.temporaryDirectory("poll-sim")
        defer { try? FileManager.default.removeItem(at: directory) }
        let logger = SimulatorRig.logger

        let (missing, counters, reports) = try await SimulatorRig.withSimulator(simulator) { port in
            let store = try await SimulatorRig.store(directory, port: port, token: token)
            let runner = PollRunner(store: store, catalog: try ManifestCatalog.load(directory: TestPaths.providers), transport: HTTPTransport(outboundGuard: OutboundGuard(allowPrivate: true)), clock: .system)
            try simulator.startMutations(rate: 300)
            var reports: [PollReport] = []
            for _ in 0..<5 { reports += try await runner.runDue(force: true, logger: logger) }
            simulator.stopMutations()
            reports += try await runner.runDue(force: true, logger: logger)
            return (try await SimulatorRig.missing(simulator, store: store), simulator.counters(), reports)
        }
        let pages = reports.map(\.pages).reduce(0, +)
        print("poll under chaos: \(reports.count) runs, \(pages) pages, \(counters.requests) requests, \(counters.rateLimited) answered 429, \(counters.changes) mutations, violations \(counters.violations), missing \(missing.count)")
        #expect(reports.allSatisfy { $0.error == nil }, "\(reports.compactMap(\.error))")
        #expect(counters.changes > 0, "mutations never ran: the test proved nothing")
        #expect(counters.rateLimited > 0, "no 429 was ever sent: the test proved nothing")
        #expect(counters.violations == 0, "requests were sent while the simulator had said to wait")
        #expect(missing.count == 0, "latest versions missing from the log, e.g. \(missing.prefix(10))")
    }
}

/// Two processes never poll one resource at once: cron's `poll --once` and `serve` share the lease.
@Suite("Poll leases")
struct PollLeaseTests {
    @Test("a resource leased by another process is skipped without a request; a live local holder is not taken over")
    func leasedResourceIsSkipped() async throws {
        var configuration = SimulatorConfiguration()
        configuration.port = 0
        configuration.initialRecordsPerType = 10
        let simulator = try ProviderSimulator(configuration: configuration, logger: SimulatorRig.logger)
        let token = configuration.tokens[0]
        let directory = try TestPaths.temporaryDirectory("poll-lease")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (reports, requests, afterRelease) = try await SimulatorRig.withSimulator(simulator) { port in
            let store = try await SimulatorRig.store(directory, port: port, token: token)
            let catalog = try ManifestCatalog.load(directory: TestPaths.providers)
            let now = EngineClock.system.now()
            // Another node holds customers; this very process (alive) holds tickets under another name.
            #expect(try await store.acquireLease("poll:sim1:customers", holder: "other-host:4242:abcd", ttl: .seconds(60), now: now))
            let alive = "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier):other"
            #expect(try await store.acquireLease("poll:sim1:tickets", holder: alive, ttl: .seconds(60), now: now))
            let runner = PollRunner(store: store, catalog: catalog, transport: HTTPTransport(outboundGuard: OutboundGuard(allowPrivate: true)), clock: .system)
            let reports = try await runner.runDue(force: true, logger: SimulatorRig.logger)
            let requests = simulator.counters().requests
            try await store.releaseLease("poll:sim1:customers", holder: "other-host:4242:abcd")
            let afterRelease = try await runner.runDue(force: true, connection: "sim1", resource: "customers", logger: SimulatorRig.logger)
            return (reports, requests, afterRelease)
        }
        #expect(reports.count == 2 && reports.allSatisfy(\.skipped), "\(reports)")
        #expect(requests == 0, "a skipped run sent requests")
        #expect(afterRelease.count == 1 && afterRelease[0].skipped == false && afterRelease[0].observations == 10)
    }
}

/// The mirror built from polled observations equals the provider's ground truth.
@Suite("Mirror from polling", .serialized)
struct MirrorFromPollingTests {
    @Test("after mutations (creates, updates, deletes) stop, poll + reconcile make the mirror equal /_sim/state")
    func mirrorEqualsGroundTruth() async throws {
        var configuration = SimulatorConfiguration()
        configuration.port = 0
        configuration.seed = 11
        configuration.initialRecordsPerType = 300
        configuration.granularity = .seconds
        configuration.chaos.repeatAtBoundary = 2
        let simulator = try ProviderSimulator(configuration: configuration, logger: SimulatorRig.logger)
        let token = configuration.tokens[0]
        let directory = try TestPaths.temporaryDirectory("mirror")
        defer { try? FileManager.default.removeItem(at: directory) }
        let logger = SimulatorRig.logger

        let (mismatches, counters, reports) = try await SimulatorRig.withSimulator(simulator) { port in
            let store = try await SimulatorRig.store(directory, port: port, token: token)
            let catalog = try ManifestCatalog.load(directory: TestPaths.providers)
            let runner = PollRunner(store: store, catalog: catalog, transport: HTTPTransport(outboundGuard: OutboundGuard(allowPrivate: true)), clock: .system)
            let reconciler = Reconciler(store: store, catalog: catalog, clients: runner.clients, now: EngineClock.system.now)
            var reports: [ReconcileReport] = []
            try simulator.startMutations(rate: 400)
            for _ in 0..<3 {
                _ = try await runner.runDue(force: true, logger: logger)
                reports.append(try await reconciler.runOnce(logger: logger))
            }
            simulator.stopMutations()
            _ = try await runner.runDue(force: true, logger: logger)
            reports.append(try await reconciler.runOnce(logger: logger))
            var mismatches: [String] = []
            var mirrored: [String: MirrorRecord] = [:]
            for record in try await store.records(connection: "sim1", limit: 1_000_000) { mirrored["\(record.recordType)/\(record.recordId)"] = record }
            for truth in simulator.records() {
                guard let mirror = mirrored.removeValue(forKey: "\(truth.type)/\(truth.id)") else {
                    mismatches.append("missing \(truth.type)/\(truth.id)")
                    continue
                }
                if mirror.version != Int64(truth.version) || mirror.deleted != truth.deleted {
                    mismatches.append("\(truth.type)/\(truth.id): mirror v\(mirror.version ?? -1) deleted=\(mirror.deleted), provider v\(truth.version) deleted=\(truth.deleted)")
                } else if !truth.deleted, mirror.data.flatMap({ JSONValue(parsing: $0) }) != truth.json {
                    mismatches.append("\(truth.type)/\(truth.id): data differs")
                }
            }
            mismatches += mirrored.keys.sorted().map { "extra \($0)" }
            return (mismatches, simulator.counters(), reports)
        }
        let applied = reports.map(\.applied).reduce(0, +)
        let superseded = reports.map(\.superseded).reduce(0, +)
        print("mirror from polling: \(counters.changes) changes (\(counters.deleted) deletes), applied \(applied), superseded \(superseded), mismatches \(mismatches.count)")
        #expect(counters.deleted > 0, "no deletion happened: the test proved nothing about tombstones")
        #expect(mismatches.count == 0, "e.g. \(mismatches.prefix(5))")
        #expect(reports.allSatisfy { $0.needFetch == 0 }, "polled observations carry full state and versions")
    }
}


/// Events that cannot decide on their own are answered by one fetch per record.
@Suite("Reconcile fetches", .serialized)
struct ReconcileFetchTests {
    @Test("thin events and events without a version are resolved by one fetch per record; a 404 is a tombstone that keeps its version")
    func thinEventsAreFetched() async throws {
        var configuration = SimulatorConfiguration()
        configuration.port = 0
        configuration.seed = 5
        configuration.types = ["customer"]
        configuration.initialRecordsPerType = 20
        let simulator = try ProviderSimulator(configuration: configuration, logger: SimulatorRig.logger)
        let token = configuration.tokens[0]
        let directory = try TestPaths.temporaryDirectory("fetch")
        defer { try? FileManager.default.removeItem(at: directory) }
        let logger = SimulatorRig.logger

        let outcome = try await SimulatorRig.withSimulator(simulator) { port in
            let store = try await SimulatorRig.store(directory, port: port, token: token)
            let catalog = try ManifestCatalog.load(directory: TestPaths.providers)
            let runner = PollRunner(store: store, catalog: catalog, transport: HTTPTransport(outboundGuard: OutboundGuard(allowPrivate: true)), clock: .system)
            let reconciler = Reconciler(store: store, catalog: catalog, clients: runner.clients, now: EngineClock.system.now)
            _ = try await runner.runDue(force: true, connection: "sim1", resource: "customers", logger: logger)
            _ = try await reconciler.runOnce(logger: logger)

            let records = simulator.records()
            let updated = records[0], deleted = records[1]
            _ = try simulator.update(type: "customer", id: updated.id)
            _ = try simulator.update(type: "customer", id: updated.id)
            _ = try simulator.delete(type: "customer", id: deleted.id)
            // A burst of thin webhook-like events for the updated record, and one without a version for the deleted one.
            for n in 0..<3 {
                _ = try await store.append(EventDraft(
                    connection: "sim1", tenant: "acme", provider: "simulator", source: .webhook, eventId: "thin-\(n)", type: "customer.updated",
                    record: RecordRef(recordType: "customer", recordId: updated.id, version: Int64(updated.version + 1), deleted: false, fullState: false),
                    occurredAt: nil, receivedAt: 0, headers: [], body: Array("{}".utf8), url: nil
                ))
            }
            _ = try await store.append(EventDraft(
                connection: "sim1", tenant: "acme", provider: "simulator", source: .webhook, eventId: "noversion", type: "customer.updated",
                record: RecordRef(recordType: "customer", recordId: deleted.id, version: nil, deleted: false, fullState: true),
                occurredAt: nil, receivedAt: 0, headers: [], body: Array("{}".utf8), url: nil
            ))
            let report = try await reconciler.runOnce(logger: logger)
            let mirroredUpdated = try await store.record(connection: "sim1", type: "customer", id: updated.id)
            let mirroredDeleted = try await store.record(connection: "sim1", type: "customer", id: deleted.id)
            let truth = simulator.record(type: "customer", id: updated.id)
            let pending = try await store.events(EventFilter(status: .pending))
            return (report, mirroredUpdated, mirroredDeleted, truth, deleted.version, pending.count)
        }
        let (report, mirroredUpdated, mirroredDeleted, truth, deletedVersion, pending) = outcome
        #expect(report.fetches == 2, "one fetch per record, not per event: \(report)")
        #expect(report.fetchFailures == 0)
        #expect(mirroredUpdated?.version == truth.map { Int64($0.version) })
        #expect(mirroredUpdated?.data.flatMap { JSONValue(parsing: $0) } == truth?.json)
        #expect(mirroredDeleted?.deleted == true)
        #expect(mirroredDeleted?.version == Int64(deletedVersion), "a 404 tombstone keeps the last known version")
        #expect(pending == 0, "every event settled")
    }
}

import Foundation
import Logging
import ProviderSimulator
import Testing
import TributaryCore
import TributaryIntegrationTesting
import TributaryPolling
import TributaryProviders
import TributaryScheduling
import TributaryStore
import TributaryTesting
import TributaryUpstream

/// `kill -9` in the middle of a reconcile pass: nothing applied twice, nothing lost.
@Suite("Reconcile crash recovery", .serialized)
struct ReconcileCrashTests {
    @Test("SIGKILL during reconcile, then a restart: every event applied at most once and the mirror complete")
    func reconcileSurvivesSIGKILL() async throws {
        var configuration = SimulatorConfiguration()
        configuration.port = 0
        configuration.seed = 3
        configuration.initialRecordsPerType = 4000
        let simulator = try ProviderSimulator(configuration: configuration, logger: SimulatorRig.logger)
        let token = configuration.tokens[0]
        let directory = try TestPaths.temporaryDirectory("reconcile-crash")
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = directory.appendingPathComponent("poll.db").path
        let logger = SimulatorRig.logger

        let store = try await SimulatorRig.withSimulator(simulator) { port in
            let store = try await SimulatorRig.store(directory, port: port, token: token)
            let runner = PollRunner(store: store, catalog: try ManifestCatalog.load(directory: TestPaths.providers), transport: HTTPTransport(outboundGuard: OutboundGuard(allowPrivate: true)), clock: .system)
            _ = try await runner.runDue(force: true, logger: logger)
            return store
        }
        let total = try await store.eventCounts()[.pending] ?? 0
        #expect(total == 8000)

        let first = try Self.reconcile(database)
        // Wait (by reading, not sleeping) until the first batches are committed, then kill mid-pass.
        while (try await store.eventCounts()[.applied] ?? 0) == 0 { await Task.yield() }
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        let appliedBeforeRestart = try await store.eventCounts()[.applied] ?? 0

        let second = try Self.reconcile(database)
        second.waitUntilExit()
        #expect(second.terminationStatus == 0)

        let counts = try await store.eventCounts()
        let applications = try await store.applications()
        let mirror = try await store.records(connection: "sim1", limit: 1_000_000)
        let mismatches = SimulatorRig.mismatches(mirror, simulator.records())
        print("reconcile crash: killed with \(appliedBeforeRestart) of \(total) applied; after restart \(counts[.applied] ?? 0) applied, \(counts[.pending] ?? 0) pending, max applications per event \(applications.values.max() ?? 0), mismatches \(mismatches.count)")
        #expect(appliedBeforeRestart < total, "the kill came after the pass finished: the test proved nothing")
        #expect((counts[.pending] ?? 0) == 0)
        #expect(applications.values.allSatisfy { $0 <= 1 }, "an event was applied twice")
        #expect(applications.values.reduce(0, +) == counts[.applied] ?? -1)
        #expect(mismatches.count == 0, "e.g. \(mismatches.prefix(5))")
    }

    static func reconcile(_ database: String) throws -> Process {
        let process = TestPaths.tributaryProcess(["reconcile", "--allow-private-upstreams", "--db", database, "--providers", TestPaths.providers], masterKey: TestSecrets.masterKey)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }
}

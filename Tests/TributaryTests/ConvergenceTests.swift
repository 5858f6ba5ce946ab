import Foundation
import Logging
import ProviderSimulator
import ServiceLifecycle
import Testing
import TributaryCore
import TributaryPolling
import TributaryProviders
import TributaryReconcile
import TributaryRuntime
import TributaryScheduling
import TributaryStore
import TributaryIntegrationTesting
import TributaryTesting
import TributaryUpstream

/// The whole engine (intake, poll scheduler, reconciler) against the simulator under chaos.
@Suite("Convergence", .serialized)
struct ConvergenceTests {
    @Test("webhooks (20% dropped, 20% duplicated, reordered within 50) plus polling (10% 429s) and one sweep converge to the provider's state", arguments: 1...10)
    func converges(seed: Int) async throws {
        try await converge(seed: seed, hardDeletes: false)
    }

    /// A provider whose lists drop deleted records: polling never sees a deletion, so every delete
    /// webhook that was dropped leaves a live record only the sweep (and its confirming fetch) can fix.
    @Test("with hard deletes, only the sweep finds the deletions whose webhooks were dropped", arguments: 11...13)
    func convergesWithHardDeletes(seed: Int) async throws {
        try await converge(seed: seed, hardDeletes: true)
    }

    func converge(seed: Int, hardDeletes: Bool) async throws {
        let directory = try TestPaths.temporaryDirectory("converge")
        defer { try? FileManager.default.removeItem(at: directory) }
        var configuration = TestEngine.configuration(directory: directory)
        // The test drives polling itself (so the last poll is known to have run); the reconciler runs as in serve.
        configuration.polling = false
        configuration.reconciling = true
        configuration.pollTick = .milliseconds(200)
        let logger = SimulatorRig.logger

        let result = try await ChaosRig.run(engine: configuration, logger: logger, simulator: { sim in
            sim.seed = UInt64(seed)
            sim.initialRecordsPerType = 100
            sim.granularity = .seconds
            sim.hardDeletes = hardDeletes
        }) { engine, simulator in
            let initial = simulator.counters().changes
            try simulator.startMutations(rate: 300)
            // Poll while the mutations and webhooks run, and until at least one 429 has been lived through.
            var rounds = 0
            // A sweep also runs in the middle of it all: whatever it proposes while records change
            // under it must not delete a live one (a false deletion would survive to the end).
            var midSweep: Task<[SweepRun], any Error>?
            while rounds < 500, simulator.counters().changes < initial + 400 || simulator.counters().rateLimited == 0 {
                let reports = try await engine.pollRunner.runDue(force: true, logger: logger)
                #expect(reports.allSatisfy { $0.error == nil }, "\(reports.compactMap(\.error))")
                rounds += 1
                if rounds == 1 { midSweep = Task { try await engine.sweepRunner.runDue(force: true, logger: logger) } }
                if simulator.counters().changes >= initial + 400 { simulator.stopMutations() }
            }
            simulator.stopMutations()
            let during = try await midSweep?.value ?? []
            #expect(during.count == 2 && during.allSatisfy { $0.outcome.sweep?.status == .complete }, "\(during.map { "\($0.outcome)" })")
            let stopped = ContinuousClock.now
            // Idle: the last webhooks delivered, one more poll, one more reconcile pass, one full sweep
            // (its drift applied and its suspected deletions confirmed by the reconciler's fetches).
            _ = await simulator.webhookEmitter?.deliverPending()
            _ = try await engine.pollRunner.runDue(force: true, logger: logger)
            _ = try await engine.reconciler.runOnce(untilSettled: true, logger: logger)
            let beforeSweep = SimulatorRig.mismatches(try await engine.store.records(connection: "sim1", limit: 1_000_000), simulator.records(), hardDeletes: hardDeletes)
            let sweeps = try await engine.sweepRunner.runDue(force: true, logger: logger).compactMap(\.outcome.sweep)
            _ = try await engine.reconciler.runOnce(untilSettled: true, logger: logger)
            let converged = ContinuousClock.now - stopped
            let mirror = try await engine.store.records(connection: "sim1", limit: 1_000_000)
            let ended = try await engine.store.sweeps(connection: "sim1").filter { s in sweeps.contains { $0.generation == s.generation } }
            return (SimulatorRig.mismatches(mirror, simulator.records(), hardDeletes: hardDeletes), converged, simulator.counters(), beforeSweep.count, ended)
        }
        let (mismatches, converged, counters, beforeSweep, sweeps) = result
        let drift = sweeps.map { "\($0.recordType): missing \($0.missing), stale \($0.stale), extra \($0.extra), confirmed deleted \($0.confirmedDeleted)" }
        print("convergence seed \(seed)\(hardDeletes ? " (hard deletes)" : ""): \(counters.changes) changes, \(counters.webhooksSent) webhooks (\(counters.webhooksDropped) dropped, \(counters.webhooksDuplicated) duplicated), \(counters.rateLimited) 429s, converged in \(converged) after mutations stopped (sweep included), mismatches before the sweep \(beforeSweep), after \(mismatches.count); sweep drift \(drift.joined(separator: "; "))")
        #expect(counters.webhooksDropped > 0 && counters.webhooksDuplicated > 0 && counters.rateLimited > 0, "the chaos did not happen")
        #expect(sweeps.count == 2 && sweeps.allSatisfy { $0.status == .complete }, "\(sweeps.map(\.json.jsonText))")
        #expect(sweeps.allSatisfy { $0.confirmedDeleted <= $0.extra }, "a deletion confirmed that no sweep suspected")
        if hardDeletes {
            #expect(sweeps.map(\.confirmedDeleted).reduce(0, +) > 0 || beforeSweep == 0, "the sweep confirmed no deletion though the mirror differed")
        }
        #expect(counters.violations == 0)
        #expect(mismatches.count == 0, "e.g. \(mismatches.prefix(5))")
        if !mismatches.isEmpty { print("mismatches: \(mismatches.prefix(5))") }
    }
}

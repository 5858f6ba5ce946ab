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

    /// The page styles of older REST APIs, polled through the same chaos: offset paging with a total
    /// behind Redmine's repeated-key filter (`f[]`, `op[…]`, `v[…][]`, the time templated in), and offset
    /// paging behind a templated `updated_on=>=…` that ends on a short page. Pages of 25 while ~300
    /// records change each second, at whole-second times: every second is a cluster larger than a page.
    @Test("offset-paged, templated-filter lists with clustered seconds converge", arguments: [(21, PollStyle.redmineFilter), (22, .redmineFilter), (23, .shortcutNoTotal)])
    func convergesWithOffsetPaging(seed: Int, style: PollStyle) async throws {
        try await converge(seed: seed, hardDeletes: false, style: style)
    }

    /// The same chaos through an OAuth connection whose access tokens live one second (and are all ended
    /// early once, mid-run): polls, sweeps and the reconciler's fetches renew them as they go, once each.
    @Test("with 1-second OAuth access tokens, renewed under the chaos and revoked early once, the mirror still converges", arguments: [31, 32])
    func convergesWithShortLivedTokens(seed: Int) async throws {
        try await converge(seed: seed, hardDeletes: false, oauthTokenSeconds: 1)
    }

    @Test(
        "webhooks only through a subscription the engine made, granted 3 s at a time, lost at the provider mid-run, with 2-s OAuth tokens: renewed, recreated, polled for the gap, 0 mismatches",
        arguments: [35]
    )
    func convergesThroughAnExpiringSubscription(seed: Int) async throws {
        try await converge(seed: seed, hardDeletes: false, oauthTokenSeconds: 2, subscriptionSeconds: 3)
    }

    /// How the simulator's lists are polled: the shipped manifest's keyset, or a variant of it.
    enum PollStyle: Sendable, CustomStringConvertible {
        case keyset, redmineFilter, shortcutNoTotal

        var description: String {
            switch self {
            case .keyset: "keyset"
            case .redmineFilter: "offset + total behind f[]/op/v[] filters"
            case .shortcutNoTotal: "offset behind updated_on=>={since}, short page ends"
            }
        }

        /// The `poll:` section of the variant manifest (`nil`: the shipped one).
        var pollSection: String? {
            // What both variants read of each item, as the shipped manifest does.
            let items = """
                pageSize: {param: limit, value: 25}
                      items: /items
                      id: /id
                      version: {pointer: /version, format: integer}
                      updatedAt: {pointer: /updated_at, format: rfc3339}
                      deleted: {pointer: /deleted, equals: ["true"]}
                """
            let resource = { (type: String, name: String) -> String in
                switch self {
                case .keyset: return ""
                case .redmineFilter:
                    return """
                        - name: \(name)
                          recordType: \(type)
                          path: /v1/\(type)/offset
                          query:
                            - {name: "f[]", value: updated_on}
                            - {name: "op[updated_on]", value: ">="}
                            - {name: "v[updated_on][]", value: "{since}"}
                            - {name: "f[]", value: status_id}
                            - {name: "op[status_id]", value: "*"}
                          \(items)
                          cursor: {kind: timestamp, since: {format: rfc3339}, initial: "1970-01-01T00:00:00Z", lookback: 2}
                          next: {offset: {param: offset}, total: /total_count}
                          interval: 30

                    """
                case .shortcutNoTotal:
                    return """
                        - name: \(name)
                          recordType: \(type)
                          path: /v1/\(type)/offset
                          query: {updated_on: ">={since}"}
                          \(items)
                          cursor: {kind: timestamp, since: {format: rfc3339}, lookback: 2}
                          next: {offset: {param: offset}}
                          interval: 30

                    """
                }
            }
            if case .keyset = self { return nil }
            return "poll:\n  resources:\n" + resource("customer", "customers") + resource("ticket", "tickets")
        }

        /// A providers directory holding the simulator's manifest with this style's `poll:` section.
        func providersDirectory(in directory: URL) throws -> String {
            guard let section = pollSection else { return TestPaths.providers }
            let shipped = try String(contentsOfFile: TestPaths.providers + "/simulator.yaml", encoding: .utf8)
            let head = try #require(shipped.range(of: "\npoll:\n")).lowerBound
            let target = directory.appendingPathComponent("providers")
            try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
            try (shipped[..<head] + "\n" + section).write(to: target.appendingPathComponent("simulator.yaml"), atomically: true, encoding: .utf8)
            return target.path
        }
    }

    func converge(seed: Int, hardDeletes: Bool, style: PollStyle = .keyset, oauthTokenSeconds: Int64? = nil, subscriptionSeconds: Int64? = nil) async throws {
        let directory = try TestPaths.temporaryDirectory("converge")
        defer { try? FileManager.default.removeItem(at: directory) }
        var configuration = TestEngine.configuration(directory: directory)
        configuration.providersDirectory = oauthTokenSeconds == nil ? try style.providersDirectory(in: directory) : try OAuthRig.providers(directory)
        if oauthTokenSeconds != nil { configuration.now = EngineClock.system.now }
        // The test drives polling itself (so the last poll is known to have run); the reconciler runs as in serve.
        configuration.polling = false
        configuration.reconciling = true
        configuration.pollTick = .milliseconds(200)
        let logger = SimulatorRig.logger

        let result = try await ChaosRig.run(engine: configuration, logger: logger, oauthTokenSeconds: oauthTokenSeconds, subscriptionSeconds: subscriptionSeconds, simulator: { sim in
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
            // With a subscription: it must have been renewed, then lost at the provider while changes
            // were still being delivered, and made again, before the mutations stop.
            var lost = false
            // Deliveries taken before the loss, and by the time the subscription was made again.
            var takenBeforeLoss = 0
            var takenAtRecreate: Int?
            // Done once the new subscription has taken a delivery too (mutations go on until then).
            func subscriptionDone() -> Bool {
                guard subscriptionSeconds != nil else { return true }
                guard let taken = takenAtRecreate else { return false }
                return simulator.counters().webhooksDelivered > taken
            }
            while rounds < 500, simulator.counters().changes < initial + 400 || simulator.counters().rateLimited == 0 || !subscriptionDone() {
                let reports = try await engine.pollRunner.runDue(force: true, logger: logger)
                #expect(reports.allSatisfy { $0.error == nil }, "\(reports.compactMap(\.error))")
                rounds += 1
                if rounds == 1 { midSweep = Task { try await engine.sweepRunner.runDue(force: true, logger: logger) } }
                // The provider ends every token early once: the next calls get 401 and renew.
                if rounds == 3 { simulator.expireAccessTokens() }
                if subscriptionSeconds != nil, !lost, simulator.subscriptionsRenewed > 0 {
                    takenBeforeLoss = simulator.counters().webhooksDelivered
                    simulator.expireSubscriptions()
                    lost = true
                }
                if lost, takenAtRecreate == nil, simulator.subscriptionsCreated >= 2 { takenAtRecreate = simulator.counters().webhooksDelivered }
                if simulator.counters().changes >= initial + 400, subscriptionDone() { simulator.stopMutations() }
                if subscriptionSeconds != nil { try await Task.sleep(for: .milliseconds(50)) }
            }
            simulator.stopMutations()
            let during = try await midSweep?.value ?? []
            #expect(during.count == 2 && during.allSatisfy { $0.outcome.sweep?.status == .complete }, "\(during.map { "\($0.outcome)" })")
            let stopped = ContinuousClock.now
            // Idle: the last webhooks delivered, one more poll, one more reconcile pass, one full sweep
            // (its drift applied and its suspected deletions confirmed by the reconciler's fetches).
            // A sweep does not suspect a record written while it ran (a late webhook of an earlier
            // update, say), so, like the periodic sweep in serve, another round follows while the
            // mirror still differs: at most three rounds.
            var beforeSweep = 0
            var sweeps: [SweepRun] = []
            var sweepRounds = 0
            var mirror: [MirrorRecord] = []
            while sweepRounds < 3 {
                sweepRounds += 1
                _ = await simulator.webhookEmitter?.deliverPending()
                _ = try await engine.pollRunner.runDue(force: true, logger: logger)
                _ = try await engine.reconciler.runOnce(untilSettled: true, logger: logger)
                if sweepRounds == 1 {
                    beforeSweep = SimulatorRig.mismatches(try await engine.store.records(connection: "sim1", limit: 1_000_000), simulator.records(), hardDeletes: hardDeletes).count
                }
                sweeps += try await engine.sweepRunner.runDue(force: true, logger: logger)
                _ = try await engine.reconciler.runOnce(untilSettled: true, logger: logger)
                mirror = try await engine.store.records(connection: "sim1", limit: 1_000_000)
                if SimulatorRig.mismatches(mirror, simulator.records(), hardDeletes: hardDeletes).isEmpty { break }
            }
            let converged = ContinuousClock.now - stopped
            let ran = sweeps.compactMap(\.outcome.sweep)
            let ended = try await engine.store.sweeps(connection: "sim1").filter { s in ran.contains { $0.generation == s.generation } }
            // The largest number of records of one type last changed within one second: what a page of 25 must page through.
            let cluster = Dictionary(grouping: simulator.records(), by: { "\($0.type) \($0.updatedAt / 1_000_000)" }).values.map(\.count).max() ?? 0
            let kept = (
                renewed: simulator.subscriptionsRenewed, created: simulator.subscriptionsCreated, lost: lost, takenBeforeLoss: takenBeforeLoss,
                takenAfterRecreate: simulator.counters().webhooksDelivered - (takenAtRecreate ?? Int.max / 2)
            )
            return (SimulatorRig.mismatches(mirror, simulator.records(), hardDeletes: hardDeletes), converged, simulator.counters(), beforeSweep, ended, sweepRounds, cluster, simulator.oauthCounters, kept)
        }
        let (mismatches, converged, counters, beforeSweep, sweeps, sweepRounds, cluster, oauth, kept) = result
        if subscriptionSeconds != nil {
            print("convergence seed \(seed) [subscription]: \(kept.renewed) renewals, \(kept.created) subscriptions made, lost at the provider mid-run: \(kept.lost); deliveries taken \(kept.takenBeforeLoss) before the loss and \(kept.takenAfterRecreate) after it was made again, \(counters.webhooksFailed) lost or refused")
            #expect(kept.renewed >= 1 && kept.lost && kept.created >= 2, "the subscription was not renewed, lost and made again: the run did not test it")
            // Each subscription delivered, verified with the secret it was made with (a refused one is not taken).
            #expect(kept.takenBeforeLoss > 0 && kept.takenAfterRecreate > 0, "deliveries taken: \(kept.takenBeforeLoss) before the loss, \(kept.takenAfterRecreate) after")
        }
        if oauthTokenSeconds != nil {
            print("convergence seed \(seed) [oauth]: \(oauth.refreshes) token renewals, \(oauth.expiredRejections) requests refused with an ended token, \(oauth.invalidGrants) invalid grants")
            #expect(oauth.refreshes >= 2 && oauth.expiredRejections >= 1, "tokens were not renewed by time and by refusal: the run did not test renewal")
            #expect(oauth.invalidGrants == 0, "a rotated refresh token was presented twice")
        }
        let drift = sweeps.map { "\($0.recordType): missing \($0.missing), stale \($0.stale), extra \($0.extra), confirmed deleted \($0.confirmedDeleted)" }
        print("convergence seed \(seed)\(hardDeletes ? " (hard deletes)" : "") [\(style)]: \(counters.changes) changes, \(counters.webhooksSent) webhooks (\(counters.webhooksDropped) dropped, \(counters.webhooksDuplicated) duplicated), \(counters.rateLimited) 429s, converged in \(converged) after mutations stopped (\(sweepRounds) sweep round(s) included), largest second \(cluster) records, mismatches before the sweep \(beforeSweep), after \(mismatches.count); sweep drift \(drift.joined(separator: "; "))")
        #expect(counters.webhooksDropped > 0 && counters.webhooksDuplicated > 0 && counters.rateLimited > 0, "the chaos did not happen")
        #expect(sweeps.count == 2 * sweepRounds && sweeps.allSatisfy { $0.status == .complete }, "\(sweeps.map(\.json.jsonText))")
        #expect(sweeps.allSatisfy { $0.confirmedDeleted <= $0.extra }, "a deletion confirmed that no sweep suspected")
        if hardDeletes {
            #expect(sweeps.map(\.confirmedDeleted).reduce(0, +) > 0 || beforeSweep == 0, "the sweep confirmed no deletion though the mirror differed")
        }
        #expect(counters.violations == 0)
        if case .keyset = style {} else {
            // Offset paging through clustered seconds needs no sweep for updates (only hard deletes would).
            #expect(cluster > 25, "no second held more changes than a page: the run did not test clustering")
            #expect(beforeSweep == 0, "offset paging missed \(beforeSweep) change(s) that only the sweep repaired")
        }
        #expect(mismatches.count == 0, "e.g. \(mismatches.prefix(5))")
        if !mismatches.isEmpty { print("mismatches: \(mismatches.prefix(5))") }
    }
}

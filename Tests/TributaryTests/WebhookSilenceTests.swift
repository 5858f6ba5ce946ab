import Foundation
import HTTPTypes
import ProviderSimulator
import Testing
import TributaryCore
import TributaryIntegrationTesting
import TributaryPolling
import TributaryRuntime
import TributaryScheduling
import TributaryStore
import TributaryTesting

/// A provider that stops sending webhooks while its records keep changing: nothing errors, events
/// just stop. The watch must say so, and poll at once, from what the log shows alone.
@Suite("Webhook silence", .serialized)
struct WebhookSilenceTests {
    @Test("webhooks that stop while the simulator keeps mutating raise one silence anomaly and a gap poll; a webhook ends it; no alarm while they flow")
    func silence() async throws {
        let directory = try TestPaths.temporaryDirectory("silence")
        defer { try? FileManager.default.removeItem(at: directory) }
        var configuration = TestEngine.configuration(directory: directory)
        configuration.now = EngineClock.system.now
        configuration.webhookSilenceWindow = 6_000_000
        let logger = SimulatorRig.logger
        let window = configuration.webhookSilenceWindow
        try await ChaosRig.run(engine: configuration, logger: logger, simulator: { sim in
            sim.webhooks?.dropRate = 0
            sim.webhooks?.duplicateRate = 0
            sim.webhooks?.reorderWindow = 1
            sim.chaos.rateLimitFraction = 0
            sim.rateLimit = nil
            sim.initialRecordsPerType = 20
        }) { engine, simulator in
            let watch = engine.webhookWatch
            try simulator.startMutations(rate: 25)
            defer { simulator.stopMutations() }
            await simulator.waitForChanges(atLeast: 10)

            // While webhooks flow, polls find the same changes: no alarm, over two windows and at least
            // 20 webhooks (counted, not timed: a loaded machine only makes this phase longer).
            let before = simulator.counters().webhooksDelivered
            let healthySince = EngineClock.system.now()
            var rounds = 0
            while rounds < 1000, simulator.counters().webhooksDelivered < before + 20 || EngineClock.system.now() - healthySince < 2 * window {
                rounds += 1
                _ = try await engine.pollRunner.runDue(force: true, logger: logger)
                #expect(try await watch.check(logger: logger).isEmpty, "a silence was raised while webhooks arrived")
                try await Task.sleep(for: .milliseconds(300))
            }
            #expect(simulator.counters().webhooksDelivered >= before + 20, "only \(simulator.counters().webhooksDelivered - before) webhooks arrived while healthy")
            var status = try #require(try await engine.store.status(connection: "sim1").first)
            #expect(status.webhooks?.silence == nil && (status.webhooks?.received ?? 0) >= WebhookWatch.minimumWebhooks)

            // The provider stops sending; records keep changing. Polls (as scheduled polls would) find the changes.
            simulator.silenceWebhooks()
            var found: [String] = []
            var requestsDuringDetection = 0
            for _ in 0..<200 where found.isEmpty {
                _ = try await engine.pollRunner.runDue(force: true, logger: logger)
                let before = simulator.counters().requests
                found = try await watch.check(logger: logger)
                requestsDuringDetection = simulator.counters().requests - before
                if found.isEmpty { try await Task.sleep(for: .milliseconds(300)) }
            }
            #expect(found == ["sim1"], "no silence raised within 200 checks")
            #expect(requestsDuringDetection > 0, "raising the silence polled nothing (no gap poll)")
            status = try #require(try await engine.store.status(connection: "sim1").first)
            let silence = try #require(status.webhooks?.silence, "status does not show the silence")
            #expect(silence.changeAt > (status.webhooks?.lastReceivedAt ?? .max), "the change that revealed it is older than the last webhook")
            #expect(silence.detectedAt - silence.changeAt >= window, "raised before the window had passed")
            #expect(status.json["webhooks"]?["silent"] == .bool(true))
            // The gap poll ran after the anomaly was raised.
            let polled = try await engine.store.pollStates(connection: "sim1").compactMap(\.lastRunFinishedAt).max() ?? 0
            #expect(polled >= silence.detectedAt)

            // Raised once: later checks of the same silence add nothing.
            _ = try await engine.pollRunner.runDue(force: true, logger: logger)
            #expect(try await watch.check(logger: logger).isEmpty)
            try await TestEngine.live(engine) { client in
                let scrape = try await client.send("/metrics", method: .get, headers: [:], body: "")
                #expect(scrape.bodyText.contains(#"tributary_anomalies_total{kind="silence"} 1"#), "\(scrape.bodyText.split(separator: "\n").filter { $0.contains("anomal") })")
                #expect(scrape.bodyText.contains(#"tributary_source_age_seconds{provider="simulator",source="webhook"}"#))
            }

            // Webhooks come again: the next one ends the silence.
            simulator.silenceWebhooks(false)
            for _ in 0..<100 {
                _ = try await watch.check(logger: logger)
                if try await engine.store.status(connection: "sim1").first?.webhooks?.silence == nil { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(try await engine.store.status(connection: "sim1").first?.webhooks?.silence == nil, "a webhook came and the silence stayed")
        }
    }
}

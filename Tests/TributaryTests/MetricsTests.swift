import Foundation
import HTTPTypes
import HummingbirdTesting
import ProviderSimulator
import Testing
import TributaryCore
import TributaryPolling
import TributaryReconcile
import TributaryScheduling
import TributaryIntegrationTesting
import TributaryRuntime
import TributaryStore
import TributaryTelemetry
import TributaryTesting

/// `GET /metrics` after a scripted run: each counter against what the run did, as the store and the
/// simulator saw it, not as the code under test reports it.
@Suite("Metrics")
struct MetricsTests {
    /// The samples of a Prometheus text exposition: each line `name{labels} value`, comments skipped.
    struct Scrape {
        var samples: [(name: String, labels: [String: String], value: Double)] = []
        var types: [String: String] = [:]
        var helps: Set<String> = []

        init(_ text: String) throws {
            for line in text.split(separator: "\n") {
                if line.hasPrefix("# TYPE ") {
                    let parts = line.split(separator: " ")
                    if parts.count == 4 { types[String(parts[2])] = String(parts[3]) }
                    continue
                }
                if line.hasPrefix("# HELP ") {
                    helps.insert(String(line.split(separator: " ")[2]))
                    continue
                }
                if line.hasPrefix("#") { continue }
                guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                    Issue.record("unreadable sample line: \(line)")
                    continue
                }
                let series = line[..<space]
                var name = String(series)
                var labels: [String: String] = [:]
                if let open = series.firstIndex(of: "{"), series.hasSuffix("}") {
                    name = String(series[..<open])
                    for pair in series[series.index(after: open)..<series.index(before: series.endIndex)].split(separator: ",") {
                        let kv = pair.split(separator: "=", maxSplits: 1)
                        guard kv.count == 2 else { continue }
                        labels[String(kv[0])] = String(kv[1].dropFirst().dropLast())
                    }
                }
                samples.append((name, labels, value))
            }
        }

        /// The sum of every series of `name` whose labels include `labels`.
        func value(_ name: String, _ labels: [String: String] = [:]) -> Double {
            samples.filter { sample in sample.name == name && labels.allSatisfy { key, value in sample.labels[key] == value } }.reduce(0) { $0 + $1.value }
        }
    }

    static func scrape(_ client: any TestClientProtocol, headers: [String: String] = [:]) async throws -> (SentResponse, Scrape) {
        let response = try await client.send("/metrics", method: .get, headers: headers, body: "")
        return (response, try Scrape(response.status == .ok ? response.bodyText : ""))
    }

    @Test("after webhooks (new, duplicate, forged, to an unknown provider), a poll through 429s and a reconcile, /metrics counts what happened")
    func scriptedRun() async throws {
        let directory = try TestPaths.temporaryDirectory("metrics")
        defer { try? FileManager.default.removeItem(at: directory) }
        var simulatorConfiguration = SimulatorConfiguration()
        simulatorConfiguration.port = 0
        simulatorConfiguration.initialRecordsPerType = 30
        simulatorConfiguration.defaultPageSize = 10
        simulatorConfiguration.chaos.rateLimitFraction = 0.25
        simulatorConfiguration.chaos.rateLimitRetryAfterSeconds = 1
        let simulator = try ProviderSimulator(configuration: simulatorConfiguration, logger: SimulatorRig.logger)
        try await SimulatorRig.withSimulator(simulator) { port in
            var configuration = TestEngine.configuration(directory: directory)
            configuration.now = EngineClock.system.now
            let engine = try Engine(configuration: configuration)
            _ = try await engine.store.addConnection(
                id: "sim1", provider: "simulator", tenant: "acme", account: nil, toleranceSeconds: nil, webhookSecrets: [ChaosRig.secret], now: 0
            )
            try await engine.store.setAPICredentials(connection: "sim1", token: "sim_token", baseURL: "http://127.0.0.1:\(port)", now: 0)

            try await TestEngine.live(engine) { client in
                let now = EngineClock.system.now()
                for i in 1...12 {
                    let (headers, body) = SimulatorWebhook.customerUpdated("cus_\(i)", version: 1, now: now)
                    #expect(try await client.send("/webhooks/simulator/sim1", headers: headers, body: body).status == .ok)
                }
                for i in 1...3 {
                    let (headers, body) = SimulatorWebhook.customerUpdated("cus_\(i)", version: 1, now: now)
                    let again = try await client.send("/webhooks/simulator/sim1", headers: headers, body: body)
                    #expect(again.status == .ok && again.json?["duplicate"] == .bool(true))
                }
                for i in 1...2 {
                    let (headers, body) = SimulatorWebhook.customerUpdated("cus_f\(i)", version: 1, now: now, secret: "whsec_" + Data("forged".utf8).base64EncodedString())
                    #expect(try await client.send("/webhooks/simulator/sim1", headers: headers, body: body).status == .unauthorized)
                }
                // A provider nobody configured: its name must not become a label (anyone can send any path).
                #expect(try await client.send("/webhooks/%3Cscript%3E/x", headers: [:], body: "{}").status == .notFound)

                let reports = try await engine.pollRunner.runDue(force: true, logger: SimulatorRig.logger)
                #expect(reports.allSatisfy { $0.error == nil }, "\(reports.compactMap(\.error))")
                let reconciled = try await engine.reconciler.runOnce(untilSettled: true, logger: SimulatorRig.logger)

                let (response, scrape) = try await Self.scrape(client)
                #expect(response.status == .ok)
                #expect(response.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)

                // Intake: every answer counted by status; the 2xx are exactly the events stored plus the duplicates.
                let stored = try await engine.store.events(EventFilter(connection: "sim1", limit: 100_000)).filter { $0.source == .webhook }.count
                #expect(stored == 12)
                #expect(scrape.value("tributary_intake_requests_total", ["provider": "simulator", "status": "200"]) == 15)
                #expect(scrape.value("tributary_intake_requests_total", ["provider": "simulator", "status": "401"]) == 2)
                #expect(scrape.value("tributary_intake_requests_total", ["provider": "unknown", "status": "404"]) == 1)
                #expect(!scrape.samples.contains { $0.labels["provider"]?.contains("script") == true }, "a path became a label")
                #expect(scrape.value("tributary_events_received_total", ["outcome": "stored"]) == Double(stored))
                #expect(scrape.value("tributary_events_received_total", ["outcome": "duplicate"]) == 3)
                #expect(scrape.value("tributary_intake_ack_seconds_count", ["provider": "simulator"]) == 17)
                #expect(scrape.value("tributary_group_commit_batch_size_sum") == 15, "every append (stored or duplicate) goes through one group commit")

                // Polls: runs, pages and new events as the reports say; requests and 429s as the simulator counted them.
                let counters = simulator.counters()
                #expect(counters.rateLimited > 0, "the run lived through no 429, so the throttle count was not checked")
                #expect(scrape.value("tributary_poll_runs_total", ["provider": "simulator", "result": "ok"]) == Double(reports.count))
                #expect(scrape.value("tributary_poll_pages_total", ["provider": "simulator"]) == Double(reports.map(\.pages).reduce(0, +)))
                #expect(scrape.value("tributary_poll_events_total", ["provider": "simulator"]) == Double(reports.map(\.newEvents).reduce(0, +)))
                #expect(scrape.value("tributary_upstream_requests_total", ["provider": "simulator"]) == Double(counters.requests))
                #expect(scrape.value("tributary_upstream_throttled_total", ["provider": "simulator"]) == Double(counters.rateLimited))
                #expect(scrape.value("tributary_upstream_requests_total", ["provider": "simulator", "status": "429"]) == Double(counters.rateLimited))

                // Reconcile and the log: what the reconciler settled, and the log's statuses as the store counts them.
                let settled = reconciled.applied + reconciled.superseded + reconciled.unchanged
                #expect(scrape.value("tributary_reconcile_events_total", ["outcome": "applied"]) == Double(reconciled.applied))
                #expect(scrape.value("tributary_reconcile_lag_seconds_count") == Double(settled))
                let counts = try await engine.store.eventCounts()
                for status in EventStatus.allCases {
                    #expect(scrape.value("tributary_events", ["status": status.rawValue]) == Double(counts[status] ?? 0), "events \(status.rawValue)")
                }
                #expect(scrape.value("tributary_events", ["status": "applied"]) > 0)

                // Every exported name is one the catalog declares, with its type and help.
                for name in Set(scrape.samples.map(\.name)) {
                    let base = ["_bucket", "_sum", "_count"].reduce(name) { $0.hasSuffix($1) ? String($0.dropLast($1.count)) : $0 }
                    let metric = try #require(Metric(rawValue: base), "\(name) is not in the Metric catalog")
                    #expect(scrape.types[base] == "\(metric.kind)", "\(base) is a \(scrape.types[base] ?? "?"), not a \(metric.kind)")
                    #expect(scrape.helps.contains(base), "\(base) has no HELP line")
                }
            }
        }
    }

    @Test("with TRIBUTARY_METRICS_TOKEN, /metrics answers only that bearer token")
    func token() async throws {
        let directory = try TestPaths.temporaryDirectory("metrics-token")
        defer { try? FileManager.default.removeItem(at: directory) }
        var configuration = TestEngine.configuration(directory: directory)
        configuration.metricsToken = "metrics-token-0123456789"
        let engine = try Engine(configuration: configuration)
        try await TestEngine.live(engine) { client in
            for headers in [[:], ["Authorization": "Bearer metrics-token-012345678"], ["Authorization": "Basic metrics-token-0123456789"],
                            ["Authorization": "Bearer \(TestEngine.adminToken)"]] {
                let (refused, _) = try await Self.scrape(client, headers: headers)
                #expect(refused.status == .unauthorized, "\(headers): \(refused.status)")
                #expect(!refused.bodyText.contains("tributary_"), "a refused scrape leaked metrics")
            }
            let (answer, scrape) = try await Self.scrape(client, headers: ["Authorization": "bearer metrics-token-0123456789"])
            #expect(answer.status == .ok)
            #expect(scrape.types["tributary_events"] == "gauge")
        }
    }
}

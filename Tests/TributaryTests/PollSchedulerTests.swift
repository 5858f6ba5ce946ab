import Foundation
import Logging
import ProviderSimulator
import Testing
import TributaryCore
import TributaryRuntime
import TributaryStore
import TributaryIntegrationTesting
import TributaryTesting

/// The poll scheduler inside `serve`: each resource on its own schedule.
@Suite("Poll scheduler")
struct PollSchedulerTests {
    @Test("a long backfill on one connection does not hold up another connection's polls")
    func independentRuns() async throws {
        let directory = try TestPaths.temporaryDirectory("scheduler")
        defer { try? FileManager.default.removeItem(at: directory) }
        // The manifests with the simulator's poll interval cut from 30 s to 1 s, so the quick
        // connection's resources are due every second.
        let providers = directory.appendingPathComponent("Providers")
        try FileManager.default.createDirectory(at: providers, withIntermediateDirectories: true)
        for file in try FileManager.default.contentsOfDirectory(atPath: TestPaths.providers) where file.hasSuffix(".yaml") {
            let text = try String(contentsOfFile: TestPaths.providers + "/" + file, encoding: .utf8)
            let adjusted = file == "simulator.yaml" ? text.replacingOccurrences(of: "interval: 30", with: "interval: 1") : text
            if file == "simulator.yaml" { #expect(adjusted != text, "the simulator manifest has no 30 s interval to shorten") }
            try adjusted.write(to: providers.appendingPathComponent(file), atomically: true, encoding: .utf8)
        }
        var configuration = TestEngine.configuration(directory: directory)
        configuration.providersDirectory = providers.path
        configuration.polling = true
        configuration.reconciling = false
        configuration.pollTick = .milliseconds(100)
        let engine = try Engine(configuration: configuration)
        let logger = Logger(label: "scheduler-test")

        // Slow: 3,000 records per type at 100 a page, each request answered after 300 ms: a backfill
        // of 30 pages, about 9 s, per resource. Quick: 5 records per type, answered at once.
        var slow = SimulatorConfiguration()
        slow.port = 0
        slow.initialRecordsPerType = 3000
        slow.chaos.latencyMilliseconds = 300...300
        var quick = SimulatorConfiguration()
        quick.port = 0
        quick.initialRecordsPerType = 5
        let tokens = (slow: slow.tokens[0], quick: quick.tokens[0])
        let slowSimulator = try ProviderSimulator(configuration: slow, logger: logger)
        let quickSimulator = try ProviderSimulator(configuration: quick, logger: logger)
        let (slowPorts, slowPort) = AsyncStream.makeStream(of: Int.self)
        let (quickPorts, quickPort) = AsyncStream.makeStream(of: Int.self)
        let (enginePorts, enginePort) = AsyncStream.makeStream(of: Int.self)

        let observed = try await RunningServices.run([slowSimulator.application { slowPort.yield($0) }], ports: slowPorts, logger: logger) { slowAt in
            try await RunningServices.run([quickSimulator.application { quickPort.yield($0) }], ports: quickPorts, logger: logger) { quickAt in
                for (id, port, token) in [("slow", slowAt, tokens.slow), ("quick", quickAt, tokens.quick)] {
                    _ = try await engine.store.addConnection(id: id, provider: "simulator", tenant: "acme", account: nil, toleranceSeconds: nil, webhookSecrets: [], now: 0)
                    try await engine.store.setAPICredentials(connection: id, token: token, baseURL: "http://127.0.0.1:\(port)", now: 0)
                }
                return try await RunningServices.run([engine.application { enginePort.yield($0) }], ports: enginePorts, logger: logger) { _ in
                    // Wait until the quick connection's customers have been polled four times (a run of
                    // five records is one page), then see where the slow backfill stands.
                    let deadline = ContinuousClock.now + .seconds(30)
                    var quickPages = 0
                    while ContinuousClock.now < deadline {
                        quickPages = try await engine.store.pollState(connection: "quick", resource: "customers").pages
                        if quickPages >= 4 { break }
                        try await Task.sleep(for: .milliseconds(100))
                    }
                    let slowState = try await engine.store.pollState(connection: "slow", resource: "customers")
                    return (quickPages: quickPages, slowPages: slowState.pages, slowRunning: slowState.cursor.run != nil)
                }
            }
        }
        #expect(observed.quickPages >= 4, "the quick connection was polled \(observed.quickPages) times in 30 s")
        #expect(observed.slowRunning && observed.slowPages < 30,
                "the slow backfill had ended (\(observed.slowPages) pages) before the quick connection's fourth poll: nothing shows the polls were not held up")
    }
}

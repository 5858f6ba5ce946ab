import Foundation
import Logging
import ProviderSimulator
import Testing
import TributaryCore
import TributaryRuntime
import TributaryScheduling
import TributaryStore
import TributaryIntegrationTesting
import TributaryTesting

/// The poll scheduler inside `serve`: each resource on its own schedule, on the engine's clock.
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
        // The engine's clock moves only when the test moves it (to each next wake-up: a tick, a
        // limiter's wait); each run the scheduler ends is handed to the test as it ends.
        let manual = ManualClock(now: EngineClock.system.now())
        configuration.clock = manual.clock
        let (runs, finished) = AsyncStream.makeStream(of: PollReport.self)
        configuration.pollFinished = { finished.yield($0) }
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
                    // Drive the clock from wake-up to wake-up until the quick connection's customers have been
                    // polled four times (a run of five records is one page), then see where the slow backfill
                    // stands. Nothing here sleeps: the runs are awaited as the scheduler ends them.
                    // Two minutes of real time at most: a scheduler that stopped starting runs ends the wait, not
                    // the test run. (A bound in engine time failed on a loaded machine: the clock jumps from tick
                    // to tick in microseconds, so an hour of it passed while one quick run was still in flight.)
                    let driver = Task {
                        let giveUp = ContinuousClock.now + .seconds(120)
                        while !Task.isCancelled, ContinuousClock.now < giveUp {
                            _ = await manual.advanceToNextWakeUp()
                            await Task.yield()
                        }
                        finished.finish()
                    }
                    defer { driver.cancel() }
                    var quickPages = 0
                    var slowEnded = false
                    for await report in runs where report.resource == "customers" {
                        #expect(report.error == nil, "\(report.error ?? "")")
                        if report.connection == "slow" { slowEnded = true }
                        quickPages = try await engine.store.pollState(connection: "quick", resource: "customers").pages
                        if quickPages >= 4 { break }
                    }
                    let slowState = try await engine.store.pollState(connection: "slow", resource: "customers")
                    // The slow backfill is under way: its lease is held, its run has not ended.
                    let slowRunning = try await engine.store.leaseHolder("poll:slow:customers") != nil && !slowEnded
                    return (quickPages: quickPages, slowPages: slowState.pages, slowRunning: slowRunning)
                }
            }
        }
        #expect(observed.quickPages >= 4, "the quick connection was polled \(observed.quickPages) times")
        #expect(observed.slowRunning && observed.slowPages < 30,
                "the slow backfill was not under way (\(observed.slowPages) pages) at the quick connection's fourth poll: nothing shows the polls were not held up")
    }

    @Test("the manual clock wakes each sleeper at its deadline, jumps to the next wake-up, and a cancelled sleeper throws at once")
    func manualClock() async throws {
        let manual = ManualClock(now: 1_000_000)
        try await withThrowingTaskGroup(of: Int.self) { group in
            for (index, seconds) in [3, 1, 2].enumerated() {
                group.addTask {
                    try await manual.clock.sleep(.seconds(seconds))
                    return index
                }
            }
            await manual.waitForSleepers(3)
            manual.advance(by: .milliseconds(999))
            #expect(manual.sleeping == 3, "a sleeper woke before its deadline")
            // Each jump wakes exactly the sleeper due then: the 1 s one, the 2 s one, the 3 s one.
            for (expected, index) in [(Duration.milliseconds(1), 1), (.seconds(1), 2), (.seconds(1), 0)] {
                #expect(await manual.advanceToNextWakeUp() == expected)
                let woke = try await group.next()
                #expect(woke == index)
            }
        }
        #expect(manual.now() == 4_000_000)

        let sleeper = Task { try await manual.clock.sleep(.seconds(60)) }
        await manual.waitForSleepers(1)
        sleeper.cancel()
        await #expect(throws: CancellationError.self) { try await sleeper.value }
        #expect(manual.sleeping == 0 && manual.now() == 4_000_000)
        try await manual.clock.sleep(.zero)  // no wait at all
    }
}

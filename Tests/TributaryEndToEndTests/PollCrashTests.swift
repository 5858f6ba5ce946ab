import Foundation
import Logging
import ProviderSimulator
import Testing
import TributaryCore
import TributaryIntegrationTesting
import TributaryStore
import TributaryTesting

/// `kill -9` in the middle of a backfill, then a restart: it resumes from the last committed page.
@Suite("Polling crash recovery", .serialized)
struct PollCrashTests {
    @Test("SIGKILL during a backfill, then a restart, resumes from the last committed page and misses nothing")
    func backfillResumesAfterSIGKILL() async throws {
        var configuration = SimulatorConfiguration()
        configuration.port = 0
        configuration.seed = 9
        configuration.types = ["customer"]
        configuration.initialRecordsPerType = 3000
        configuration.granularity = .seconds
        configuration.chaos.latencyMilliseconds = 20...20
        let simulator = try ProviderSimulator(configuration: configuration, logger: SimulatorRig.logger)
        let token = configuration.tokens[0]
        let directory = try TestPaths.temporaryDirectory("poll-crash")
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = directory.appendingPathComponent("poll.db").path
        let totalPages = 3000 / 100 // pages of 100; the last full page already says has_more: false

        let outcome = try await SimulatorRig.withSimulator(simulator) { port in
            _ = try await SimulatorRig.store(directory, port: port, token: token)
            let killAfter = 8
            let first = try Self.startPoll(database: database)
            await simulator.waitForRequests(atLeast: killAfter)
            kill(first.processIdentifier, SIGKILL)
            first.waitUntilExit()
            let committed = try await Self.committedPages(database)
            let second = try Self.startPoll(database: database, json: true)
            let output = second.standardOutput as! Pipe
            let data = output.fileHandleForReading.readDataToEndOfFile()
            second.waitUntilExit()
            let store = try Store(path: database, masterKey: TestSecrets.masterKey, logger: SimulatorRig.logger)
            return (committed, second.terminationStatus, JSONValue(parsing: Array(data)), try await SimulatorRig.missing(simulator, store: store))
        }
        let (committed, status, report, missing) = outcome
        let resumedPages = report.flatMap { value -> Int64? in
            guard case .array(let items) = value else { return nil }
            return items.first?["pages"]?.int64Value
        }
        print("poll crash: killed after \(committed) committed pages; the restart read \(resumedPages ?? -1) pages of \(totalPages); missing \(missing.count)")
        #expect(committed > 0, "the kill came before any page was committed: the test proved nothing")
        #expect(status == 0)
        #expect(resumedPages != nil && resumedPages! < Int64(totalPages), "the restart began again from the first page")
        #expect(resumedPages.map { Int64(committed) + $0 >= Int64(totalPages) } == true, "pages were skipped")
        #expect(missing.count == 0, "records missing after the restart, e.g. \(missing.prefix(10))")
    }

    static func startPoll(database: String, json: Bool = false) throws -> Process {
        let process = TestPaths.tributaryProcess(["poll", "--once", "--allow-private-upstreams", "--connection", "sim1", "--resource", "customers", "--db", database, "--providers", TestPaths.providers] + (json ? ["--json"] : []), masterKey: TestSecrets.masterKey)
        process.standardOutput = Pipe()
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    static func committedPages(_ database: String) async throws -> Int {
        let store = try Store(path: database, masterKey: TestSecrets.masterKey, logger: SimulatorRig.logger)
        return try await store.pollState(connection: "sim1", resource: "customers").pages
    }
}

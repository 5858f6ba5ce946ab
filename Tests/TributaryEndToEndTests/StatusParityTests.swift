import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
import TributaryCore
import TributaryIntegrationTesting
import TributaryRuntime
import TributaryStore
import TributaryTesting

/// What `tributary status --json` prints and what `GET /v1/status` answers are one shape.
@Suite("Status parity")
struct StatusParityTests {
    @Test("/v1/status holds what tributary status --json prints")
    func status() async throws {
        let directory = try TestPaths.temporaryDirectory("status-parity")
        defer { try? FileManager.default.removeItem(at: directory) }
        let engine = try Engine(configuration: TestEngine.configuration(directory: directory))
        for id in ["gh1", "gh2"] {
            _ = try await engine.store.addConnection(id: id, provider: "github", tenant: "acme", account: nil, toleranceSeconds: nil, webhookSecrets: ["s"], now: 0)
        }
        for (n, connection) in ["gh1", "gh1", "gh2"].enumerated() {
            _ = try await engine.store.append(EventDraft(
                connection: connection, tenant: "acme", provider: "github", source: .webhook, eventId: "e\(n)", type: "issue.updated",
                record: RecordRef(recordType: "issue", recordId: "\(n)", version: 1, deleted: false, fullState: true),
                occurredAt: nil, receivedAt: 1_000_000, headers: [], body: Array(#"{"id":"\#(n)"}"#.utf8), url: nil
            ))
        }
        _ = try await engine.store.applyPendingEvents(now: 1_000_000) { _, _, body in body }
        try await TestEngine.live(engine) { client in
            let answer = try await client.send("/v1/status", method: .get, headers: ["Authorization": "Bearer \(TestEngine.adminToken)"], body: "")
            #expect(answer.status == .ok, "\(answer.bodyText)")
            let body = try #require(answer.json)
            let printed = try Self.cli(["status", "--json", "--db", engine.store.path])
            #expect(body["items"] == JSONValue(parsing: Array(printed.utf8)), "tributary status --json printed \(printed)")
            guard case .array(let items)? = body["items"] else { Issue.record("no items: \(body.jsonText)"); return }
            #expect(items.map { $0["connection"]?.stringValue } == ["gh1", "gh2"])
            #expect(items.first?["events"]?["applied"]?.int64Value == 2)
        }
    }

    /// Runs the built `tributary` with `arguments`; returns its stdout.
    static func cli(_ arguments: [String]) throws -> String {
        let process = TestPaths.tributaryProcess(arguments, masterKey: TestSecrets.masterKey)
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}

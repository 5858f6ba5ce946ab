import Foundation
import Testing
import TributaryCore
import TributaryIntegrationTesting
import TributaryProviders
import TributaryStore
import TributaryTesting
import TributaryUpstream

/// Honesty about progress: each resource says when it last saw a change, and a poll that keeps
/// reading full pages of nothing new without its cursor moving says so.
@Suite("Poll freshness")
struct PollFreshnessTests {
    static let manifest = """
        id: feed
        name: Feed
        docs: https://example.test/docs
        api:
          baseURL: https://api.example.test
          auth: {style: bearer}
        poll:
          resources:
            - name: items
              recordType: item
              path: /items
              pageSize: {param: limit, value: 2}
              items: /items
              id: /id
              updatedAt: {pointer: /t, format: rfc3339}
              cursor: {kind: timestamp, since: {param: since}, lookback: 2}
              next: {hasMore: /more}
        """

    static func page(_ items: [(String, String, String)], more: Bool = false) -> UpstreamResponse {
        let body = #"{"items":[\#(items.map { #"{"id":"\#($0.0)","t":"\#($0.1)","v":"\#($0.2)"}"# }.joined(separator: ","))],"more":\#(more)}"#
        return UpstreamResponse(status: 200, headers: [("Content-Type", "application/json")], body: Array(body.utf8))
    }

    @Test("three runs in a row that re-read a full page of nothing new raise cursorStalled; a run with a change resets it")
    func stalledCursor() async throws {
        let directory = try TestPaths.temporaryDirectory("freshness")
        defer { try? FileManager.default.removeItem(at: directory) }
        try Self.manifest.write(to: directory.appendingPathComponent("feed.yaml"), atomically: true, encoding: .utf8)
        let t = "2024-11-20T11:00:00Z"
        let list = "https://api.example.test/items?limit=2"
        try await RealAPIManifestTests.withHarness(provider: "feed", account: nil, token: "tok", providers: directory.path) { h in
            h.transport.expect(.init(list), respond: Self.page([("a", t, "1"), ("b", t, "1")]))
            let first = try await h.run()
            #expect(first.newEvents == 2)
            var state = try await h.store.pollState(connection: h.connection.id, resource: "items")
            #expect(state.stalledRuns == 0 && state.lastChangeAt == RealAPIManifestTests.start)
            #expect(state.newestChangeAt == Timestamp.microseconds(rfc3339: t), "a timestamp cursor's newest change is its watermark")

            // The two-second lookback holds a full page: each run reads it again and finds nothing new.
            for run in 1...3 {
                h.clock.advance(by: .seconds(60))
                h.transport.expect(.init(list, query: [("since", "2024-11-20T10:59:58Z")]), respond: Self.page([("a", t, "1"), ("b", t, "1")]))
                let report = try await h.run()
                #expect(report.newEvents == 0 && report.observations == 2)
                #expect(report.anomalies.contains(.cursorStalled(runs: run)) == (run == 3), "run \(run): \(report.anomalies)")
            }
            state = try await h.store.pollState(connection: h.connection.id, resource: "items")
            #expect(state.stalledRuns == 3 && state.lastAnomaly == "cursorStalled(runs: 3)")
            #expect(state.lastChangeAt == RealAPIManifestTests.start, "nothing new since the first run")
            let status = try #require(try await h.store.status(connection: h.connection.id).first)
            guard case .array(let resources)? = status.json["resources"], let resource = resources.first else {
                Issue.record("no resources in \(status.json)")
                return
            }
            #expect(resource["stalled_runs"] == .number("3"))
            #expect(resource["last_change_at"] == .string(Timestamp.rfc3339(microseconds: RealAPIManifestTests.start)))
            #expect(resource["newest_change_at"] == .string(t))

            // A change: the cursor moves, the count starts again, freshness follows.
            h.clock.advance(by: .seconds(60))
            let later = "2024-11-20T11:05:00Z"
            h.transport.expect(.init(list, query: [("since", "2024-11-20T10:59:58Z")]), respond: Self.page([("a", t, "1"), ("b", later, "2")]))
            let moved = try await h.run()
            #expect(moved.newEvents == 1 && !moved.anomalies.contains { if case .cursorStalled = $0 { true } else { false } })
            state = try await h.store.pollState(connection: h.connection.id, resource: "items")
            #expect(state.stalledRuns == 0 && state.lastChangeAt == RealAPIManifestTests.start + 240_000_000)
            #expect(state.newestChangeAt == Timestamp.microseconds(rfc3339: later))
        }
    }
}

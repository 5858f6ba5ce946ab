import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import Testing
import TributaryAPI
import TributaryCore
import TributaryIntegrationTesting
import TributaryRuntime
import TributaryStore
import TributaryTesting
import Yams

/// The `/v1` API against a live engine (127.0.0.1, port 0, temp SQLite file) and against `Schemas/openapi.yaml`.

// The API, continued: the change feed and malformed parameters.
extension APITests {
    // MARK: changes

    @Test("/v1/changes after a cursor returns exactly the records written since, in commit order")
    func changesFollow() async throws {
        try await Self.withAPI { engine, client in
            let first = try Self.object(try await Self.get(client, "/v1/changes"), "/v1/changes")
            #expect(Self.items(first).map(Self.key) == Self.defaultSeed.map { "\($0.connection)/\($0.type)/\($0.id)" })
            let numbers = Self.items(first).compactMap { $0["change"]?.int64Value }
            #expect(numbers == numbers.sorted() && Set(numbers).count == numbers.count, "change numbers \(numbers) do not increase")
            let cursor = try #require(first["next_cursor"]?.stringValue)
            #expect(Int64(cursor) == numbers.last)

            // Nothing new: the same cursor comes back, so a follower can poll with it forever.
            let idle = try Self.object(try await Self.get(client, "/v1/changes?after=\(cursor)"), "idle")
            #expect(Self.items(idle).isEmpty)
            #expect(idle["next_cursor"]?.stringValue == cursor)

            let writes: [(connection: String, type: String, id: String)] = [
                ("gh1", "pull", "1"), ("gh1", "issue", "9"), ("gh1", "issue", "1"),
            ]
            try await Self.write(writes, version: 2, to: engine.store)
            // Followed two at a time: pages chain through next_cursor.
            let page1 = try Self.object(try await Self.get(client, "/v1/changes?after=\(cursor)&limit=2"), "page 1")
            let cursor1 = try #require(page1["next_cursor"]?.stringValue)
            let page2 = try Self.object(try await Self.get(client, "/v1/changes?after=\(cursor1)&limit=2"), "page 2")
            let changed = Self.items(page1) + Self.items(page2)
            #expect(changed.map(Self.key) == writes.map { "\($0.connection)/\($0.type)/\($0.id)" })
            #expect(changed.allSatisfy { $0["version"]?.int64Value == 2 })
            let changeNumbers = changed.compactMap { $0["change"]?.int64Value }
            #expect(changeNumbers.allSatisfy { $0 > Int64(cursor)! } && changeNumbers == changeNumbers.sorted())
            let cursor2 = try #require(page2["next_cursor"]?.stringValue)
            #expect(Int64(cursor2) == changeNumbers.last)
            let caughtUp = try Self.object(try await Self.get(client, "/v1/changes?after=\(cursor2)"), "caught up")
            #expect(Self.items(caughtUp).isEmpty)
            #expect(caughtUp["next_cursor"]?.stringValue == cursor2)
        }
    }

    // MARK: bad input

    @Test("a malformed parameter is a 400 whose one-sentence error names it", arguments: [
        ("/v1/records?cursor=!!!", "cursor"),
        ("/v1/records?cursor=YWJj", "cursor"), // base64url of "abc": decodes, but is no cursor this API made
        ("/v1/records?cursor=WyJhIiwiYiJd", "cursor"), // ["a","b"]: a JSON array of the wrong length
        ("/v1/records?limit=0", "limit"),
        ("/v1/records?limit=1001", "limit"),
        ("/v1/records?limit=ten", "limit"),
        ("/v1/records?updated_after=yesterday", "updated_after"),
        ("/v1/events?cursor=abc", "cursor"),
        ("/v1/events?cursor=-1", "cursor"),
        ("/v1/events?status=lost", "status"),
        ("/v1/events?limit=-5", "limit"),
        ("/v1/changes?after=xyz", "after"),
        ("/v1/changes?limit=100000", "limit"),
        ("/v1/deliveries?status=lost", "status"),
        ("/v1/deliveries?cursor=-3", "cursor"),
        ("/v1/deliveries?limit=0", "limit"),
    ])
    func badInput(_ path: String, _ parameter: String) async throws {
        try await Self.withAPI { _, client in
            let response = try await Self.get(client, path)
            #expect(response.status == .badRequest, "GET \(path) answered \(response.status)")
            let message = try #require(response.json?["error"]?.stringValue, "GET \(path): no JSON error in \(response.bodyText)")
            #expect(message.hasPrefix(parameter), "GET \(path): the error does not start with \(parameter): \(message)")
            #expect(message.hasSuffix(".") && !message.contains("\n"), "GET \(path): not one sentence: \(message)")
        }
    }
}

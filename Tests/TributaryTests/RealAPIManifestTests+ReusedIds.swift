import Foundation
import Testing
import TributaryCore
import TributaryIntegrationTesting
import TributaryStore
import TributaryTesting
import TributaryUpstream

// An id reused after a deletion, as Redmine on MySQL before 8.0 hands it out again after a restart:
// the new issue is a new record in the mirror (its incarnation, the creation time, says so), not an
// update of the deleted one.
extension RealAPIManifestTests {
    static func redmineIssues(_ issues: [(id: Int, created: String, updated: String, subject: String)]) -> UpstreamResponse {
        let items = issues.map {
            #"{"id":\#($0.id),"project":{"id":1,"name":"Ops"},"subject":"\#($0.subject)","created_on":"\#($0.created)","updated_on":"\#($0.updated)"}"#
        }
        let body = #"{"issues":[\#(items.joined(separator: ","))],"total_count":\#(issues.count),"offset":0,"limit":100}"#
        return UpstreamResponse(status: 200, headers: [("Content-Type", "application/json")], body: Array(body.utf8))
    }

    @Test("Redmine: issue 42 deleted and another created under id 42 replaces it as a new record, told apart by created_on")
    func redmineReusedId() async throws {
        let token = "4f3b2a1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a"
        let list = "https://redmine.example.com/issues.json?sort=updated_on,id&status_id=*&limit=100"
        let (old, new) = ("2024-11-18T08:00:00Z", "2024-11-20T11:58:00Z")
        try await Self.withHarness(provider: "redmine", account: nil, token: token) { h in
            let apply = { try await h.store.applyPendingEvents(now: Self.start) { _, _, body in body } }
            h.transport.expect(.init(list, query: [("offset", "0")]), respond: Self.redmineIssues([
                (41, old, "2024-11-19T10:00:00Z", "Printer on fire"), (42, old, "2024-11-19T11:00:00Z", "Disk full"),
            ]))
            #expect(try await h.run().newEvents == 2)
            #expect(try await apply().applied == 2)
            var record = try #require(try await h.store.record(connection: h.connection.id, type: "issue", id: "42"))
            #expect(record.incarnation == Self.t(old))

            // Issue 42 was deleted, the server restarted, and the next issue created got id 42 again.
            h.clock.advance(by: .seconds(300))
            h.transport.expect(
                .init(list, query: [("updated_on", ">=2024-11-19T10:59:58Z"), ("offset", "0")]),
                respond: Self.redmineIssues([(42, new, "2024-11-20T11:58:00Z", "VPN down")])
            )
            let second = try await h.run()
            #expect(second.newEvents == 1)
            let reborn = try #require(try await h.events().last)
            #expect(reborn.eventId.hasPrefix("poll:issue:42:i\(Self.t(new))."), "the incarnation keeps the new record's ids apart: \(reborn.eventId)")
            #expect(try await apply().applied == 1)
            record = try #require(try await h.store.record(connection: h.connection.id, type: "issue", id: "42"))
            #expect(record.incarnation == Self.t(new) && !record.deleted)
            #expect(String(decoding: record.data ?? [], as: UTF8.self).contains(#""subject":"VPN down""#))
            #expect(record.json["incarnation"] == .number(String(Self.t(new))), "the API shows which record the id now names")
            let tombstone = try #require(try await h.events().first { $0.eventId == "poll:issue:42:i\(Self.t(old)).gone" })
            #expect(tombstone.type == "issue.deleted" && tombstone.deleted && tombstone.status == .applied, "the deleted issue 42 is in the history")
            // Issue 41 is untouched.
            #expect(try await h.store.record(connection: h.connection.id, type: "issue", id: "41")?.incarnation == Self.t(old))
        }
    }
}

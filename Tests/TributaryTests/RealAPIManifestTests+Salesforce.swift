import Foundation
import Testing
import TributaryCore
import TributaryIntegrationTesting
import TributaryTesting

// Salesforce: SOQL through queryAll (deleted records included), a templated `q`, ISO 8601 basic
// offsets in SystemModstamp, and nextRecordsUrl, a path under the instance, as the next page.
extension RealAPIManifestTests {
    @Test("Salesforce accounts: queryAll with a templated SOQL since, nextRecordsUrl as a path, IsDeleted as the tombstone, +0000 times")
    func salesforce() async throws {
        let token = "00D000000000001!AQ0AQH0dMHZfz972Szmpkb58urFRkgeBGsxL"
        let auth: [(name: String, value: String)] = [("Authorization", "Bearer \(token)")]
        let base = "https://acme.my.salesforce.com"
        let soql = { (since: String) in "SELECT Id, Name, IsDeleted, SystemModstamp FROM Account WHERE SystemModstamp >= \(since) ORDER BY SystemModstamp, Id" }
        try await Self.withHarness(provider: "salesforce", account: nil, token: token, baseURL: base) { h in
            // Backfill: `initial` stands in for since; the next page is the path Salesforce gives, under the instance.
            h.transport.expect(.init("\(base)/services/data/v62.0/queryAll", query: [("q", soql("1970-01-01T00:00:00Z"))], headers: auth), respond: try Self.response("salesforce/accounts-page-1"))
            h.transport.expect(.init("\(base)/services/data/v62.0/query/01gD0000002HU6KIAW-2", headers: auth), respond: try Self.response("salesforce/accounts-page-2"))
            let first = try await h.run()
            #expect(first.pages == 2 && first.newEvents == 3)
            let events = try await h.events()
            #expect(events.map(\.recordId) == ["001000000000001AAA", "001000000000002AAA", "001000000000003AAA"])
            #expect(events.map(\.deleted) == [false, false, true], "IsDeleted: true is a tombstone")
            #expect(events.map(\.version) == ["2024-11-20T09:00:00Z", "2024-11-20T10:15:30Z", "2024-11-20T11:40:00Z"].map(Self.t), "+0000 read as UTC")
            #expect(try await h.cursor("accounts") == PollCursor(watermark: Self.t("2024-11-20T11:40:00Z")))

            // Incremental: the watermark less the 1 s lookback, written as a SOQL dateTime literal.
            h.clock.advance(by: .seconds(300))
            h.transport.expect(.init("\(base)/services/data/v62.0/queryAll", query: [("q", soql("2024-11-20T11:39:59Z"))], headers: auth), respond: try Self.response("salesforce/accounts-since"))
            let second = try await h.run()
            #expect(second.pages == 1 && second.observations == 2 && second.newEvents == 1, "the deleted account again is a duplicate")
            #expect(try await h.events().last?.recordId == "001000000000002AAA")
            #expect(try await h.cursor("accounts") == PollCursor(watermark: Self.t("2024-11-20T12:03:00Z")))
        }
    }
}

import Foundation
import HTTPTypes
import Testing
import TributaryCore
import TributaryRuntime
import TributaryStore
import TributaryIntegrationTesting
import TributaryTesting

/// A batched delivery (Asana's `{"events":[…]}`, HubSpot's array, Graph's `value[]`) is one event per
/// element, each stored and deduplicated on its own, all durable before the 2xx.
@Suite("Batched deliveries")
struct BatchIntakeTests {
    static let secret = "asana-hook-secret"

    static func event(_ gid: String, _ at: String) -> String {
        #"{"user":{"gid":"7","resource_type":"user"},"created_at":"\#(at)","action":"changed","resource":{"gid":"\#(gid)","resource_type":"task"},"parent":null}"#
    }

    static func headers(_ body: String) -> [String: String] {
        ["X-Hook-Signature": Signer.hex(Signer.hmacSHA256(key: Array(secret.utf8), data: Array(body.utf8))), "Content-Type": "application/json"]
    }

    @Test("elements are stored one by one, a repeated element is a duplicate, a heartbeat stores nothing, a body with no array is quarantined whole")
    func asanaBatches() async throws {
        let directory = try TestPaths.temporaryDirectory("batch")
        defer { try? FileManager.default.removeItem(at: directory) }
        let engine = try Engine(configuration: TestEngine.configuration(directory: directory))
        _ = try await engine.store.addConnection(id: "as1", provider: "asana", tenant: "acme", account: nil, toleranceSeconds: nil, webhookSecrets: [Self.secret], now: 0)
        let (e1, e2, e3) = (Self.event("1", "2026-11-20T10:00:00.000Z"), Self.event("2", "2026-11-20T10:00:01.000Z"), Self.event("3", "2026-11-20T10:00:02.000Z"))
        try await TestEngine.live(engine) { client in
            func send(_ body: String) async throws -> SentResponse {
                try await client.send("/webhooks/asana/as1", headers: Self.headers(body), body: body)
            }
            let first = try await send(#"{"events":[\#(e1),\#(e2)]}"#)
            #expect(first.status == .ok)
            guard case .array(let answered)? = first.json?["events"] else {
                Issue.record("no events in \(first.bodyText)")
                return
            }
            #expect(answered.count == 2 && answered.allSatisfy { $0["duplicate"] == .bool(false) })
            #expect(first.json?["duplicate"] == .bool(false) && first.json?["seq"] == answered[0]["seq"])

            // The provider's next delivery repeats an element: only the new one is stored.
            let second = try await send(#"{"events":[\#(e2),\#(e3)]}"#)
            #expect(second.status == .ok && second.json?["duplicate"] == .bool(false))
            guard case .array(let again)? = second.json?["events"] else {
                Issue.record("no events in \(second.bodyText)")
                return
            }
            #expect(again.map { $0["duplicate"] } == [.bool(true), .bool(false)])
            #expect(again[0]["seq"] == answered[1]["seq"], "the repeated element answers with the first one's seq")

            // A retry of a delivery whose elements are all stored is a duplicate as a whole.
            #expect(try await send(#"{"events":[\#(e3)]}"#).json?["duplicate"] == .bool(true))
            // A heartbeat: nothing to store, answered 2xx.
            let heartbeat = try await send(#"{"events":[]}"#)
            #expect(heartbeat.status == .ok && heartbeat.json?["events"] == .array([]))
            // Verified, but no array where the manifest says: kept whole, quarantined, 2xx.
            let odd = try await send(#"{"events":{"not":"a list"}}"#)
            #expect(odd.status == .ok && odd.json?["quarantined"] == .bool(true))
            // Forged: 401, nothing stored.
            var forged = Self.headers(#"{"events":[]}"#)
            forged["Content-Type"] = "application/json"
            #expect(try await client.send("/webhooks/asana/as1", headers: forged, body: #"{"events":[\#(e1)]}"#).status == .unauthorized)
        }
        let stored = try await engine.store.events(EventFilter(connection: "as1"))
        #expect(stored.count == 4, "three elements and the quarantined body: \(stored.map(\.eventId))")
        let elements = stored.filter { $0.status != .quarantined }
        #expect(elements.map { String(decoding: $0.body, as: UTF8.self) } == [e1, e2, e3])
        #expect(elements.allSatisfy { $0.type == "changed" && $0.occurredAt != nil && $0.eventId.hasPrefix("sha256:") })
        #expect(stored.filter { $0.status == .quarantined }.count == 1)
    }
}

import Foundation
import Testing
import TributaryCore
import TributaryProviders
import TributaryTesting

/// The verifier and extractor as pure values, with the clock passed in.
@Suite("Verifier and extractor")
struct VerifierTests {
    static let catalog = try! ManifestCatalog.load(directory: TestPaths.providers)

    static func request(_ vector: Vector, headers: [String: String]? = nil, body: String? = nil) -> WebhookRequest {
        WebhookRequest(
            method: vector.method, url: vector.url,
            headers: (headers ?? vector.headers).map { ($0.key, $0.value) },
            body: Array((body ?? vector.body).utf8)
        )
    }

    @Test("Stripe: several v1 signatures in one header (a rolled secret) are each tried; v0 is ignored")
    func stripeSeveralSignatures() throws {
        let vector = try Vector.load("stripe")
        let verifier = try #require(Self.catalog.providers["stripe"]?.verifier)
        let newSig = try #require(vector.headers["Stripe-Signature"]?.split(separator: ",").last)
        let oldSig = try #require(vector.rotated.headers["Stripe-Signature"]?.split(separator: ",").last)
        let combined = "t=\(vector.timestamp),\(oldSig),\(newSig),v0=deadbeef"
        var headers = vector.headers
        headers["Stripe-Signature"] = combined
        let result = verifier.verify(Self.request(vector, headers: headers), secrets: [vector.secret], now: vector.timestamp)
        #expect(result == .success(Verified(secretIndex: 0)))
        headers["Stripe-Signature"] = "t=\(vector.timestamp),v0=\(newSig.dropFirst(3))"
        #expect(verifier.verify(Self.request(vector, headers: headers), secrets: [vector.secret], now: vector.timestamp) == .failure(.missingSignature), "a v0-only header carries no v1 signature")
    }

    @Test("Standard Webhooks: a space-separated list with junk entries still verifies; svix-* headers are accepted")
    func standardWebhooksList() throws {
        let vector = try Vector.load("standard-webhooks")
        let verifier = try #require(Self.catalog.providers["standard-webhooks"]?.verifier)
        let valid = try #require(vector.headers["webhook-signature"])
        var headers = vector.headers
        headers["webhook-signature"] = "garbage v1,short== v2,abc " + valid
        #expect(verifier.verify(Self.request(vector, headers: headers), secrets: [vector.secret], now: vector.timestamp) == .success(Verified(secretIndex: 0)))

        let svix = Dictionary(uniqueKeysWithValues: vector.headers.map { ($0.key.replacingOccurrences(of: "webhook-", with: "svix-"), $0.value) })
        #expect(svix["svix-signature"] != nil)
        #expect(verifier.verify(Self.request(vector, headers: svix), secrets: [vector.secret], now: vector.timestamp) == .success(Verified(secretIndex: 0)))
    }

    @Test("the replay window is symmetric and a connection may override it")
    func tolerance() throws {
        let vector = try Vector.load("slack")
        let verifier = try #require(Self.catalog.providers["slack"]?.verifier)
        let request = Self.request(vector)
        #expect(verifier.verify(request, secrets: [vector.secret], now: vector.timestamp + 300) == .success(Verified(secretIndex: 0)))
        #expect(verifier.verify(request, secrets: [vector.secret], now: vector.timestamp + 301) == .failure(.staleTimestamp(skewSeconds: 301)))
        #expect(verifier.verify(request, secrets: [vector.secret], now: vector.timestamp - 301) == .failure(.staleTimestamp(skewSeconds: -301)))
        #expect(verifier.verify(request, secrets: [vector.secret], now: vector.timestamp + 900, tolerance: 1000) == .success(Verified(secretIndex: 0)))
        var headers = vector.headers
        headers["X-Slack-Request-Timestamp"] = "soon"
        #expect(verifier.verify(Self.request(vector, headers: headers), secrets: [vector.secret], now: vector.timestamp) == .failure(.malformedTimestamp))
    }

    @Test("the second of several secrets is found and reported")
    func secondSecret() throws {
        let vector = try Vector.load("github")
        let verifier = try #require(Self.catalog.providers["github"]?.verifier)
        #expect(verifier.verify(Self.request(vector), secrets: ["other", vector.secret], now: 0) == .success(Verified(secretIndex: 1)))
        #expect(verifier.verify(Self.request(vector), secrets: [], now: 0) == .failure(.noSecrets))
    }

    @Test("GitHub issues with action deleted map to a tombstone; edited does not")
    func deletedWhen() throws {
        let extractor = try #require(Self.catalog.providers["github"]?.extractor)
        func extract(_ action: String) throws -> ExtractedEvent {
            let body = #"{"action":"\#(action)","issue":{"id":1234567890123,"updated_at":"2026-11-20T10:00:00Z"}}"#
            let request = WebhookRequest(method: "POST", url: "http://x/", headers: [("X-GitHub-Event", "issues"), ("X-GitHub-Delivery", "d")], body: Array(body.utf8))
            return try extractor.extract(request).get()
        }
        let deleted = try extract("deleted")
        #expect(deleted.record?.deleted == true)
        #expect(deleted.record?.recordId == "1234567890123")
        #expect(deleted.record?.version == 1_795_168_800_000_000)
        #expect(try extract("edited").record?.deleted == false)
    }

    @Test("form bodies are read by field (Twilio)")
    func formFields() throws {
        let vector = try Vector.load("twilio")
        let extractor = try #require(Self.catalog.providers["twilio"]?.extractor)
        let event = try extractor.extract(Self.request(vector)).get()
        #expect(event.eventId.hasPrefix("sha256:"))
        let document = try #require(EventExtractor.document(Self.request(vector)))
        #expect(document["SidAccount"]?.stringValue == "AC123")
        #expect(document["Digits"]?.stringValue == "5678", "a repeated field reads its first value")
    }
}

import Testing
import TributaryCore
import TributaryIntegrationTesting
import TributaryStore

/// Webhook freshness, against every store this run can start (see ``EventLogConformanceTests``).
@Suite("Store conformance: webhook freshness")
struct FreshnessConformanceTests {
    @Test("the watch's freshness is saved per connection, replaced whole, read back as saved, and skipped for a connection that is gone", arguments: StoreKind.available)
    func freshness(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            for id in ["c1", "c2"] {
                _ = try await store.addConnection(id: id, provider: "github", tenant: "acme", account: nil, app: nil, toleranceSeconds: nil, webhookSecrets: [], now: 0)
            }
            #expect(try await store.webhookFreshness().isEmpty)
            let quiet = WebhookFreshness(lastReceivedAt: 1_000, received: 42, recordTypes: ["issue", "pull_request"], silence: .init(changeAt: 1_500, detectedAt: 2_000))
            try await store.saveWebhookFreshness(connection: "c1", quiet)
            try await store.saveWebhookFreshness(connection: "c2", WebhookFreshness(lastReceivedAt: 5, received: 1, recordTypes: []))
            try await store.saveWebhookFreshness(connection: "gone", WebhookFreshness(lastReceivedAt: 5, received: 1, recordTypes: []))
            var saved = try await store.webhookFreshness()
            #expect(saved == ["c1": quiet, "c2": WebhookFreshness(lastReceivedAt: 5, received: 1, recordTypes: [])])

            let heard = WebhookFreshness(lastReceivedAt: 3_000, received: 43, recordTypes: ["issue"])
            try await store.saveWebhookFreshness(connection: "c1", heard)
            saved = try await store.webhookFreshness()
            #expect(saved["c1"] == heard, "a save replaces the silence too")
        }
    }
}

import Foundation
import Logging
import Testing
import TributaryCore
import TributaryStore
import TributaryTesting

/// Hostile input an operator can give the CLI: manifests with values out of range, secrets on argv,
/// database files left readable, a connection removed under its events.
@Suite("Hostile input through the CLI", .serialized)
struct HostileCLITests {
    /// A Microsoft Graph `clientState`: a secret that `events show` must never print.
    static let graphState = "graph-client-state-secret"

    @Test("a manifest integer out of range is a path-precise validation error, exit 2, not a trap")
    func manifestBounds() throws {
        try Self.expectInvalid("github", [
            ("lookback: 1", "lookback: 9223372036854775807", "/poll/resources/0/cursor/lookback"),
            ("lookback: 1", "lookback: 99999999999999999999999", "/poll/resources/0/cursor/lookback"),
            ("interval: 300", "interval: 0", "/poll/resources/0/interval"),
            ("interval: 300", "interval: 99999999999", "/poll/resources/0/interval"),
        ])
    }

    @Test("api.fetch is compiled at load: a pointer that is not a JSON Pointer is a path-precise validation error, exit 2")
    func fetchPointers() throws {
        try Self.expectInvalid("hubspot", [
            ("    state: \"\"\n    version: {pointer: /updatedAt", "    state: \"updatedAt\"\n    version: {pointer: /updatedAt", "/api/fetch/state"),
            ("    version: {pointer: /updatedAt, format: rfc3339}\n    gone", "    version: {pointer: updatedAt, format: rfc3339}\n    gone", "/api/fetch/version/pointer"),
        ])
    }

    @Test("api.auth's OAuth endpoints are checked at load: a missing or plain-http URL, a misplaced {account}, a style without its oauth block, a bad account pointer, an oauth.style where none may be")
    func oauthManifests() throws {
        let needle = "  auth: {style: bearer}"
        func oauth(_ style: String, _ lines: String) -> String { "  auth:\n    style: \(style)\n    oauth:\n" + lines }
        try Self.expectInvalid("simulator", [
            (needle, "  auth: {style: oauth2}", "/api/auth/oauth"),
            (needle, oauth("oauth2", "      tokenURL: /oauth/token"), "/api/auth/oauth/authorizeURL"),
            (needle, oauth("oauth2", "      authorizeURL: /a\n      tokenURL: http://evil.example/token"), "/api/auth/oauth/tokenURL"),
            (needle, oauth("oauth2", "      authorizeURL: https://x.example/{account}\n      tokenURL: /t"), "/api/auth/oauth/authorizeURL"),
            (needle, oauth("bearer", "      tokenURL: /t"), "/api/auth/oauth/authorizeURL"),
            (needle, oauth("bearer", "      style: github-app\n      tokenURL: /t"), "/api/auth/oauth/style"),
            (needle, oauth("oauth2", "      style: oauth2\n      authorizeURL: /a\n      tokenURL: /t"), "/api/auth/oauth/style"),
            (needle, oauth("none", "      style: oauth2-client-credentials\n      tokenURL: /t"), "/api/auth/oauth"),
            (needle, oauth("github-app", "      tokenURL: https://api.github.com/app/installations/access_tokens"), "/api/auth/oauth/tokenURL"),
            (needle, oauth("oauth2", "      authorizeURL: /a\n      tokenURL: /t\n      account: hub_id"), "/api/auth/oauth/account"),
            (needle, oauth("oauth2", "      authorizeURL: /a\n      tokenURL: /t\n      clientAuth: digest"), "/api/auth/oauth/clientAuth"),
            (needle, oauth("oauth2", "      authorizeURL: /a\n      tokenURL: /t\n      refreshSkew: -5"), "/api/auth/oauth/refreshSkew"),
        ])
    }

    @Test("subscriptions sections are checked at load: a path not under the API, an unknown or premature placeholder, a secret source without its call or pointer, {secret} not ours to send, an unknown body encoding")
    func subscriptionManifests() throws {
        try Self.expectInvalid("zendesk", [
            ("    path: /api/v2/webhooks\n", "    path: api/v2/webhooks\n", "/subscriptions/create/path"),
            ("    source: fetch\n", "    source: response\n", "/subscriptions/secret/call"),
            ("    call: {method: GET, path: \"/api/v2/webhooks/{subscription_id}/signing_secret\"}\n", "", "/subscriptions/secret/call"),
            ("{subscription_id}/signing_secret", "{webhook}/signing_secret", "/subscriptions/secret/call/path"),
            ("    pointer: /signing_secret/secret", "    pointer: signing_secret", "/subscriptions/secret/pointer"),
            ("    call: {method: GET,", "    call: {method: PUT,", "/subscriptions/secret/call/method"),
        ])
        try Self.expectInvalid("stripe", [
            ("description=Tributary", "description={subscription_id}", "/subscriptions/create"),
            ("description=Tributary", "description={secret}", "/subscriptions/secret/source"),
            ("    encoding: form", "    encoding: xml", "/subscriptions/create/encoding"),
            ("  secret: {source: response, pointer: /secret}", "  secret: {source: response}", "/subscriptions/secret/pointer"),
        ])
    }

    /// For each case, `provider`'s manifest with `needle` replaced must fail `providers validate`
    /// with exit 2 and an error at `path` in that file.
    static func expectInvalid(_ provider: String, _ cases: [(needle: String, replacement: String, path: String)]) throws {
        let directory = try TestPaths.temporaryDirectory("hostile-manifest")
        defer { try? FileManager.default.removeItem(at: directory) }
        let original = try String(contentsOfFile: TestPaths.providers + "/\(provider).yaml", encoding: .utf8)
        for (needle, replacement, path) in cases {
            let broken = original.replacingOccurrences(of: needle, with: replacement)
            try #require(broken != original, "\(provider).yaml has no \(needle)")
            let file = directory.appendingPathComponent("\(provider).yaml").path
            try broken.write(toFile: file, atomically: true, encoding: .utf8)
            let result = try CLITests.run(["providers", "validate", file], in: directory)
            #expect(result.status == 2, "\(replacement): \(result.stderr)")
            #expect(result.stderr.contains("\(file): \(path)"), "\(replacement): \(result.stderr)")
        }
    }

    @Test("secrets: the database files are 0600, secrets come from a file or stdin, events show redacts clientState")
    func secrets() async throws {
        let directory = try TestPaths.temporaryDirectory("hostile-secrets")
        defer { try? FileManager.default.removeItem(at: directory) }
        let legacy = directory.appendingPathComponent("legacy.db").path
        _ = FileManager.default.createFile(atPath: legacy, contents: nil, attributes: [.posixPermissions: 0o644])
        _ = try Store(path: legacy, masterKey: TestSecrets.masterKey, logger: Logger(label: "hostile"))
        #expect(try FileManager.default.attributesOfItem(atPath: legacy)[.posixPermissions] as? Int == 0o600, "an older 0644 database stayed readable")
        let secretFile = directory.appendingPathComponent("secret").path
        try "from-a-file\n".write(toFile: secretFile, atomically: true, encoding: .utf8)
        let add = try CLITests.run(["connections", "add", "--provider", "github", "--tenant", "acme", "--id", "g1", "--webhook-secret", "@" + secretFile], in: directory)
        #expect(add.status == 0, "\(add.stderr)")
        let database = directory.appendingPathComponent("cli.db").path
        for file in [database, database + "-wal", database + "-shm"] where FileManager.default.fileExists(atPath: file) {
            let mode = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(file) is \(String(mode ?? 0, radix: 8))")
        }
        let missing = try CLITests.run(["connections", "add", "--provider", "github", "--tenant", "acme", "--webhook-secret", "@/nonexistent/file"], in: directory)
        #expect(missing.status == 2 && missing.stderr.contains("--webhook-secret @/nonexistent/file"), "\(missing.stderr)")
        let empty = try CLITests.run(["connections", "add", "--provider", "standard-webhooks", "--tenant", "acme", "--webhook-secret", "whsec_"], in: directory)
        #expect(empty.status == 2 && empty.stderr.contains("--webhook-secret"), "\(empty.stderr)")
        let badAccount = try CLITests.run(["connections", "add", "--provider", "shopify", "--tenant", "acme", "--account", "evil.com#"], in: directory)
        #expect(badAccount.status == 2 && badAccount.stderr.contains("--account"), "\(badAccount.stderr)")

        var logger = Logger(label: "hostile")
        logger.logLevel = .critical
        let store = try Store(path: database, masterKey: nil, logger: logger)
        let stored = try #require(try await store.connection(id: "g1"))
        #expect(stored.webhookSecrets == ["from-a-file"])
        _ = try await store.addConnection(id: "m1", provider: "microsoft-graph", tenant: "acme", account: nil, toleranceSeconds: nil, webhookSecrets: [Self.graphState], now: 0)
        let notification = #"{"value":[{"clientState":"\#(Self.graphState)","changeType":"updated","resourceData":{"id":"u1"}}]}"#
        let appended = try await store.append(EventDraft(
            connection: "m1", tenant: "acme", provider: "microsoft-graph", source: .webhook, eventId: "e1", type: "updated",
            record: nil, occurredAt: nil, receivedAt: 0, headers: [], body: Array(notification.utf8), url: nil
        ))
        let show = try CLITests.run(["events", "show", String(appended.seq)], in: directory)
        #expect(show.status == 0, "\(show.stderr)")
        #expect(!show.stdout.contains(Self.graphState), "events show printed the clientState")
        #expect(show.stdout.contains("[redacted]"))
    }

    @Test("connections remove refuses while events remain; --purge removes them all, and the id is reusable cleanly")
    func removePurge() async throws {
        let directory = try TestPaths.temporaryDirectory("hostile-remove")
        defer { try? FileManager.default.removeItem(at: directory) }
        var logger = Logger(label: "hostile")
        logger.logLevel = .critical
        let store = try Store(path: directory.appendingPathComponent("cli.db").path, masterKey: nil, logger: logger)
        _ = try await store.addConnection(id: "c1", provider: "github", tenant: "old", account: nil, toleranceSeconds: nil, webhookSecrets: ["s"], now: 0)
        let draft = EventDraft(connection: "c1", tenant: "old", provider: "github", source: .webhook, eventId: "d-1", type: "issues",
                               record: RecordRef(recordType: "issue", recordId: "1", version: 1, deleted: false, fullState: true),
                               occurredAt: nil, receivedAt: 0, headers: [], body: Array(#"{"id":1}"#.utf8), url: nil)
        #expect(try await store.append(draft).duplicate == false)
        _ = try await store.applyPendingEvents(now: 1) { _, _, body in body }

        let refused = try CLITests.run(["connections", "remove", "c1"], in: directory)
        #expect(refused.status == 2 && refused.stderr.contains("--purge"), "\(refused.stderr)")
        #expect(try await store.connection(id: "c1") != nil)
        let purged = try CLITests.run(["connections", "remove", "c1", "--purge"], in: directory)
        #expect(purged.status == 0, "\(purged.stderr)")
        #expect(purged.stdout.contains("1 event(s) and 1 record(s)"), "\(purged.stdout)")

        // Nothing can be stored under a removed id: intake may have looked the connection up just before the purge.
        await #expect(throws: StoreError.self) { _ = try await store.append(draft) }
        _ = try await store.addConnection(id: "c1", provider: "github", tenant: "new", account: nil, toleranceSeconds: nil, webhookSecrets: ["s"], now: 2)
        var again = draft
        again.tenant = "new"
        #expect(try await store.append(again).duplicate == false, "the old event id still counts as a duplicate")
        #expect(try await store.records(connection: "c1").isEmpty, "the old tenant's record survived")
    }
}

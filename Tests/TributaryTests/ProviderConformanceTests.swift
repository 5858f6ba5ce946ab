import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing
import TributaryCore
import TributaryProviders
import TributaryRuntime
import TributaryStore
import TributaryIntegrationTesting
import TributaryTesting

/// Every provider, against the real server on 127.0.0.1 and a temp SQLite file, with SDK-made vectors.
///
/// Serialized: with 40 providers the parallel cases started some 160 servers at once, and on a
/// 2-core machine shared with builds their requests outlived the 10 s idle timeout.
@Suite("Provider conformance", .serialized)
struct ProviderConformanceTests {
    static let providers = Vector.providers

    @Test("vectors exist for every shipped third-party provider")
    func everyProviderHasAVector() throws {
        // The simulator is our own fake provider; its webhooks are checked by the simulator tests.
        // Poll-only providers (Redmine) receive no webhooks, so they have nothing to sign.
        let catalog = try ManifestCatalog.load(directory: TestPaths.providers)
        let manifests = catalog.providers.values.filter { $0.id != "simulator" && $0.manifest.webhooks != nil }.map(\.id).sorted()
        #expect(manifests.count == 40)
        #expect(Set(Self.providers) == Set(manifests))
    }

    @Test("valid is stored once, repeat is a duplicate, forgeries are 401 and store nothing", arguments: providers)
    func verification(provider: String) async throws {
        let vector = try Vector.load(provider)
        let catalog = try ManifestCatalog.load(directory: TestPaths.providers)
        let verification = try #require(catalog.providers[provider]?.manifest.webhooks?.verification)
        let directory = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let engine = try Engine(configuration: TestEngine.configuration(directory: directory, now: (vector.timestamp + 1) * 1_000_000))
        _ = try await engine.store.addConnection(
            id: vector.connectionID, provider: provider, tenant: "acme", account: nil, toleranceSeconds: nil,
            webhookSecrets: [vector.secret], now: 0
        )
        let path = Vector.pathAndQuery(vector.url)
        // Token, client-state and Basic credentials prove the sender, not the body; Mailgun signs only its
        // timestamp and token, which the manifest makes the event id.
        let bodyCoversSignature = ![.token, .clientState, .basicAuth, .mailgun].contains(verification.scheme)

        try await TestEngine.live(engine) { client in
            let first = try await client.send(path, headers: vector.headers, body: vector.body)
            #expect(first.status == .ok, "\(provider): valid request answered \(first.status)")
            #expect(first.json?["duplicate"] == .bool(false))
            let seq = first.json?["seq"]?.int64Value
            #expect(seq != nil)

            let again = try await client.send(path, headers: vector.headers, body: vector.body)
            #expect(again.status == .ok)
            #expect(again.json?["duplicate"] == .bool(true))
            #expect(again.json?["seq"]?.int64Value == seq)

            // Forgeries.
            if bodyCoversSignature {
                let tampered = try await client.send(path, headers: vector.headers, body: Self.tamper(vector.body))
                #expect(tampered.status == .unauthorized, "\(provider): tampered body answered \(tampered.status)")
                #expect(tampered.bodyText.isEmpty, "401 must not explain itself")
            } else if verification.scheme == .mailgun {
                // The captured signature object on another body: its token was seen, so it is the first
                // delivery's duplicate (or, where the flip hit the token, a bad signature) — never a new event.
                let tampered = try await client.send(path, headers: vector.headers, body: Self.tamper(vector.body))
                let reused = tampered.status == .ok && tampered.json?["duplicate"] == .bool(true) && tampered.json?["seq"]?.int64Value == seq
                #expect(reused || tampered.status == .unauthorized, "\(provider): tampered body answered \(tampered.status) \(tampered.bodyText)")
            } else if verification.scheme == .clientState {
                let forged = vector.body.replacingOccurrences(of: vector.secret, with: "not-the-client-state")
                let tampered = try await client.send(path, headers: vector.headers, body: forged)
                #expect(tampered.status == .unauthorized, "\(provider): wrong clientState answered \(tampered.status)")
            }
            let signatureHeaders = Set((verification.signature?.headers ?? []).map { $0.lowercased() })
            if !signatureHeaders.isEmpty {
                let stripped = vector.headers.filter { !signatureHeaders.contains($0.key.lowercased()) }
                #expect(stripped.count < vector.headers.count, "\(provider): vector carries no signature header")
                let missing = try await client.send(path, headers: stripped, body: vector.body)
                #expect(missing.status == .unauthorized, "\(provider): missing signature answered \(missing.status)")
            }
        }
        let stored = try await engine.store.events(EventFilter(connection: vector.connectionID))
        if let batch = catalog.providers[provider]?.extractor?.batch {
            // A batch is one event per element, each stored as that element's JSON (numbers kept as written).
            guard case .array(let elements)? = JSONValue(parsing: Array(vector.body.utf8)).flatMap({ batch.resolve(in: $0) }) else {
                Issue.record("\(provider): the vector is not a batch at \(batch)")
                return
            }
            #expect(!elements.isEmpty && stored.count == elements.count, "\(provider): \(stored.count) rows stored for \(elements.count) elements")
            #expect(stored.map(\.body) == elements.map { Array($0.jsonText.utf8) })
        } else {
            #expect(stored.count == 1, "\(provider): \(stored.count) rows stored")
            #expect(stored.first?.body == Array(vector.body.utf8), "raw body kept byte-exact")
        }
        let event = try #require(stored.first)
        #expect(event.provider == provider && event.tenant == "acme" && event.source == .webhook && event.status == .pending)
    }

    @Test("a wrong secret is 401; rotation accepts old and new; a retired secret is refused", arguments: providers)
    func rotation(provider: String) async throws {
        let vector = try Vector.load(provider)
        let directory = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let engine = try Engine(configuration: TestEngine.configuration(directory: directory, now: (vector.timestamp + 1) * 1_000_000))
        let store = engine.store
        _ = try await store.addConnection(
            id: vector.connectionID, provider: provider, tenant: "acme", account: nil, toleranceSeconds: nil,
            webhookSecrets: [vector.rotated.secret], now: 0
        )
        let path = Vector.pathAndQuery(vector.url)
        let rotatedBody = vector.rotated.body ?? vector.body
        try await TestEngine.live(engine) { client in
            let wrong = try await client.send(path, headers: vector.headers, body: vector.body)
            #expect(wrong.status == .unauthorized, "\(provider): request signed with another secret answered \(wrong.status)")
            #expect(try await store.events(EventFilter()).isEmpty)

            try await store.addWebhookSecret(connection: vector.connectionID, secret: vector.secret, now: 1)
            let old = try await client.send(path, headers: vector.rotated.headers, body: rotatedBody)
            #expect(old.status == .ok, "\(provider): old secret during rotation answered \(old.status)")
            let new = try await client.send(path, headers: vector.headers, body: vector.body)
            #expect(new.status == .ok, "\(provider): new secret during rotation answered \(new.status)")

            try await store.retireWebhookSecret(connection: vector.connectionID, secret: vector.rotated.secret, now: 2)
            let retired = try await client.send(path, headers: vector.rotated.headers, body: rotatedBody + (rotatedBody == vector.body ? "" : ""))
            #expect(retired.status == .unauthorized, "\(provider): retired secret answered \(retired.status)")
        }
    }

    @Test("a signed timestamp outside tolerance is 401", arguments: providers)
    func staleTimestamp(provider: String) async throws {
        let catalog = try ManifestCatalog.load(directory: TestPaths.providers)
        let verification = try #require(catalog.providers[provider]?.manifest.webhooks?.verification)
        let tolerance: Int
        if let spec = verification.timestamp {
            tolerance = spec.tolerance ?? WebhookVerifier.defaultTolerance
        } else if verification.scheme == .hubspotV3 {
            tolerance = WebhookVerifier.defaultTolerance
        } else {
            return // this provider signs no timestamp: dedupe on the event id is its only replay defence
        }
        let vector = try Vector.load(provider)
        for skew in [Int64(tolerance) + 30, -(Int64(tolerance) + 30)] {
            let directory = try TestPaths.temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let engine = try Engine(configuration: TestEngine.configuration(directory: directory, now: (vector.timestamp + skew) * 1_000_000))
            _ = try await engine.store.addConnection(
                id: vector.connectionID, provider: provider, tenant: "acme", account: nil, toleranceSeconds: nil,
                webhookSecrets: [vector.secret], now: 0
            )
            try await TestEngine.live(engine) { client in
                let response = try await client.send(Vector.pathAndQuery(vector.url), headers: vector.headers, body: vector.body)
                #expect(response.status == .unauthorized, "\(provider): timestamp \(skew) s away answered \(response.status)")
            }
            #expect(try await engine.store.events(EventFilter()).isEmpty)
        }
    }

    static let handshakeProviders = providers.filter { ((try? Vector.load($0))?.handshakes ?? []).isEmpty == false }

    @Test("handshakes are answered exactly as each provider documents", arguments: handshakeProviders)
    func handshake(provider: String) async throws {
        let vector = try Vector.load(provider)
        let directory = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let engine = try Engine(configuration: TestEngine.configuration(directory: directory, now: (vector.timestamp + 1) * 1_000_000))
        let awaitsSecret = provider == "asana"
        _ = try await engine.store.addConnection(
            id: vector.connectionID, provider: provider, tenant: "acme", account: nil, toleranceSeconds: nil,
            webhookSecrets: awaitsSecret ? [] : [vector.secret], now: 0
        )
        try await TestEngine.live(engine) { client in
            for handshake in vector.handshakes ?? [] {
                let response = try await client.send(
                    Vector.pathAndQuery(handshake.url), method: .init(handshake.method)!, headers: handshake.headers, body: handshake.body
                )
                #expect(response.status.code == handshake.expect.status, "\(handshake.name): \(response.status)")
                if let contentType = handshake.expect.contentType {
                    #expect(response.headers[.contentType]?.hasPrefix(contentType) == true, "\(handshake.name): content type \(response.headers[.contentType] ?? "none")")
                }
                if handshake.expect.contentType == "application/json" {
                    #expect(JSONValue(parsing: Array(response.bodyText.utf8)) == JSONValue(parsing: Array(handshake.expect.body.utf8)), "\(handshake.name): \(response.bodyText)")
                } else {
                    #expect(response.bodyText == handshake.expect.body, "\(handshake.name): body \(response.bodyText)")
                }
                for (name, value) in handshake.expect.headers ?? [:] {
                    #expect(response.headers[HTTPField.Name(name)!] == value, "\(handshake.name): header \(name)")
                }
                // A signed handshake with a broken signature is an ordinary forgery (Discord probes exactly this).
                let signatureNames = ["X-Slack-Signature", "x-zm-signature", "X-Signature-Ed25519", "Twitch-Eventsub-Message-Signature"]
                if let name = signatureNames.first(where: { handshake.headers[$0] != nil }) {
                    var forged = handshake.headers
                    forged[name] = String(forged[name]!.reversed())
                    let refused = try await client.send(Vector.pathAndQuery(handshake.url), headers: forged, body: handshake.body)
                    #expect(refused.status == .unauthorized, "\(handshake.name): forged handshake answered \(refused.status)")
                }
            }
            if awaitsSecret {
                // The secret delivered by the handshake now verifies events; a second handshake cannot replace it.
                let event = try await client.send(Vector.pathAndQuery(vector.url), headers: vector.headers, body: vector.body)
                #expect(event.status == .ok)
                let replace = try await client.send(Vector.pathAndQuery(vector.url), headers: ["X-Hook-Secret": "attacker"], body: "")
                #expect(replace.status == .unauthorized)
            }
        }
        let events = try await engine.store.events(EventFilter())
        #expect(events.count == (awaitsSecret ? 1 : 0), "handshakes store no events")
        if awaitsSecret {
            let connection = try #require(try await engine.store.connection(id: vector.connectionID))
            #expect(connection.webhookSecrets == [vector.secret])
        }
    }

    @Test("X: a CRC reply replayed as a delivery's signature is refused, and stores nothing")
    func xCRCIsNoSigningOracle() async throws {
        let vector = try Vector.load("x")
        let directory = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let engine = try Engine(configuration: TestEngine.configuration(directory: directory, now: (vector.timestamp + 1) * 1_000_000))
        _ = try await engine.store.addConnection(
            id: vector.connectionID, provider: "x", tenant: "acme", account: nil, toleranceSeconds: nil,
            webhookSecrets: [vector.secret], now: 0
        )
        let path = Vector.pathAndQuery(vector.url)
        try await TestEngine.live(engine) { client in
            let token = "an-attacker-chosen-body"
            let crc = try await client.send(path + "?crc_token=" + token, method: .get, headers: [:], body: "")
            #expect(crc.status == .ok)
            let signature = try #require(crc.json?["response_token"]?.stringValue)
            let forged = try await client.send(path, headers: ["x-twitter-webhooks-signature": signature, "Content-Type": "application/json"], body: token)
            #expect(forged.status == .unauthorized, "a CRC reply verified a body: \(forged.status)")
            let object = try await client.send(path + "?crc_token=%7B%22a%22%3A1%7D", method: .get, headers: [:], body: "")
            #expect(object.status == .unauthorized, "a token that is a JSON object was signed")
            let genuine = try await client.send(path, headers: vector.headers, body: vector.body)
            #expect(genuine.status == .ok)
        }
        #expect(try await engine.store.events(EventFilter()).count == 1, "only the genuine delivery is stored")
    }

    /// Flips one character in the middle of the body, keeping it well-formed where possible.
    static func tamper(_ body: String) -> String {
        var bytes = Array(body.utf8)
        guard !bytes.isEmpty else { return "x" }
        var i = bytes.count / 2
        while i < bytes.count, !(bytes[i].isLetterOrDigit) { i += 1 }
        if i == bytes.count { i = bytes.count / 2 }
        bytes[i] = bytes[i] == UInt8(ascii: "1") ? UInt8(ascii: "2") : (bytes[i] == UInt8(ascii: "a") ? UInt8(ascii: "b") : UInt8(ascii: "1"))
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension UInt8 {
    var isLetterOrDigit: Bool {
        (48...57).contains(self) || (65...90).contains(self) || (97...122).contains(self)
    }
}

import Foundation
import Testing
import TributaryCore
import TributaryProviders
import TributaryTesting

/// Hostile rows for the schemes issue 13 added: ECDSA P-256 (SendGrid), `{url}` (Trello),
/// `{id}{timestamp}` with nanosecond RFC 3339 (Twitch), Mailgun's in-body signature and Basic auth.
extension VerifierTests {
    /// One request built from a provider's vector, changed in one way, and the verdict it must get.
    struct Hostile: Sendable, CustomTestStringConvertible {
        var provider: String
        var name: String
        var change: @Sendable (inout Attempt) -> Void
        var expected: Result<Verified, VerificationFailure>
        var testDescription: String { "\(provider): \(name)" }
    }

    /// What a row may change: the request, the secrets offered and the clock.
    struct Attempt: Sendable {
        var url: String
        var headers: [String: String]
        var body: String
        var secrets: [String]
        var now: Int64
        let vector: Vector
    }

    static let ok: Result<Verified, VerificationFailure> = .success(Verified(secretIndex: 0))

    static func basic(_ credentials: String) -> String { "Basic " + Data(credentials.utf8).base64EncodedString() }

    static func row(_ provider: String, _ name: String, _ expected: Result<Verified, VerificationFailure>,
                    _ change: @escaping @Sendable (inout Attempt) -> Void) -> Hostile {
        Hostile(provider: provider, name: name, change: change, expected: expected)
    }

    /// Replaces the first occurrence of `old` in the body (the rows name the field they attack).
    static func replacing(_ old: String, _ new: String) -> @Sendable (inout Attempt) -> Void {
        { $0.body = $0.body.replacingOccurrences(of: old, with: new, options: [], range: $0.body.range(of: old)) }
    }

    static let hostileRows: [Hostile] = {
        var rows: [Hostile] = []
        // SendGrid: ECDSA P-256 over {timestamp}{body}; the secret is the public key (base64 SPKI DER).
        let sg = "sendgrid", sgSig = "X-Twilio-Email-Event-Webhook-Signature", sgTs = "X-Twilio-Email-Event-Webhook-Timestamp"
        rows += [
            row(sg, "valid", ok) { _ in },
            row(sg, "tampered body", .failure(.noMatchingSignature), replacing("processed", "delivered")),
            row(sg, "stale timestamp", .failure(.staleTimestamp(skewSeconds: 301))) { $0.now += 301 },
            row(sg, "future timestamp", .failure(.staleTimestamp(skewSeconds: -301))) { $0.now -= 301 },
            row(sg, "another key (wrong secret)", .failure(.noMatchingSignature)) { $0.secrets = [$0.vector.rotated.secret] },
            row(sg, "missing signature header", .failure(.missingSignature)) { $0.headers[sgSig] = nil },
            row(sg, "missing timestamp header", .failure(.missingTimestamp)) { $0.headers[sgTs] = nil },
            row(sg, "unreadable timestamp", .failure(.malformedTimestamp)) { $0.headers[sgTs] = "yesterday" },
            row(sg, "signature is not base64", .failure(.missingSignature)) { $0.headers[sgSig] = "!!not base64!!" },
            row(sg, "signature is base64 but not DER", .failure(.noMatchingSignature)) { $0.headers[sgSig] = "AAECAwQF" },
            row(sg, "signature from the other key", .failure(.noMatchingSignature)) { $0.headers[sgSig] = $0.vector.rotated.headers[sgSig] },
            row(sg, "secret is not a P-256 key", .failure(.noMatchingSignature)) { $0.secrets = ["AAECAwQF"] },
            row(sg, "empty body", .failure(.noMatchingSignature)) { $0.body = "" },
        ]
        // Trello: HMAC-SHA1 of body + the URL Trello called.
        let tr = "trello", trSig = "X-Trello-Webhook"
        rows += [
            row(tr, "valid", ok) { _ in },
            row(tr, "trailing slash on the URL", .failure(.noMatchingSignature)) { $0.url += "/" },
            row(tr, "another host", .failure(.noMatchingSignature)) { $0.url = $0.url.replacingOccurrences(of: "hooks.example.test", with: "evil.example.test") },
            row(tr, "tampered body", .failure(.noMatchingSignature), replacing("createCard", "deleteCard")),
            row(tr, "wrong secret", .failure(.noMatchingSignature)) { $0.secrets = [$0.vector.rotated.secret] },
            row(tr, "missing signature header", .failure(.missingSignature)) { $0.headers[trSig] = nil },
            row(tr, "signature is not base64", .failure(.missingSignature)) { $0.headers[trSig] = "%%%" },
            row(tr, "empty body", .failure(.noMatchingSignature)) { $0.body = "" },
        ]
        // Twitch: message id + nanosecond RFC 3339 timestamp + body; 10-minute window.
        let tw = "twitch", twTs = "Twitch-Eventsub-Message-Timestamp"
        rows += [
            row(tw, "valid", ok) { _ in },
            row(tw, "stale timestamp", .failure(.staleTimestamp(skewSeconds: 601))) { $0.now += 601 },
            row(tw, "future timestamp", .failure(.staleTimestamp(skewSeconds: -601))) { $0.now -= 601 },
            row(tw, "another message id", .failure(.noMatchingSignature)) { $0.headers["Twitch-Eventsub-Message-Id"] = "replayed-under-a-new-id" },
            row(tw, "missing message id", .failure(.missingSignature)) { $0.headers["Twitch-Eventsub-Message-Id"] = nil },
            row(tw, "timestamp re-written (same instant, fewer digits)", .failure(.noMatchingSignature)) { $0.headers[twTs] = "2026-11-18T11:06:40.123Z" },
            row(tw, "unreadable timestamp", .failure(.malformedTimestamp)) { $0.headers[twTs] = "2026-11-18 noon" },
            row(tw, "signature without sha256= prefix", .failure(.missingSignature)) {
                $0.headers["Twitch-Eventsub-Message-Signature"] = String($0.headers["Twitch-Eventsub-Message-Signature"]!.dropFirst(7))
            },
            row(tw, "empty body", .failure(.noMatchingSignature)) { $0.body = "" },
        ]
        // Mailgun: hex HMAC-SHA256(timestamp + token), all inside the body's signature object.
        let mg = "mailgun"
        rows += [
            row(mg, "valid", ok) { _ in },
            // Documented, not a bug: Mailgun signs no body byte. The manifest keys events by the token.
            row(mg, "event-data changed (Mailgun does not sign it)", ok, replacing("delivered", "failed")),
            row(mg, "token changed", .failure(.noMatchingSignature), replacing("a8ce0edb", "a8ce0edc")),
            row(mg, "timestamp changed within the window", .failure(.noMatchingSignature), replacing("\"1795000000\"", "\"1795000001\"")),
            row(mg, "stale timestamp", .failure(.staleTimestamp(skewSeconds: 301))) { $0.now += 301 },
            row(mg, "future timestamp", .failure(.staleTimestamp(skewSeconds: -301))) { $0.now -= 301 },
            row(mg, "wrong secret", .failure(.noMatchingSignature)) { $0.secrets = [$0.vector.rotated.secret] },
            row(mg, "no signature object", .failure(.missingSignature)) { $0.body = #"{"event-data":{"event":"delivered"}}"# },
            row(mg, "signature is not hex", .failure(.malformedSignature)) {
                $0.body = $0.body.replacingOccurrences(of: #""signature":"7f7e"#, with: #""signature":"zz7e"#)
            },
            row(mg, "signature too short", .failure(.malformedSignature)) {
                $0.body = #"{"signature":{"timestamp":"1795000000","token":"t","signature":"abcd"}}"#
            },
            row(mg, "signature is a number", .failure(.malformedSignature)) {
                $0.body = #"{"signature":{"timestamp":"1795000000","token":"t","signature":{}}}"#
            },
            row(mg, "token missing", .failure(.malformedSignature)) {
                $0.body = #"{"signature":{"timestamp":"1795000000","signature":"\#(String(repeating: "ab", count: 32))"}}"#
            },
            row(mg, "timestamp missing", .failure(.missingTimestamp)) {
                $0.body = #"{"signature":{"token":"t","signature":"\#(String(repeating: "ab", count: 32))"}}"#
            },
            row(mg, "timestamp unreadable", .failure(.malformedTimestamp)) {
                $0.body = #"{"signature":{"timestamp":"soon","token":"t","signature":"\#(String(repeating: "ab", count: 32))"}}"#
            },
            row(mg, "body not JSON", .failure(.missingSignature)) { $0.body = "timestamp=1795000000&token=t" },
            row(mg, "empty body", .failure(.missingSignature)) { $0.body = "" },
        ]
        // Basic auth (Postmark; Chargebee has the same manifest shape).
        let pm = "postmark"
        rows += [
            row(pm, "valid", ok) { _ in },
            row(pm, "scheme name in lower case (RFC 7617)", ok) { $0.headers["Authorization"] = $0.headers["Authorization"]!.replacingOccurrences(of: "Basic", with: "basic") },
            // Documented, not a bug: Basic credentials say who sent the request, not what it says.
            row(pm, "body changed (nothing signs it)", ok, replacing("Delivery", "Bounce")),
            row(pm, "wrong secret", .failure(.noMatchingSignature)) { $0.secrets = [$0.vector.rotated.secret] },
            row(pm, "user name only", .failure(.noMatchingSignature)) { $0.headers["Authorization"] = Self.basic("tributary-postmark") },
            row(pm, "password with a trailing newline", .failure(.noMatchingSignature)) { $0.headers["Authorization"] = Self.basic($0.vector.secret + "\n") },
            row(pm, "missing Authorization", .failure(.missingSignature)) { $0.headers["Authorization"] = nil },
            row(pm, "Bearer instead of Basic", .failure(.malformedSignature)) { $0.headers["Authorization"] = "Bearer " + $0.vector.secret },
            row(pm, "credentials not base64", .failure(.malformedSignature)) { $0.headers["Authorization"] = "Basic !!!" },
            row(pm, "empty credentials", .failure(.malformedSignature)) { $0.headers["Authorization"] = "Basic " },
            row(pm, "the secret in clear", .failure(.malformedSignature)) { $0.headers["Authorization"] = "Basic " + $0.vector.secret },
            row(pm, "empty body", ok) { $0.body = "" },
        ]
        return rows
    }()

    @Test("hostile requests against the new schemes get the verdict each row names", arguments: hostileRows)
    func hostile(_ row: Hostile) throws {
        let vector = try Vector.load(row.provider)
        let verifier = try #require(Self.catalog.providers[row.provider]?.verifier)
        var attempt = Attempt(url: vector.url, headers: vector.headers, body: vector.body, secrets: [vector.secret], now: vector.timestamp, vector: vector)
        row.change(&attempt)
        let request = WebhookRequest(method: "POST", url: attempt.url, headers: attempt.headers.map { ($0.key, $0.value) }, body: Array(attempt.body.utf8))
        #expect(verifier.verify(request, secrets: attempt.secrets, now: attempt.now) == row.expected)
    }

    @Test("secrets that could never verify are refused when added: basic-auth needs user:password, ECDSA a P-256 key")
    func newSchemeSecretProblems() throws {
        let basic = try #require(Self.catalog.providers["chargebee"]?.verifier)
        #expect(basic.secretProblem("user:password") == nil)
        #expect(basic.secretProblem("user:") == nil, "an empty password is still Basic credentials")
        #expect(basic.secretProblem("no-colon") != nil)
        #expect(basic.secretProblem(":password") != nil)
        #expect(basic.secretProblem("") != nil)
        let ecdsa = try #require(Self.catalog.providers["sendgrid"]?.verifier)
        #expect(ecdsa.secretProblem(try Vector.load("sendgrid").secret) == nil)
        #expect(ecdsa.secretProblem("AAECAwQF") != nil)
        #expect(ecdsa.secretProblem("not base64!") != nil)
        #expect(try Vector.load("sendgrid").secret.count > 0)
    }

    @Test("X's CRC is answered with the newest secret, and can never become a signature intake accepts")
    func xCRC() throws {
        let vector = try Vector.load("x")
        let handshake = try #require(vector.handshakes?.first)
        func get(_ url: String, secrets: [String]) -> HandshakeReply? {
            HandshakeResponder.beforeVerification(.xCRC, request: WebhookRequest(method: "GET", url: url, headers: [], body: []), awaitingSecret: secrets.isEmpty, secrets: secrets)
        }
        let reply = try #require(get(handshake.url, secrets: [vector.rotated.secret, vector.secret]))
        #expect(reply.status == 200)
        #expect(JSONValue(parsing: reply.body) == JSONValue(parsing: Array(handshake.expect.body.utf8)))
        #expect(get(vector.url + "?crc_token=%7B%22a%22%3A1%7D", secrets: [vector.secret])?.status == 401, "a token holding '{' could be a JSON body")
        #expect(get(vector.url + "?crc_token=", secrets: [vector.secret])?.status == 401)
        #expect(get(handshake.url, secrets: [])?.status == 401, "no secret, no answer")
        #expect(get(vector.url, secrets: [vector.secret]) == nil, "a GET without crc_token is not a handshake")

        // The oracle: the reply to token T is a valid signature of the body T. The verifier alone would take it…
        let token = "crc-token-chosen-by-an-attacker"
        let forged = try #require(get(vector.url + "?crc_token=" + token, secrets: [vector.secret]))
        let signature = try #require(JSONValue(parsing: forged.body)?["response_token"]?.stringValue)
        let post = WebhookRequest(method: "POST", url: vector.url, headers: [("x-twitter-webhooks-signature", signature)], body: Array(token.utf8))
        let verifier = try #require(Self.catalog.providers["x"]?.verifier)
        #expect(verifier.verify(post, secrets: [vector.secret], now: vector.timestamp) == .success(Verified(secretIndex: 0)))
        // …so intake refuses, before verification, every POST body a token could be.
        #expect(HandshakeResponder.beforeVerification(.xCRC, request: post, awaitingSecret: false, secrets: [vector.secret])?.status == 401)
        let real = WebhookRequest(method: "POST", url: vector.url, headers: [], body: Array(vector.body.utf8))
        #expect(HandshakeResponder.beforeVerification(.xCRC, request: real, awaitingSecret: false, secrets: [vector.secret]) == nil)
        let empty = WebhookRequest(method: "POST", url: vector.url, headers: [], body: [])
        #expect(HandshakeResponder.beforeVerification(.xCRC, request: empty, awaitingSecret: false, secrets: [vector.secret])?.status == 401)
    }

    @Test("Twitch answers only a callback verification with its challenge; Trello's HEAD gets a bare 200")
    func twitchAndTrelloHandshakes() throws {
        let vector = try Vector.load("twitch")
        let handshake = try #require(vector.handshakes?.first)
        func after(_ headers: [String: String], _ body: String) -> HandshakeReply? {
            HandshakeResponder.afterVerification(.twitchCallbackVerification, request: WebhookRequest(method: "POST", url: vector.url, headers: headers.map { ($0.key, $0.value) }, body: Array(body.utf8)), secret: vector.secret)
        }
        let reply = try #require(after(handshake.headers, handshake.body))
        #expect(reply.status == 200 && reply.body == Array(handshake.expect.body.utf8))
        #expect(reply.headers["Content-Type"]?.hasPrefix("text/plain") == true)
        var notification = handshake.headers
        notification["Twitch-Eventsub-Message-Type"] = "notification"
        #expect(after(notification, handshake.body) == nil, "a notification carrying a challenge field is an event")
        #expect(after(handshake.headers, vector.body) == nil, "no challenge, no answer")

        func trello(_ method: String) -> HandshakeReply? {
            HandshakeResponder.beforeVerification(.trelloHead, request: WebhookRequest(method: method, url: vector.url, headers: [], body: []), awaitingSecret: false, secrets: [])
        }
        let head = try #require(trello("HEAD"))
        #expect(head.status == 200 && head.body.isEmpty && head.headers.isEmpty)
        #expect(trello("GET") == nil && trello("POST") == nil)
    }
}

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

extension VerifierTests {
    /// What each new manifest must read from its vector's body: the rules are checked against real bytes.
    struct Reading: Sendable, CustomTestStringConvertible {
        var provider: String
        /// The event id, or `nil` where it is derived from the body (`sha256:` + digest).
        var eventId: String?
        var type: String?
        var record: String?
        var version: Int64? = nil
        var testDescription: String { provider }
    }

    static let readings: [Reading] = [
        Reading(provider: "svix", eventId: "msg_2tRbVx0Jd8pQy3NcK5sLmSvix01", type: "endpoint.created", record: "endpoint/ep_1srOrx2ZWZBpBUvZwXKQmoEYga2"),
        Reading(provider: "clerk", eventId: "msg_2tRbVx0Jd8pQy3NcK5sLmClrk1", type: "user.created", record: "user/user_29w83sxmDNGwOuEthce5gg56FcC", version: 1_794_999_990_835_000),
        Reading(provider: "resend", eventId: "msg_2tRbVx0Jd8pQy3NcK5sLmRsnd1", type: "email.delivered", record: "email/56761188-7520-42d8-8898-ff6fc54ce618"),
        Reading(provider: "pagerduty", eventId: "01DEN4HPBQAAAG05V5QQYBRZMF", type: "incident.triggered", record: "incident/PGR0VU2"),
        Reading(provider: "calendly", eventId: nil, type: "invitee.created", record: "invitee/https://api.calendly.com/scheduled_events/GBGBDCAADAEDCRZ2/invitees/AAAAAAAAAAAAAAAA", version: 1_794_999_998_341_657),
        Reading(provider: "typeform", eventId: "LtWXD3crgy", type: "form_response", record: "form_response/a3a12ec67a1365927098a606107fac15"),
        Reading(provider: "jira", eventId: "4117a9f1d2c3", type: "jira:issue_updated", record: "issue/10002"),
        Reading(provider: "trello", eventId: "51f9424bcd6e040f3c002412", type: "createCard", record: "card/51f9424bcd6e040f3c00240f"),
        Reading(provider: "mailgun", eventId: "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0", type: "delivered", record: "message/20261118110639.1.2F5A3C4E8B9D0E1F@example.com"),
        Reading(provider: "sendgrid", eventId: "rbtnWrG1DVDGGGFHFyun0A==", type: "processed", record: "message/14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.000000000000000000000"),
        Reading(provider: "twitch", eventId: "befa7b53-d79d-478f-86b9-120f112b044e", type: "channel.follow", record: "follower/1234", version: 1_794_999_999_171_067),
        Reading(provider: "bitbucket", eventId: "7d2d8e2a-2a7f-4a4e-9b2f-1e4b0e3f6c11", type: "pullrequest:created", record: "pull_request/https://api.bitbucket.org/2.0/repositories/team/repo/pullrequests/1", version: 1_794_999_998_179_678),
        Reading(provider: "sentry", eventId: "5b0dfa72-6a1a-4f6b-9d0e-3c2b1a0f9e8d", type: "issue", record: "issue/1170820242"),
        Reading(provider: "vercel", eventId: "evt_FSmxpd4h9M8dxcm6GJi6vEQa", type: "deployment.succeeded", record: "deployment/dpl_2fGkhq4mjEhJVzj4Rm5Q7rEXAMPLE"),
        Reading(provider: "lemon-squeezy", eventId: nil, type: "order_created", record: "order/1", version: 1_794_999_998_000_000),
        Reading(provider: "mux", eventId: "3a56ac3d-33da-4366-855b-f592d898409d", type: "video.asset.ready", record: "asset/0201p02fGKPE7MrbC269XRD7LpcHhrmbu0002"),
        Reading(provider: "customer-io", eventId: "01E4C4CT6YDC7Y5M7FE1GWWPQJ", type: "sent", record: "delivery/RPILAgABcRhIBqSp7kiPekGBIeVh"),
        Reading(provider: "webflow", eventId: nil, type: "form_submission", record: "form_submission/6321ca84df3949bfc6752327"),
        Reading(provider: "coinbase-commerce", eventId: "24934862-d980-46cb-9402-43c81b0cdba6", type: "charge:created", record: "charge/f6f2a4e5-2e45-4c0d-9c2b-3d4a5b6c7d8e"),
        Reading(provider: "postmark", eventId: nil, type: "Delivery", record: "message/883953f4-6105-42a2-a16a-77a8eac79483"),
        Reading(provider: "chargebee", eventId: "ev_16BHbhF4s42tO2lK", type: "customer_created", record: "customer/16BHbhF4s42tO2lJ", version: 1_794_999_999_000),
        // X's payloads name their kind by which key they hold: no type, so no record.
        Reading(provider: "x", eventId: nil, type: nil, record: nil),
    ]

    @Test("each new manifest reads its vector's event id, type, record and version", arguments: readings)
    func reading(_ expected: Reading) throws {
        let vector = try Vector.load(expected.provider)
        let extractor = try #require(Self.catalog.providers[expected.provider]?.extractor)
        // A batched delivery (SendGrid's array) is read element by element: the vector's first element.
        var delivery = Self.request(vector)
        if let elements = try extractor.elements(delivery)?.get() { delivery = try #require(elements.first) }
        let event = try extractor.extract(delivery).get()
        if let id = expected.eventId {
            #expect(event.eventId == id)
        } else {
            #expect(event.eventId == "sha256:" + delivery.bodySHA256)
        }
        #expect(event.type == expected.type)
        #expect(event.record.map { "\($0.recordType)/\($0.recordId)" } == expected.record)
        #expect(event.record?.version == expected.version)
    }
}

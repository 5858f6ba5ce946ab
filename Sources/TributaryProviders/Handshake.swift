import Crypto
import Foundation
import TributaryCore

/// What intake should answer to a provider's handshake instead of storing an event.
public struct HandshakeReply: Sendable, Equatable {
    public var status: Int
    public var headers: [String: String]
    public var body: [UInt8]
    /// A secret the handshake delivered (Asana's `X-Hook-Secret`), to be stored on the connection before replying.
    public var deliveredSecret: String?

    static func text(_ body: String, extra: [String: String] = [:]) -> HandshakeReply {
        HandshakeReply(status: 200, headers: ["Content-Type": "text/plain; charset=utf-8"].merging(extra) { $1 }, body: Array(body.utf8))
    }

    static func json(_ value: JSONValue) -> HandshakeReply {
        HandshakeReply(status: 200, headers: ["Content-Type": "application/json"], body: Array(value.jsonText.utf8))
    }

    static let refused = HandshakeReply(status: 401, headers: [:], body: [])
}

/// Answers handshakes exactly as each provider documents them.
///
/// Two moments exist. Unsigned handshakes (Dropbox's GET `challenge`, Microsoft
/// Graph's `validationToken`, Asana's `X-Hook-Secret`, X's CRC, Trello's HEAD) are
/// answered before any signature check; they prove only that the URL is reachable
/// and change nothing trusted — except Asana's, which a connection accepts only
/// while it awaits a secret. Signed handshakes (Slack, Zoom, Discord PING, Twitch's
/// callback verification) are answered only after the request verified, so a
/// forged one gets the same 401 as any forgery.
public enum HandshakeResponder {
    /// The answer to an unsigned handshake, or `nil` when `request` is not one.
    /// - Parameters:
    ///   - awaitingSecret: the connection has no webhook secret yet.
    ///   - secrets: the connection's active secrets, oldest first (X signs its CRC reply with the newest).
    public static func beforeVerification(
        _ kind: ProviderManifest.Handshake.Kind, request: WebhookRequest, awaitingSecret: Bool, secrets: [String] = []
    ) -> HandshakeReply? {
        switch kind {
        case .dropboxChallenge:
            guard request.method == "GET", let challenge = request.queryParameter("challenge") else { return nil }
            return .text(challenge, extra: ["X-Content-Type-Options": "nosniff"])
        case .graphValidationToken:
            // Graph validates with a POST only; echoing on GET would make the URL a reflector for anyone's
            // text, and nosniff keeps a browser from reading the echo as HTML.
            guard request.method == "POST", let token = request.queryParameter("validationToken") else { return nil }
            return .text(token, extra: ["X-Content-Type-Options": "nosniff"])
        case .asanaHookSecret:
            guard let secret = request.header("X-Hook-Secret") else { return nil }
            guard awaitingSecret, !secret.isEmpty else {
                return HandshakeReply(status: 401, headers: [:], body: [])
            }
            return HandshakeReply(status: 200, headers: ["X-Hook-Secret": secret], body: [], deliveredSecret: secret)
        case .xCRC:
            return xCRC(request, secret: secrets.last)
        case .trelloHead:
            guard request.method == "HEAD" else { return nil }
            return HandshakeReply(status: 200, headers: [:], body: [])
        case .slackURLVerification, .zoomURLValidation, .discordPing, .twitchCallbackVerification:
            return nil
        }
    }

    /// X's CRC: `GET ?crc_token=T` → `{"response_token":"sha256=<base64 HMAC-SHA256(secret, T)>"}`.
    ///
    /// - Important: the reply is exactly X's signature of a body equal to `T`, so the CRC is a signing
    ///   oracle. Two rules close it: a token containing `{` is refused, and a POST whose body does not
    ///   start with `{` (a JSON object, as every X delivery is) is refused before verification. No CRC
    ///   reply can then be the signature of a body intake would accept.
    static func xCRC(_ request: WebhookRequest, secret: String?) -> HandshakeReply? {
        if request.method == "POST" {
            let first = request.body.first { !($0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D) }
            return first == UInt8(ascii: "{") ? nil : HandshakeReply.refused
        }
        guard request.method == "GET", let token = request.queryParameter("crc_token") else { return nil }
        guard let secret, !secret.isEmpty, !token.isEmpty, token.utf8.count <= 1024, !token.contains("{") else { return HandshakeReply.refused }
        let mac = HMAC<SHA256>.authenticationCode(for: Array(token.utf8), using: SymmetricKey(data: Array(secret.utf8)))
        return .json(.object([("response_token", .string("sha256=" + Data(mac).base64EncodedString()))]))
    }

    /// The answer to a signed handshake that has verified, or `nil` when `request` is an ordinary event.
    /// - Parameter secret: the secret the request verified with (Zoom signs its answer with it).
    public static func afterVerification(
        _ kind: ProviderManifest.Handshake.Kind, request: WebhookRequest, secret: String
    ) -> HandshakeReply? {
        guard let body = JSONValue(parsing: request.body) else { return nil }
        switch kind {
        case .slackURLVerification:
            guard body["type"]?.stringValue == "url_verification", let challenge = body["challenge"]?.stringValue else { return nil }
            return .text(challenge)
        case .zoomURLValidation:
            guard body["event"]?.stringValue == "endpoint.url_validation",
                  let plainToken = body["payload"]?["plainToken"]?.stringValue else { return nil }
            let mac = HMAC<SHA256>.authenticationCode(for: Array(plainToken.utf8), using: SymmetricKey(data: Array(secret.utf8)))
            return .json(.object([("plainToken", .string(plainToken)), ("encryptedToken", .string(Array(mac).hexString))]))
        case .discordPing:
            // Webhook-event envelopes also say `"type": 1` ("event"); only a PING interaction lacks `event`.
            guard body["type"] == .number("1"), body["event"] == nil else { return nil }
            return .json(.object([("type", .number("1"))]))
        case .twitchCallbackVerification:
            guard request.header("Twitch-Eventsub-Message-Type") == "webhook_callback_verification",
                  let challenge = body["challenge"]?.stringValue else { return nil }
            return .text(challenge)
        case .dropboxChallenge, .graphValidationToken, .asanaHookSecret, .xCRC, .trelloHead:
            return nil
        }
    }
}

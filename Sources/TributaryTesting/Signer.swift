import Crypto
import Foundation

/// Signs synthetic deliveries for load and crash tests (the conformance vectors cover real SDK output).
public enum Signer {
    /// A GitHub-style delivery: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>`, a unique delivery id.
    public static func github(body: String, secret: String, delivery: String) -> [String: String] {
        let mac = HMAC<SHA256>.authenticationCode(for: Data(body.utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return [
            "X-Hub-Signature-256": "sha256=" + hex(Array(mac)),
            "X-GitHub-Delivery": delivery,
            "X-GitHub-Event": "issues",
            "Content-Type": "application/json",
        ]
    }

    /// A Stripe delivery: `Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "t.body")>`.
    public static func stripe(body: String, secret: String, timestamp: Int64) -> [String: String] {
        let mac = hmacSHA256(key: Array(secret.utf8), data: Array("\(timestamp).\(body)".utf8))
        return ["Stripe-Signature": "t=\(timestamp),v1=" + hex(mac), "Content-Type": "application/json"]
    }

    /// A Shopify delivery: base64 HMAC-SHA256 of the body; the shop domain and event id are unsigned headers.
    public static func shopify(body: String, secret: String, eventId: String, topic: String, shop: String?) -> [String: String] {
        var headers = [
            "X-Shopify-Hmac-Sha256": Data(hmacSHA256(key: Array(secret.utf8), data: Array(body.utf8))).base64EncodedString(),
            "X-Shopify-Event-Id": eventId, "X-Shopify-Topic": topic, "Content-Type": "application/json",
        ]
        if let shop { headers["X-Shopify-Shop-Domain"] = shop }
        return headers
    }

    /// Twilio's signature: base64 HMAC-SHA1 of the URL followed by the sorted form parameters (`name+value`).
    public static func twilio(url: String, form: [(String, String)], authToken: String) -> String {
        let suffix = form.sorted { ($0.0, $0.1) < ($1.0, $1.1) }.map { $0.0 + $0.1 }.joined()
        let mac = HMAC<Insecure.SHA1>.authenticationCode(for: Array((url + suffix).utf8), using: SymmetricKey(data: Array(authToken.utf8)))
        return Data(mac).base64EncodedString()
    }

    /// HMAC-SHA256 of `data` under `key` (an empty key is allowed here: tests forge with it).
    public static func hmacSHA256(key: [UInt8], data: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: data, using: SymmetricKey(data: key)))
    }

    public static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// A small GitHub `issues` payload whose issue id and update time vary with `n`.
    public static func issueBody(_ n: Int) -> String {
        #"{"action":"edited","issue":{"id":\#(1_000_000 + n),"number":\#(n),"title":"Load \#(n)","updated_at":"2026-11-20T10:00:00Z"},"installation":{"id":42}}"#
    }
}

extension Signer {
    /// A HubSpot v3 delivery: base64 HMAC-SHA256(client secret, `POST` + the URL called + body + timestamp in ms).
    public static func hubspotV3(url: String, body: String, secret: String, timestampMillis: Int64) -> [String: String] {
        let mac = hmacSHA256(key: Array(secret.utf8), data: Array("POST\(url)\(body)\(timestampMillis)".utf8))
        return [
            "X-HubSpot-Signature-v3": Data(mac).base64EncodedString(),
            "X-HubSpot-Request-Timestamp": String(timestampMillis), "Content-Type": "application/json",
        ]
    }

    /// A Slack delivery: `X-Slack-Signature: v0=<hex HMAC-SHA256(signing secret, "v0:ts:body")>`.
    public static func slack(body: String, secret: String, timestamp: Int64) -> [String: String] {
        let mac = hmacSHA256(key: Array(secret.utf8), data: Array("v0:\(timestamp):\(body)".utf8))
        return ["X-Slack-Signature": "v0=" + hex(mac), "X-Slack-Request-Timestamp": String(timestamp), "Content-Type": "application/json"]
    }
}

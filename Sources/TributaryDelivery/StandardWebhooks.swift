import Crypto
import Foundation

/// Standard Webhooks signing (https://www.standardwebhooks.com): `webhook-signature` is
/// `v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`, one per active secret, space-separated,
/// keyed with the base64-decoded part of a `whsec_` secret.
public enum StandardWebhooks {
    /// A new secret: `whsec_` and 32 random bytes in base64 (shown once, when made).
    public static func newSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        return "whsec_" + Data((0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }).base64EncodedString()
    }

    /// The key of a `whsec_` secret; `nil` when it is not one.
    public static func key(_ secret: String) -> [UInt8]? {
        guard secret.hasPrefix("whsec_"), let bytes = Data(base64Encoded: String(secret.dropFirst(6))), !bytes.isEmpty else { return nil }
        return Array(bytes)
    }

    /// The `webhook-signature` value for `body` sent as `id` at `timestamp` (Unix seconds).
    public static func signature(id: String, timestamp: Int64, body: [UInt8], secrets: [String]) -> String {
        var signed = Array("\(id).\(timestamp).".utf8)
        signed += body
        return secrets.compactMap(key).map { key in
            "v1," + Data(HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: key))).base64EncodedString()
        }.joined(separator: " ")
    }
}

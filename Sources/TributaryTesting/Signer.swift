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

    static func hex(_ bytes: [UInt8]) -> String {
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

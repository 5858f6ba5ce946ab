import Crypto

/// The SHA-256 digest of a bearer token: what the service keeps instead of the token itself.
///
/// It lives beside ``SecretBox`` because the store is the module that holds secrets and
/// links swift-crypto; the API module asks it for digests rather than hashing on its own.
public struct TokenDigest: Sendable, Equatable {
    /// The 32 digest bytes.
    public let bytes: [UInt8]

    /// The digest of `token`'s UTF-8 bytes.
    public init(of token: String) {
        bytes = Array(SHA256.hash(data: Array(token.utf8)))
    }

    /// A digest as stored (64 lowercase or uppercase hex digits); `nil` for anything else.
    public init?(hex: String) {
        let digits = Array(hex.utf8)
        guard digits.count == 64 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        for i in stride(from: 0, to: 64, by: 2) {
            guard let byte = UInt8(String(decoding: digits[i..<i + 2], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(byte)
        }
        self.bytes = bytes
    }

    /// 64 lowercase hex digits, the form kept in the `settings` table.
    public var hex: String {
        bytes.map { byte in
            let text = String(byte, radix: 16)
            return byte < 16 ? "0" + text : text
        }.joined()
    }

    /// Whether `other` is the same digest, in time that does not depend on where they differ.
    public func matches(_ other: TokenDigest) -> Bool {
        guard bytes.count == other.bytes.count else { return false }
        var difference: UInt8 = 0
        for (a, b) in zip(bytes, other.bytes) { difference |= a ^ b }
        return difference == 0
    }

    /// `==` is the constant-time ``matches(_:)``, so no caller can compare digests the leaky way.
    public static func == (lhs: TokenDigest, rhs: TokenDigest) -> Bool { lhs.matches(rhs) }
}

import Crypto
import TributaryCore

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
        guard let bytes = hexBytes(hex), bytes.count == 32 else { return nil }
        self.bytes = bytes
    }

    /// 64 lowercase hex digits, the form kept in the `settings` table.
    public var hex: String { bytes.hexString }

    /// Whether `other` is the same digest, in time that does not depend on where they differ.
    public func matches(_ other: TokenDigest) -> Bool { constantTimeEquals(bytes, other.bytes) }

    /// `==` is the constant-time ``matches(_:)``, so no caller can compare digests the leaky way.
    public static func == (lhs: TokenDigest, rhs: TokenDigest) -> Bool { lhs.matches(rhs) }
}

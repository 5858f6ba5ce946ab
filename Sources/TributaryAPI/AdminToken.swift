public import TributaryCore
import Foundation
public import TributaryStore

/// The bearer token that guards `/v1`: set by the operator, or generated once and handed over once.
///
/// - Important: The service never keeps the token, only its SHA-256 digest, so a copy of the
///   database does not grant access. A generated token is written by `serve` to a 0600 file on the start that
///   created it, and the service can never show it again; `tributary admin-token rotate` replaces it (lost or
///   leaked) with a new one, written to that file, or set `TRIBUTARY_ADMIN_TOKEN`.
public enum AdminToken {
    /// The `settings` key holding the generated token's digest (64 hex digits).
    public static let settingKey = "admin_token_sha256"

    /// Makes sure the service has an admin token before it listens.
    ///
    /// With `configured` (`TRIBUTARY_ADMIN_TOKEN`) nothing is stored: the environment stays the one
    /// source of truth, so rotating is changing the variable, and unsetting it brings back the
    /// generated token (if any) rather than leaving a stale digest of the operator's token behind.
    /// Without it, the first start stores a new token's digest (atomically: of two processes starting
    /// on one database, one wins) and returns the token for the caller to show once.
    /// - Returns: the newly generated token, or `nil` when none was generated (configured, or made earlier).
    /// - Throws: `.configuration` when the stored digest is not one this code wrote.
    public static func prepare(store: Store, configured: String?) async throws(StoreError) -> String? {
        guard configured == nil else { return nil }
        if let stored = try await store.setting(settingKey) {
            guard TokenDigest(hex: stored) != nil else {
                throw StoreError(.configuration, "setting \(settingKey) does not hold a SHA-256 digest (64 hex digits); delete it to have a new admin token generated")
            }
            return nil
        }
        let token = generate()
        return try await store.setSettingIfAbsent(settingKey, to: TokenDigest(of: token).hex) ? token : nil
    }

    /// Replaces the stored token's digest with a new token's and returns the token, to be handed over once (the CLI writes it to a 0600 file).
    /// Running `serve` processes accept it, and refuse the old one, from their next request.
    public static func rotate(store: Store) async throws(StoreError) -> String {
        let token = generate()
        try await store.setSetting(settingKey, to: TokenDigest(of: token).hex)
        return token
    }

    /// 32 random bytes from the system's CSPRNG, base64url without padding (43 characters).
    static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}

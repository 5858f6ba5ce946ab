import Foundation
import HTTPTypes
import Hummingbird
import Synchronization
import TributaryStore

/// Checks the `Authorization: Bearer …` header of an API request against the admin token's digest.
final class AdminAuthenticator: Sendable {
    let store: Store
    /// The digest of `TRIBUTARY_ADMIN_TOKEN` when set; it then wins over anything stored.
    let configured: TokenDigest?
    /// The stored digest and when it was read.
    private let stored = Mutex<(digest: TokenDigest, readAt: ContinuousClock.Instant)?>(nil)

    init(store: Store, configuredToken: String?) {
        self.store = store
        configured = configuredToken.map(TokenDigest.init(of:))
    }

    /// Why the request may not proceed, or `nil` when its token is the admin token.
    ///
    /// Fails closed: with no token configured and none stored yet, every request is refused.
    func denial(for request: Request) async throws(StoreError) -> APIError? {
        guard let presented = Self.bearerToken(request) else {
            return APIError(.unauthorized, "the request has no bearer token; send Authorization: Bearer <admin token>.")
        }
        // Hash first, then compare digests in constant time: the comparison's duration says nothing about the token.
        guard let expected = try await expected(), TokenDigest(of: presented).matches(expected) else {
            return APIError(.unauthorized, "the bearer token is not this service's admin token.")
        }
        return nil
    }

    private func expected() async throws(StoreError) -> TokenDigest? {
        if let configured { return configured }
        let now = ContinuousClock.now
        if let cached = stored.withLock({ $0 }), now - cached.readAt < AdminToken.refresh { return cached.digest }
        guard let hex = try await store.setting(AdminToken.settingKey), let digest = TokenDigest(hex: hex) else {
            stored.withLock { $0 = nil }
            return nil
        }
        stored.withLock { $0 = (digest, now) }
        return digest
    }

    /// The token of an `Authorization: Bearer <token>` header (the scheme is case-insensitive, RFC 9110 §11.1).
    static func bearerToken(_ request: Request) -> String? {
        guard let value = request.headers[.authorization] else { return nil }
        let parts = value.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }
}

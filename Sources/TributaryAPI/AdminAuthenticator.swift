public import TributaryCore
import Foundation
import HTTPTypes
import Hummingbird
public import TributaryStore

/// Checks the `Authorization: Bearer …` header of an API request against the admin token's digest.
public final class AdminAuthenticator: Sendable {
    let store: Store
    /// The digest of `TRIBUTARY_ADMIN_TOKEN` when set; it then wins over anything stored.
    let configured: TokenDigest?

    public init(store: Store, configuredToken: String?) {
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

    /// Whether `token` is the admin token (compared as digests, in constant time); fails closed.
    public func accepts(_ token: String) async throws(StoreError) -> Bool {
        guard !token.isEmpty, let expected = try await expected() else { return false }
        return TokenDigest(of: token).matches(expected)
    }

    private func expected() async throws(StoreError) -> TokenDigest? {
        if let configured { return configured }
        // Read on every request (one keyed row): `tributary admin-token rotate`, run beside a running
        // `serve`, takes effect at its next request.
        return try await store.setting(AdminToken.settingKey).flatMap(TokenDigest.init(hex:))
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

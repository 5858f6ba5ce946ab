import Crypto
import Foundation
import Synchronization
import TributaryCore

/// The dashboard's logins, in memory: a session cookie (32 random bytes) with its CSRF token, for
/// 12 hours; and one-time login links (`POST /v1/ui/login-links`), each good once for 2 minutes.
///
/// Only digests of cookie values and link nonces are kept, so a memory dump holds no usable one.
final class DashboardSessions: Sendable {
    struct Session: Sendable {
        var csrf: String
        var expiresAt: Int64
    }

    static let lifetime: Int64 = 12 * 3_600_000_000
    static let linkLifetime: Int64 = 120_000_000
    static let maxSessions = 1000

    private let sessions = Mutex<[String: Session]>([:])
    private let links = Mutex<[String: Int64]>([:])
    let now: @Sendable () -> Int64

    init(now: @escaping @Sendable () -> Int64) {
        self.now = now
    }

    static func random() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func digest(_ value: String) -> String {
        SHA256.hash(data: Array(value.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// A new session; returns its cookie value.
    func open() -> String {
        let cookie = Self.random()
        let at = now()
        sessions.withLock { sessions in
            sessions = sessions.filter { $0.value.expiresAt > at }
            if sessions.count >= Self.maxSessions, let oldest = sessions.min(by: { $0.value.expiresAt < $1.value.expiresAt })?.key {
                sessions[oldest] = nil
            }
            sessions[Self.digest(cookie)] = Session(csrf: Self.random(), expiresAt: at + Self.lifetime)
        }
        return cookie
    }

    /// The session of `cookie`, while it lasts.
    func session(_ cookie: String?) -> Session? {
        guard let cookie, !cookie.isEmpty else { return nil }
        let at = now()
        return sessions.withLock { sessions in
            guard let session = sessions[Self.digest(cookie)], session.expiresAt > at else { return nil }
            return session
        }
    }

    func close(_ cookie: String?) {
        guard let cookie else { return }
        _ = sessions.withLock { $0.removeValue(forKey: Self.digest(cookie)) }
    }

    /// A one-time login nonce.
    func issueLink() -> (nonce: String, expiresAt: Int64) {
        let nonce = Self.random()
        let at = now()
        links.withLock { links in
            links = links.filter { $0.value > at }
            if links.count < 1000 { links[Self.digest(nonce)] = at + Self.linkLifetime }
        }
        return (nonce, at + Self.linkLifetime)
    }

    /// Whether `nonce` is a live link; it is spent either way.
    func redeem(_ nonce: String) -> Bool {
        let at = now()
        return links.withLock { links in
            guard let expires = links.removeValue(forKey: Self.digest(nonce)) else { return false }
            return expires > at
        }
    }
}

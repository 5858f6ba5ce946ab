import Foundation
public import TributaryCore

/// Where a PostgreSQL store lives: `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=MODE]`,
/// the URL form libpq and `psql` accept (`postgresql://` too), with libpq's defaults: port 5432,
/// the database named after the user, `sslmode=prefer`.
///
/// Only what Tributary honours may appear: a parameter it would ignore (a misspelt `sslmode`, a
/// `host=` for a socket) is refused, so a setting is never silently lost.
public struct PostgresLocation: Sendable, Equatable {
    /// How the connection is encrypted, as libpq's `sslmode` names it.
    public enum TLSMode: String, Sendable, CaseIterable {
        /// Never TLS (a loopback or private network the operator trusts).
        case disable
        /// TLS if the server offers it, else plain; the certificate is not verified (libpq's default).
        case prefer
        /// TLS or no connection; the certificate is not verified.
        case require
        /// TLS with the certificate verified against the system's roots and the host name.
        case verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    public var tls: TLSMode

    /// Whether `text` names a PostgreSQL database rather than a SQLite file.
    public static func isPostgres(_ text: String) -> Bool {
        let lowered = text.lowercased()
        return lowered.hasPrefix("postgres://") || lowered.hasPrefix("postgresql://")
    }

    /// Parses a `postgres://` URL.
    /// - Throws: `.configuration` with one sentence naming what is wrong (never echoing the password).
    public init(url text: String) throws(StoreError) {
        func refuse(_ why: String) -> StoreError {
            StoreError(.configuration, "database URL \(Self.redact(text)) \(why)")
        }
        guard Self.isPostgres(text) else { throw refuse("is not a postgres:// URL") }
        guard !text.unicodeScalars.contains(where: { $0.value < 0x21 || $0.value == 0x7F }) else {
            throw refuse("holds a space or control character (percent-encode it)")
        }
        guard let components = URLComponents(string: text) else { throw refuse("is not a valid URL (percent-encode reserved characters in the password)") }
        guard let host = components.host, !host.isEmpty else { throw refuse("names no host") }
        guard let user = components.user, !user.isEmpty else { throw refuse("names no user (postgres://USER:PASSWORD@HOST/DATABASE)") }
        if components.percentEncodedPath.isEmpty || components.percentEncodedPath == "/" {
            database = user
        } else {
            let path = String(components.path.dropFirst())
            guard !path.isEmpty, !path.contains("/") else { throw refuse("has a path that is not one database name") }
            database = path
        }
        if let port = components.port {
            guard (1...65535).contains(port) else { throw refuse("has port \(port), outside 1–65535") }
            self.port = port
        } else {
            guard !Self.authority(of: text).hasSuffix(":") else { throw refuse("has an empty port") }
            port = 5432
        }
        tls = .prefer
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let value = item.value, let mode = TLSMode(rawValue: value) else {
                    throw refuse("has sslmode=\(item.value ?? ""); use one of \(TLSMode.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                tls = mode
            default:
                throw refuse("has parameter \(item.name), which Tributary does not use (only sslmode)")
            }
        }
        self.host = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        self.user = user
        password = components.password
    }

    /// The URL with its password replaced by `***`, for logs and error messages.
    public var redacted: String {
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return "postgres://\(user)\(password == nil ? "" : ":***")@\(shownHost):\(port)/\(database)?sslmode=\(tls.rawValue)"
    }

    /// The host and port part: after `://` and the last `@`, up to the path or query.
    private static func authority(of text: String) -> Substring {
        guard let scheme = text.range(of: "://") else { return "" }
        let rest = text[scheme.upperBound...].prefix { $0 != "/" && $0 != "?" }
        guard let at = rest.lastIndex(of: "@") else { return rest }
        return rest[rest.index(after: at)...]
    }

    /// `text` with anything between `://` and `@` after the first `:` replaced by `***`.
    static func redact(_ text: String) -> String {
        guard let scheme = text.range(of: "://"), let at = text[scheme.upperBound...].lastIndex(of: "@") else { return text }
        let credentials = text[scheme.upperBound..<at]
        guard let colon = credentials.firstIndex(of: ":") else { return text }
        return String(text[..<colon]) + ":***" + String(text[at...])
    }
}

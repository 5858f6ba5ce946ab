import Foundation

/// A signed request made by a provider's official SDK (via `../shared/conformance`), committed as a fixture.
///
/// `Fixtures/vectors/<provider>.json`; `producedBy` names the SDK and version,
/// `payloadSource` where the body came from (attribution in `Fixtures/payloads/SOURCES.md`).
public struct Vector: Decodable, Sendable {
    public var provider: String
    public var producedBy: String
    public var payloadSource: String
    public var method: String
    public var url: String
    /// Unix seconds at which the vector was signed; tests set the engine clock from it.
    public var timestamp: Int64
    public var body: String
    public var secret: String
    public var headers: [String: String]
    public var rotated: Rotated
    public var handshakes: [Handshake]?

    public struct Rotated: Decodable, Sendable {
        public var secret: String
        public var headers: [String: String]
        /// Present where the secret lives in the body (Microsoft Graph's `clientState`).
        public var body: String?
    }

    public struct Handshake: Decodable, Sendable {
        public var name: String
        public var method: String
        public var url: String
        public var headers: [String: String]
        public var body: String
        public var expect: Expect
        public var source: String
    }

    public struct Expect: Decodable, Sendable {
        public var status: Int
        public var contentType: String?
        public var body: String
        public var headers: [String: String]?
    }

    /// The connection id the vector's URL names (`…/webhooks/<provider>/<id>`).
    public var connectionID: String { Self.pathAndQuery(url).split(separator: "?")[0].split(separator: "/").last.map(String.init) ?? "" }

    /// Path and query of an absolute URL.
    public static func pathAndQuery(_ url: String) -> String {
        guard let schemeEnd = url.range(of: "://"), let slash = url[schemeEnd.upperBound...].firstIndex(of: "/") else { return url }
        return String(url[slash...])
    }

    /// Loads the vector for `provider` from the bundled fixtures.
    public static func load(_ provider: String) throws -> Vector {
        guard let url = Bundle.module.url(forResource: provider, withExtension: "json", subdirectory: "Fixtures/vectors") else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: "Fixtures/vectors/\(provider).json"])
        }
        return try JSONDecoder().decode(Vector.self, from: Data(contentsOf: url))
    }

    /// Every provider that has a vector.
    public static var providers: [String] {
        guard let directory = Bundle.module.url(forResource: "vectors", withExtension: nil, subdirectory: "Fixtures"),
              let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return [] }
        return names.filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }.sorted()
    }
}

public import TributaryCore

extension ProviderManifest {
    /// How the provider's API is called (`api:` in the manifest).
    public struct API: Sendable, Decodable {
        public var baseURL: String
        public var auth: Auth
        public var headers: [String: String]?
        public var rateLimit: RateLimit?
        public var fetch: Fetch?

        public struct Auth: Sendable, Decodable {
            public var style: Style
            public var header: String?
            public var param: String?
            /// Where access tokens come from, for the OAuth styles.
            public var oauth: OAuth?

            public enum Style: String, Sendable, Decodable {
                case bearer, basic, header, query, none
                /// Per-customer authorization code grants, refreshed before they expire.
                case oauth2
                /// The app's client credentials buy the token (no customer grant).
                case oauth2ClientCredentials = "oauth2-client-credentials"
                /// A JWT signed with the GitHub App's key buys an installation token.
                case githubApp = "github-app"

                /// Whether access tokens are obtained and renewed by Tributary rather than given.
                public var isOAuth: Bool { self == .oauth2 || self == .oauth2ClientCredentials || self == .githubApp }
            }

            public struct OAuth: Sendable, Decodable {
                /// Under a static style only: the OAuth style a connection of an app, given no API
                /// token, uses instead (default `oauth2`).
                public var style: Style?
                public var authorizeURL: String?
                public var tokenURL: String
                public var revokeURL: String?
                public var clientAuth: ClientAuth?
                public var pkce: Bool?
                public var scopes: [String]?
                public var scopeSeparator: String?
                public var authorizeParams: [String: String]?
                public var refreshSkew: Int?
                /// JSON Pointer into the token response naming the account the customer authorized.
                public var account: String?
                /// A provider's own way of saying the grant is gone, where it does not answer
                /// `invalid_grant` (HubSpot: `/status` `BAD_REFRESH_TOKEN`).
                public var grantRefused: Deleted?

                public enum ClientAuth: String, Sendable, Decodable { case basic, body }

                /// Seconds before expiry at which a token is renewed.
                public static let defaultRefreshSkew = 300
            }
        }

        /// The API as `connection` calls it. A manifest whose style is static (a token given by hand)
        /// and which also names `auth.oauth` serves both kinds of customer: a connection given an API
        /// token sends it as the static style says; a connection of an app given none authorizes
        /// through OAuth (`auth.oauth.style`, default `oauth2`), its token sent as a Bearer token.
        public func resolved(for connection: Connection, hasToken: Bool) -> API {
            guard !auth.style.isOAuth, let oauth = auth.oauth, connection.app != nil, !hasToken else { return self }
            var resolved = self
            resolved.auth.style = oauth.style ?? .oauth2
            return resolved
        }

        public struct RateLimit: Sendable, Decodable {
            public var requests: Int
            public var per: Int
            public var burst: Int?
            public var remainingHeader: String?
            public var resetHeader: String?
            public var callLimitHeader: String?
        }

        public struct Fetch: Sendable, Decodable {
            public var path: String
            /// Path templates for record types the provider's URL names differently (`company` → `/companies/`).
            public var paths: [TypePath]?

            public struct TypePath: Sendable, Decodable {
                public var recordType: String
                public var path: String
            }

            /// The path template for `recordType`.
            public func path(for recordType: String) -> String {
                paths?.first { $0.recordType == recordType }?.path ?? path
            }
            public var state: String?
            public var version: ItemValue?
            public var deleted: Deleted?
            public var gone: [Int]?
        }
    }

    /// A value read from each item or fetched record.
    public struct ItemValue: Sendable, Decodable {
        public var pointer: String
        public var format: TimeFormat
    }

    /// A value that means something when the value at `pointer` is one of `equals`: a tombstone
    /// field (the record is deleted), or a token endpoint's refusal of the grant.
    public struct Deleted: Sendable, Decodable {
        public var pointer: String
        public var equals: [String]

        public init(pointer: String, equals: [String]) {
            self.pointer = pointer
            self.equals = equals
        }
    }

    /// Which resources are polled and how (`poll:` in the manifest).
    public struct Poll: Sendable, Decodable {
        public var resources: [Resource]
    }

    public struct Resource: Sendable, Decodable {
        public var name: String
        public var recordType: String
        public var method: String?
        public var path: String
        public var query: Query?
        public var body: String?
        public var pageSize: PageSize?
        public var items: String
        public var id: String?
        public var version: ItemValue?
        public var updatedAt: ItemValue?
        public var deleted: Deleted?
        public var state: String?
        public var events: Bool?
        public var cursor: Cursor
        public var next: Next
        public var conditional: String?
        public var interval: Int?
        public var sweep: SweepSpec?
        /// Where an item's incarnation is (a creation time): an id that comes back with a later one was
        /// reused by the provider for a new record.
        public var incarnation: ItemValue?

        /// The query parameters of each page request, in order: a map (sorted by name) or a list of
        /// `{name, value}` entries (the only way to repeat a name). Values may hold placeholders.
        public struct Query: Sendable, Decodable {
            public var entries: [Entry]

            public struct Entry: Sendable, Decodable, Equatable {
                public var name: String
                public var value: String
            }

            public init(entries: [Entry]) { self.entries = entries }

            public init(from decoder: any Decoder) throws {
                let container = try decoder.singleValueContainer()
                if let map = try? container.decode([String: String].self) {
                    entries = map.sorted { $0.key < $1.key }.map { Entry(name: $0.key, value: $0.value) }
                } else {
                    entries = try container.decode([Entry].self)
                }
            }
        }

        public struct SweepSpec: Sendable, Decodable {
            public var interval: Int?
            public var enabled: Bool?
        }

        public struct PageSize: Sendable, Decodable {
            public var param: String?
            public var value: Int
        }

        public struct Cursor: Sendable, Decodable {
            public var kind: String
            public var since: Param?
            public var afterId: Param?
            public var pageToken: Param?
            public var syncToken: Param?
            public var eventId: Param?
            public var order: String?
            public var lookback: Int?
            public var lag: Int?
            public var resultCap: Int?
            public var initial: String?
            public var expiry: [Int]?
        }

        /// A value the poller fills in: sent as the query parameter `param`, or, without one, only where
        /// a query template or the body names it.
        public struct Param: Sendable, Decodable {
            public var param: String?
            public var format: TimeFormat?
        }

        /// Offset paging: the request says how many items (or pages) to skip.
        public struct Offset: Sendable, Decodable {
            public var param: String?
            public var unit: Unit?
            /// The value of the first page (default 0 for items, 1 for pages).
            public var first: Int?

            public enum Unit: String, Sendable, Decodable { case items, pages }
        }

        public struct Next: Sendable, Decodable {
            public var link: String?
            public var token: String?
            public var hasMore: String?
            public var endOfStream: String?
            public var syncToken: String?
            public var offset: Offset?
            /// Pointer to the number of results of the whole query (offset paging).
            public var total: String?
        }
    }
}

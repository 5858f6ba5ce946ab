public import TributaryCore

/// A provider described by data: the decoded form of `Providers/<id>.yaml`.
///
/// The shape is defined by `Schemas/provider.schema.json`; ``ManifestCatalog``
/// validates a file against that schema before decoding it, so decoding here
/// only has to deal with well-formed documents. `sweep` (issue 4) is accepted by
/// the schema and ignored here.
public struct ProviderManifest: Sendable, Decodable {
    public var id: String
    public var name: String
    public var docs: String
    public var webhooks: Webhooks?
    public var api: API?
    public var poll: Poll?
    public var subscriptions: Subscriptions?

    /// How each connection's webhook subscription is made and kept through the provider's API.
    public struct Subscriptions: Sendable, Decodable {
        public var create: Call
        public var renew: Call?
        public var delete: Call?
        public var id: String
        public var expiresAt: String?
        public var secret: Secret?
        public var lifetime: Int?
        public var renewBefore: Int?
        public var lifecycle: String?
        /// Where a lifecycle notice names the subscription it is about (Graph's `/subscriptionId`).
        public var lifecycleId: String?

        public struct Call: Sendable, Decodable {
            public var method: String
            public var path: String
            public var body: String?
            public var encoding: Encoding?

            public enum Encoding: String, Sendable, Decodable {
                case json
                /// `application/x-www-form-urlencoded`, each value percent-encoded (Stripe).
                case form
            }

            public init(method: String, path: String, body: String? = nil, encoding: Encoding? = nil) {
                self.method = method
                self.path = path
                self.body = body
                self.encoding = encoding
            }
        }

        public struct Secret: Sendable, Decodable {
            public enum Source: String, Sendable, Decodable {
                /// Made by Tributary and sent as `{secret}`.
                case generate
                /// In the create call's answer, at `pointer` (Stripe).
                case response
                /// Answered by `call` once the subscription exists, at `pointer` (Zendesk).
                case fetch
            }
            public var source: Source
            public var pointer: String?
            public var call: Call?
        }

        /// Seconds requested when the manifest says none.
        public static let defaultLifetime = 86_400
    }

    public struct Webhooks: Sendable, Decodable {
        public var verification: Verification
        public var handshake: Handshake?
        public var event: EventFields
        public var records: [RecordRule]?
        /// Seconds within which the provider may send one event again (body-digest dedupe for unsigned ids).
        public var retryHorizon: Int?
        /// JSON Pointers of body fields that hold secrets, never shown by the CLI or the API.
        public var redact: [String]?
        /// Where a batched delivery's array of events is (`""`: the body is the array); each element is
        /// then read as one delivery and stored and deduplicated on its own.
        public var batch: String?

        /// Default ``retryHorizon``: three days covers Stripe's, GitHub's manual and most providers' retries.
        public static let defaultRetryHorizon = 259_200
    }

    public struct Verification: Sendable, Decodable {
        public var scheme: Scheme
        public var algorithm: Algorithm?
        public var secretEncoding: SecretEncoding?
        public var signedPayload: String?
        public var signature: Signature?
        public var timestamp: TimestampSpec?
        public var id: HeaderList?
        public var clientState: ClientState?
    }

    public enum Scheme: String, Sendable, Decodable {
        case template, twilio, square, hubspotV3 = "hubspot-v3", token, clientState = "client-state"
        /// Mailgun: the signature is an object inside the JSON body and covers its timestamp and token, not the body.
        case mailgun
        /// Postmark, Chargebee: HTTP Basic credentials compared with the secret `user:password`; nothing is signed.
        case basicAuth = "basic-auth"
    }

    public enum Algorithm: String, Sendable, Decodable {
        case hmacSHA256 = "hmac-sha256", hmacSHA1 = "hmac-sha1", ed25519
        /// ECDSA over P-256 with SHA-256 (SendGrid): the secret is the public key, DER signatures.
        case ecdsaP256 = "ecdsa-p256"
    }

    /// How a connection's secret string becomes key bytes.
    public enum SecretEncoding: String, Sendable, Decodable {
        /// The UTF-8 bytes of the secret, verbatim (Stripe keys with the whole `whsec_…` string).
        case utf8
        /// Standard Webhooks / Svix: strip `whsec_`, then base64-decode.
        case whsecBase64 = "whsec-base64"
        case hex, base64
    }

    public struct Signature: Sendable, Decodable {
        public var headers: [String]
        public var format: Format?
        public var prefix: String?
        public var separator: String?
        public var field: String?
        public var encoding: Encoding?

        public enum Format: String, Sendable, Decodable { case plain, list, fields }
        public enum Encoding: String, Sendable, Decodable { case hex, base64 }
    }

    public struct TimestampSpec: Sendable, Decodable {
        public var source: Source
        public var headers: [String]?
        public var field: String?
        public var pointer: String?
        public var unit: Unit?
        public var tolerance: Int?

        public enum Source: String, Sendable, Decodable {
            case header, signatureField = "signature-field", body
        }
        public enum Unit: String, Sendable, Decodable { case seconds, milliseconds, rfc3339 }
    }

    public struct HeaderList: Sendable, Decodable {
        public var headers: [String]
    }

    public struct ClientState: Sendable, Decodable {
        public var pointer: String
    }

    public struct Handshake: Sendable, Decodable {
        public var kind: Kind

        public enum Kind: String, Sendable, Decodable {
            case slackURLVerification = "slack-url-verification"
            case zoomURLValidation = "zoom-url-validation"
            case dropboxChallenge = "dropbox-challenge"
            case asanaHookSecret = "asana-hook-secret"
            case graphValidationToken = "graph-validation-token"
            case discordPing = "discord-ping"
            /// X (Twitter) Account Activity: GET `?crc_token=` answered with an HMAC of the token.
            case xCRC = "x-crc"
            /// Twitch EventSub: a signed `webhook_callback_verification` message answered with its challenge.
            case twitchCallbackVerification = "twitch-callback-verification"
            /// Trello: a HEAD to the callback URL, answered 200, before the webhook is created.
            case trelloHead = "trello-head"
        }
    }

    /// Where one fact about an event lives: exactly one of the fields is set (the schema enforces it).
    public struct ValueSource: Sendable, Decodable {
        public var pointer: String?
        public var headers: [String]?
        public var query: String?
        public var derive: Derivation?
        /// For ids only: what to use when the delivery lacks the id (instead of refusing it).
        public var fallback: Derivation?
        public var format: TimeFormat?

        public enum Derivation: String, Sendable, Decodable { case bodySHA256 = "body-sha256" }
    }

    public enum TimeFormat: String, Sendable, Decodable {
        case integer, unixSeconds = "unix-seconds", unixMilliseconds = "unix-milliseconds", rfc3339
    }

    public struct EventFields: Sendable, Decodable {
        public var id: ValueSource
        public var type: ValueSource?
        public var occurredAt: ValueSource?
        public var account: ValueSource?
    }

    public struct RecordRule: Sendable, Decodable {
        public var match: [String]
        public var recordType: String
        public var recordId: String
        public var version: ValueSource?
        public var deleted: Bool?
        /// A deletion told by a body field rather than by the event type (GitHub and Linear `/action`).
        public var deletedWhen: DeletedWhen?
        public var full: Bool?
        public var state: String?
    }

    public struct DeletedWhen: Sendable, Decodable {
        public var pointer: String
        public var equals: [String]
    }
}

extension ProviderManifest.TimeFormat {
    /// The precision (µs) of a time written in this format: what a provider that reads it can compare.
    public var granule: Int64 {
        switch self {
        case .unixSeconds: return 1_000_000
        case .unixMilliseconds: return 1000
        case .integer, .rfc3339: return 1
        }
    }

    /// Whether a version in this format can be shared by two different states: a time (two changes
    /// within its precision), unlike an integer revision.
    public var isTime: Bool { self != .integer }

    /// Normalises a time or version value: integers stay as they are, times become microseconds.
    /// - Returns: `nil` when the text is not a number of this format or does not fit
    ///   (``read(_:)`` says which).
    public func microseconds(_ text: String) -> Int64? {
        try? read(text).get()
    }

    /// Like ``microseconds(_:)``, with the reason when the value is refused: times must fall in
    /// years 1–9999, integers in `Int64`; nothing an outside party sends can trap here.
    public func read(_ text: String) -> Result<Int64, ExternalNumber.Invalid> {
        switch self {
        case .integer: return ExternalNumber.integer(text)
        case .unixSeconds: return ExternalNumber.scaled(text, by: 1_000_000, within: ExternalNumber.microsecondsRange)
        case .unixMilliseconds: return ExternalNumber.scaled(text, by: 1000, within: ExternalNumber.microsecondsRange)
        case .rfc3339:
            guard let micros = Timestamp.microseconds(rfc3339: text) else { return .failure(.notANumber(text)) }
            return ExternalNumber.microsecondsRange.contains(micros) ? .success(micros) : .failure(.outOfRange(text))
        }
    }
}

import Foundation

/// Where and how the simulator sends its Standard Webhooks deliveries, and how badly.
///
/// - Configuration keys:
///   - `url` (`--webhook-url`): the receiver; its host must be a loopback literal (see ``LoopbackURL``),
///     checked before anything connects.
///   - `secret` (`--webhook-secret`): `whsec_` followed by base64; the decoded bytes are the HMAC-SHA256 key.
///   - `dropRate` (`--drop`, default 0): fraction of changes never delivered.
///   - `duplicateRate` (`--duplicate`, default 0): fraction of delivered changes sent twice (same id, body and signature).
///   - `reorderWindow` (`--reorder-window`, default 1 = in order): each send picks at random among the next
///     `reorderWindow` pending deliveries, so a delivery overtakes at most `reorderWindow - 1` of its neighbours
///     per pick. Deliveries pending together are always all sent; an idle simulator never holds one back.
///   - `timeout` (default 5 s): per delivery attempt. A failed attempt is counted and not retried.
///   - `toSubscriptions` (default false): deliver to every live subscription of `/v1/subscriptions`
///     instead, each signed with its own secret, as a provider whose webhooks are made through its API
///     does. With none live a delivery goes nowhere (it is lost, as a provider's is while the
///     subscription has expired); a subscription whose URL is not a loopback literal is never called.
public struct WebhookConfiguration: Sendable {
    public var url: String
    public var secret: String
    public var dropRate: Double
    public var duplicateRate: Double
    public var reorderWindow: Int
    public var timeout: Duration
    public var toSubscriptions = false

    public init(
        url: String, secret: String, dropRate: Double = 0, duplicateRate: Double = 0, reorderWindow: Int = 1,
        timeout: Duration = .seconds(5)
    ) {
        self.url = url
        self.secret = secret
        self.dropRate = dropRate
        self.duplicateRate = duplicateRate
        self.reorderWindow = reorderWindow
        self.timeout = timeout
    }

    /// Checks the target (loopback only), the secret's form and the rates.
    public func validate() throws(SimulatorError) {
        _ = try LoopbackURL(url)
        _ = try signingKey()
        guard (0...1).contains(dropRate) else { throw .configuration("webhooks.dropRate", "must be within 0...1") }
        guard (0...1).contains(duplicateRate) else { throw .configuration("webhooks.duplicateRate", "must be within 0...1") }
        guard reorderWindow >= 1 else { throw .configuration("webhooks.reorderWindow", "must be at least 1") }
        guard timeout > .zero else { throw .configuration("webhooks.timeout", "must be positive") }
    }

    /// The HMAC key: the base64 after `whsec_`, decoded.
    func signingKey() throws(SimulatorError) -> [UInt8] {
        guard let key = Self.signingKey(secret) else {
            throw .configuration("webhooks.secret", "must be \"whsec_\" followed by base64 (the secret itself is not shown)")
        }
        return key
    }

    /// The HMAC key of a `whsec_` secret; `nil` when it is not one.
    static func signingKey(_ secret: String) -> [UInt8]? {
        guard secret.hasPrefix("whsec_"), let key = Data(base64Encoded: String(secret.dropFirst(6))), !key.isEmpty else { return nil }
        return Array(key)
    }
}

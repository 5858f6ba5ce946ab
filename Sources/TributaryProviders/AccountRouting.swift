/// Whether a verified delivery may be routed to a connection, by the account it names.
///
/// One rule for intake and for `events replay`, so that reading a quarantined delivery again after
/// a manifest fix cannot route what intake would have refused. One app secret often signs every
/// install (Slack, HubSpot, Shopify): a valid signature does not make another account's event this
/// tenant's. And it fails closed: where the manifest says where the account is, a delivery naming
/// none is not this tenant's either.
public enum AccountRouting {
    /// Why the delivery must stay quarantined instead of reaching `expected`'s tenant; `nil` when it may.
    /// - Parameters:
    ///   - expected: the connection's `--account`; `nil` accepts any delivery.
    ///   - delivered: the account the delivery names (the manifest's `event.account`).
    ///   - manifestNamesAccount: whether the manifest has an `event.account` source at all.
    public static func refusal(expected: String?, delivered: String?, manifestNamesAccount: Bool) -> String? {
        guard let expected else { return nil }
        if let delivered {
            return delivered == expected ? nil : "account \(delivered) does not match the connection's account \(expected)"
        }
        return manifestNamesAccount ? "delivery names no account; the connection's account is \(expected)" : nil
    }
}

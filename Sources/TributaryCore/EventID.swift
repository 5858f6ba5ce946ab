/// The event-id namespaces of the log, kept apart so no provider id can reach an internal one.
///
/// Why: the log dedupes on `(connection, event_id)`. Tributary derives ids of its own (`poll:…`,
/// `fetch:…`, `sweep:…`, `sha256:…` for a body digest, `quarantine:…`), and a provider that sent
/// `sweep:7:suspect:issue:1` as its id would otherwise silently suppress, or be suppressed by, an
/// internal observation. A provider id that starts like an internal one is stored with the prefix
/// `provider:`; every other provider id is stored as sent. The mapping is one-to-one, since a
/// provider id that itself starts with `provider:` is escaped too.
public enum EventID {
    /// Prefixes only Tributary writes.
    public static let reservedPrefixes = ["poll:", "fetch:", "sweep:", "sha256:", "quarantine:", "provider:"]

    /// The id a provider-given `raw` id is stored under.
    public static func provider(_ raw: String) -> String {
        reservedPrefixes.contains(where: raw.hasPrefix) ? "provider:" + raw : raw
    }

    /// The id of a verified delivery that could not be read: derived from its body, so that the
    /// provider's retries of it dedupe.
    public static func quarantined(bodySHA256 hex: String) -> String {
        "quarantine:sha256:" + hex
    }
}

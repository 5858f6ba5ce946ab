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

    /// A polled observation of a record: `poll:TYPE:ID:TAG`, where `tag` names the state seen
    /// (see `StateTag`), so a page read twice dedupes and a changed record is a new event.
    public static func polled(recordType: String, recordId: String, tag: String) -> String {
        "poll:\(recordType):\(recordId):\(tag)"
    }

    /// A fetch of a record: `fetch:TYPE:ID:TAG:RECEIVED`, or `fetch:TYPE:ID:gone:RECEIVED` when the
    /// provider said it is gone (`tag` nil). Each fetch is its own event: its arrival is in the id.
    public static func fetched(recordType: String, recordId: String, tag: String?, receivedAt: Int64) -> String {
        "fetch:\(recordType):\(recordId):\(tag ?? "gone"):\(receivedAt)"
    }

    /// The id of a verified delivery that could not be read: derived from its body, so that the
    /// provider's retries of it dedupe.
    public static func quarantined(bodySHA256 hex: String) -> String {
        "quarantine:sha256:" + hex
    }
}

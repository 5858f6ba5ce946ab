public import TributaryCore

/// How a provider document about one record is read — an item of a listed page or a fetched
/// record — by the manifest's pointers, compiled once: its id, version (else its update time),
/// deletion flag and state. Polls, sweeps and fetches all read records through this one rule, so
/// a record observed either way gets the same ref, the same state and the same derived event id.
public struct ObservationReader: Sendable {
    let id: JSONPointer?
    let version: (JSONPointer, ProviderManifest.TimeFormat)?
    let updatedAt: (JSONPointer, ProviderManifest.TimeFormat)?
    let deleted: (JSONPointer, [String])?
    /// Where the record's state is inside the document; `nil`: the whole document.
    let state: JSONPointer?
    let incarnation: (JSONPointer, ProviderManifest.TimeFormat)?

    /// What one document says of its record.
    public struct Observation: Sendable, Equatable {
        /// The record's id, when the reader has an id pointer and the document holds a value there.
        public var recordId: String?
        /// When the record last changed, if the document says.
        public var updatedAt: Int64?
        /// The record's version: the version pointer's value, else its update time.
        public var version: Int64?
        public var deleted: Bool
        /// The record's state, as compact JSON bytes.
        public var state: [UInt8]
        /// The version is a time (read from a time field, or the update time itself): two changes within
        /// its precision share it, so only the content tells them apart.
        public var coarseVersion: Bool = false
        /// Which record under the id (a creation time), when the manifest says where it is.
        public var incarnation: Int64?

        /// The record ref of this observation as `recordType`: full state, always.
        public func record(_ recordType: String, id: String) -> RecordRef {
            RecordRef(recordType: recordType, recordId: id, version: version, deleted: deleted, fullState: true, incarnation: incarnation)
        }

        /// What tells this observation's state apart: its version, else a digest of its state; a version
        /// that is a time carries the digest too, so a second change within the same second is a new
        /// event rather than a duplicate of the first.
        public var tag: String {
            // A reused id starts its versions again: the incarnation keeps the new record's ids apart.
            let prefix = incarnation.map { "i\($0)." } ?? ""
            guard coarseVersion, let version else { return prefix + StateTag.of(version: version, state: state) }
            return prefix + String(version) + "." + StateTag.of(version: nil, state: state)
        }
    }

    init(
        id: JSONPointer?, version: (JSONPointer, ProviderManifest.TimeFormat)?, updatedAt: (JSONPointer, ProviderManifest.TimeFormat)?,
        deleted: (JSONPointer, [String])?, state: JSONPointer?, incarnation: (JSONPointer, ProviderManifest.TimeFormat)? = nil
    ) {
        self.incarnation = incarnation
        self.id = id
        self.version = version
        self.updatedAt = updatedAt
        self.deleted = deleted
        self.state = state
    }

    /// Reads `document` (a value the manifest's pointers cannot find is absent, never a guess).
    public func read(_ document: JSONValue) -> Observation {
        let updated = updatedAt.flatMap { pointer, format in pointer.resolve(in: document)?.stringValue.flatMap(format.microseconds) }
        let version = version.flatMap { pointer, format in pointer.resolve(in: document)?.stringValue.flatMap(format.microseconds) }
        return Observation(
            recordId: id.flatMap { $0.resolve(in: document)?.stringValue },
            updatedAt: updated,
            version: version ?? updated,
            deleted: deleted.map { pointer, values in pointer.resolve(in: document)?.stringValue.map(values.contains) ?? false } ?? false,
            state: Array((state.flatMap { $0.resolve(in: document) } ?? document).jsonText.utf8),
            coarseVersion: version == nil ? updated != nil : self.version?.1.isTime == true,
            incarnation: incarnation.flatMap { pointer, format in pointer.resolve(in: document)?.stringValue.flatMap(format.microseconds) }
        )
    }
}

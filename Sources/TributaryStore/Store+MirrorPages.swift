public import TributaryCore
import GRDB

/// Where a record sits in the mirror's stable order: (connection, record type, record id).
public struct MirrorKey: Sendable, Hashable {
    public var connection: String
    public var recordType: String
    public var recordId: String

    public init(connection: String, recordType: String, recordId: String) {
        self.connection = connection
        self.recordType = recordType
        self.recordId = recordId
    }
}

/// One write to the mirror as a follower sees it: the record as it is now and its place in commit order.
public struct MirrorChange: Sendable, Equatable {
    /// The record's `change_seq`: every mirror write gives the record the next number, so it only grows.
    public var change: Int64
    public var record: MirrorRecord
}

extension MirrorRecord {
    /// The record's position in the stable order (the keyset cursor of a listing).
    public var key: MirrorKey { MirrorKey(connection: connection, recordType: recordType, recordId: recordId) }
}

extension Store {
    /// One page of the mirror in the stable order (connection, record type, record id), after `after`.
    ///
    /// Keyset pagination on the primary key: a page costs the same however deep it is, and a record
    /// written between two pages is neither seen twice nor skipped unless its key is behind the cursor.
    /// - Parameters:
    ///   - connection: only this connection (`.notFound` when it names none); `nil` for every connection.
    ///   - updatedAfter: only records the mirror changed after this time (microseconds since the epoch).
    ///   - after: the key of the last record of the previous page; `nil` for the first page.
    public func recordsPage(
        connection: String? = nil, type: String? = nil, updatedAfter: Int64? = nil, after: MirrorKey? = nil, limit: Int
    ) async throws(StoreError) -> [MirrorRecord] {
        try await readValue { db in
            try Self.requireConnection(connection, db: db)
            return try Row.fetchAll(db, sql: """
                SELECT * FROM records
                WHERE (?1 IS NULL OR connection = ?1) AND (?2 IS NULL OR record_type = ?2) AND (?3 IS NULL OR updated_at > ?3)
                  AND (?4 IS NULL OR (connection, record_type, record_id) > (?4, ?5, ?6))
                ORDER BY connection, record_type, record_id LIMIT ?7
                """, arguments: [connection, type, updatedAfter, after?.connection, after?.recordType, after?.recordId, limit])
                .map(Self.record)
        }
    }

    /// Records whose latest mirror write is after change `after`, in commit order.
    ///
    /// A record written several times appears once, at its latest change: a follower that applies
    /// these in order ends up with the mirror's current state.
    public func changes(after: Int64, limit: Int) async throws(StoreError) -> [MirrorChange] {
        try await readValue { db in
            try Row.fetchAll(db, sql: "SELECT * FROM records WHERE change_seq > ? ORDER BY change_seq LIMIT ?", arguments: [after, limit])
                .map { row in MirrorChange(change: row["change_seq"], record: Self.record(row)) }
        }
    }
}

/// The read side of the state: one method per cursor style, each a pure function of the state and its arguments.
extension SimulatorState {
    /// A page of records and whether the listing goes on.
    struct Page: Sendable {
        var records: [SimulatorRecord]
        var hasMore: Bool
    }

    /// What a sync-token page carries besides its records: exactly one of the two tokens.
    struct DeltaPage: Sendable {
        var records: [SimulatorRecord]
        var nextPageToken: String?
        var syncToken: String?
    }

    enum DeltaProblem: Error, Equatable {
        case expired
        case invalid
    }

    /// Every record, tombstones included, sorted by type then id: the ground truth.
    var allRecords: [SimulatorRecord] {
        types.sorted().flatMap { type in
            let table = tables[type]!
            return table.ids.map { table.records[$0]! }
        }
    }

    /// Timestamp + keyset style: records with `(updated_at, id) > (since, afterID)`, or `updated_at >= since`
    /// without `afterID`, ascending by `(updated_at, id)`.
    ///
    /// A continuation (one with `afterID`) first repeats the `repeatCount` records just before the cursor
    /// (chaos), capped so the page still holds at least one new record.
    func timestampPage(type: String, since: Int64, afterID: String?, limit: Int, repeatCount: Int) -> Page {
        let keys = tables[type]!.byUpdate
        let start: Int
        if let afterID {
            let cursor = UpdateKey(updatedAt: since, id: afterID)
            start = keys.lowerBound { $0 <= cursor }
        } else {
            start = keys.lowerBound { $0.updatedAt < since }
        }
        let repeated = afterID == nil ? 0 : min(repeatCount, start, limit - 1)
        let end = min(keys.count, start + limit - repeated)
        let records = tables[type]!.records
        return Page(records: keys[(start - repeated)..<end].map { records[$0.id]! }, hasMore: end < keys.count)
    }

    /// Offset style (Redmine, Jira, many admin APIs): records with `updated_at >= since`, ascending by
    /// `(updated_at, id)`, skipping `offset` of them; `total` is how many match the filter.
    func offsetPage(type: String, since: Int64, offset: Int, limit: Int) -> (records: [SimulatorRecord], total: Int) {
        let keys = tables[type]!.byUpdate
        let start = keys.lowerBound { $0.updatedAt < since }
        let total = keys.count - start
        let from = start + min(offset, total)
        let end = min(keys.count, from + limit)
        let records = tables[type]!.records
        return (keys[from..<end].map { records[$0.id]! }, total)
    }

    /// Page-token style: records by id after `afterID`, tombstones only when asked for; a continuation
    /// repeats the `repeatCount` listed records at or before the cursor first (chaos), as ``timestampPage`` does.
    func idPage(type: String, afterID: String?, includeDeleted: Bool, limit: Int, repeatCount: Int) -> Page {
        let table = tables[type]!
        let visible = { (id: String) in includeDeleted || !table.records[id]!.deleted }
        let start = afterID.map { cursor in table.ids.lowerBound { $0 <= cursor } } ?? 0
        var repeated: [SimulatorRecord] = []
        if afterID != nil {
            var index = start - 1
            while index >= 0, repeated.count < min(repeatCount, limit - 1) {
                if visible(table.ids[index]) { repeated.append(table.records[table.ids[index]]!) }
                index -= 1
            }
        }
        var records = Array(repeated.reversed())
        var index = start
        while index < table.ids.count, records.count < limit {
            if visible(table.ids[index]) { records.append(table.records[table.ids[index]]!) }
            index += 1
        }
        let hasMore = table.ids[index...].contains(where: visible)
        return Page(records: records, hasMore: hasMore)
    }

    /// Sync-token style, Graph-delta-like.
    ///
    /// Without a token: every live record, by id, in pages. With a sync token: every record whose
    /// latest change came after it (tombstones included, current version only). The last page of either
    /// hands out a sync token for the change counter as it was when the answer began, so a change made
    /// while the client pages is reported again next time rather than lost.
    ///
    /// - Important: a sync token expires when older than `lifetimeSeconds` of simulator time or when more
    ///   than `maxChanges` changes (of any type) were made since it; page tokens do not expire.
    func deltaPage(
        type: String, syncToken: String?, pageToken: String?, limit: Int, now: Int64, lifetimeSeconds: Int64?, maxChanges: Int64?
    ) -> Result<DeltaPage, DeltaProblem> {
        let full: Bool
        let fromSeq: Int64
        let headSeq: Int64
        let afterID: String
        if let pageToken {
            guard case .delta(let tokenType, let f, let from, let head, let after)? = CursorToken(text: pageToken), tokenType == type,
                  head <= changeSeq else { return .failure(.invalid) }
            (full, fromSeq, headSeq, afterID) = (f, from, head, after)
        } else if let syncToken {
            guard case .sync(let tokenType, let seq, let issuedAt)? = CursorToken(text: syncToken), tokenType == type, seq <= changeSeq else {
                return .failure(.invalid)
            }
            if let lifetimeSeconds, now - issuedAt > lifetimeSeconds * 1_000_000 { return .failure(.expired) }
            if let maxChanges, changeSeq - seq > maxChanges { return .failure(.expired) }
            (full, fromSeq, headSeq, afterID) = (false, seq, changeSeq, "")
        } else {
            (full, fromSeq, headSeq, afterID) = (true, 0, changeSeq, "")
        }
        let table = tables[type]!
        let matches = { (record: SimulatorRecord) in full ? !record.deleted : record.changeSeq > fromSeq }
        var records: [SimulatorRecord] = []
        var index = table.ids.lowerBound { $0 <= afterID }
        var hasMore = false
        while index < table.ids.count {
            let record = table.records[table.ids[index]]!
            index += 1
            guard matches(record) else { continue }
            if records.count == limit {
                hasMore = true
                break
            }
            records.append(record)
        }
        if hasMore, let last = records.last {
            let next = CursorToken.delta(type: type, full: full, fromSeq: fromSeq, headSeq: headSeq, afterID: last.id)
            return .success(DeltaPage(records: records, nextPageToken: next.text, syncToken: nil))
        }
        let sync = CursorToken.sync(type: type, seq: headSeq, issuedAt: now)
        return .success(DeltaPage(records: records, nextPageToken: nil, syncToken: sync.text))
    }
}

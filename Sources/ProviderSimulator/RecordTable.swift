/// The records of one type, indexed for each way they are listed.
///
/// Tombstones are never removed, so `ids` only grows; `byUpdate` is re-sorted one entry
/// at a time as records change (a change always lands near the end); `live` is the
/// pool updates and deletions draw from, kept in an order that depends only on the
/// sequence of changes so that draws replay.
struct RecordTable: Sendable {
    let type: String
    let prefix: String
    private(set) var records: [String: SimulatorRecord] = [:]
    /// Every id, ascending.
    private(set) var ids: [String] = []
    /// Every record's `(updated_at, id)`, ascending.
    private(set) var byUpdate: [UpdateKey] = []
    /// Ids of records not deleted, in draw order.
    private(set) var live: [String] = []
    private var liveIndex: [String: Int] = [:]
    private var nextNumber = 1
    /// Whether a deleted record stays in the timestamp list as a tombstone (`false`: it vanishes, a hard delete).
    let listsTombstones: Bool

    init(type: String, listsTombstones: Bool = true) {
        self.type = type
        self.listsTombstones = listsTombstones
        prefix = SimulatorConfiguration.idPrefix(for: type)
    }

    /// The id the next created record gets: `cus_000123`.
    mutating func takeNextID() -> String {
        let digits = String(nextNumber)
        nextNumber += 1
        return prefix + "_" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }

    /// Stores `record` as the latest version of its id, keeping every index in order.
    mutating func put(_ record: SimulatorRecord) {
        if let old = records[record.id] {
            let oldKey = old.updateKey
            let at = byUpdate.lowerBound { $0 < oldKey }
            if at < byUpdate.count, byUpdate[at] == oldKey { byUpdate.remove(at: at) }
            if record.deleted, !old.deleted, let index = liveIndex.removeValue(forKey: record.id) {
                let lastID = live.removeLast()
                if index < live.count {
                    live[index] = lastID
                    liveIndex[lastID] = index
                }
            }
        } else {
            let at = ids.lowerBound { $0 < record.id }
            ids.insert(record.id, at: at)
            if !record.deleted {
                liveIndex[record.id] = live.count
                live.append(record.id)
            }
        }
        let key = record.updateKey
        if listsTombstones || !record.deleted { byUpdate.insert(key, at: byUpdate.lowerBound { $0 < key }) }
        records[record.id] = record
    }
}

extension Array {
    /// The first index whose element is not `isBefore` (binary search; the array must be partitioned by it).
    func lowerBound(where isBefore: (Element) -> Bool) -> Int {
        var low = 0
        var high = count
        while low < high {
            let mid = (low + high) / 2
            if isBefore(self[mid]) { low = mid + 1 } else { high = mid }
        }
        return low
    }
}

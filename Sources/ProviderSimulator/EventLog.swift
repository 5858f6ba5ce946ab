/// The Stripe-like event feed: one event per change, numbered without gaps, pruned by age and count.
///
/// Event `n` has id `evt_` + `n` zero-padded to six digits.
struct EventLog: Sendable {
    struct Event: Sendable {
        let seq: Int64
        /// `customer.created`, `customer.updated`, `customer.deleted`.
        let type: String
        /// Microseconds since the epoch.
        let createdAt: Int64
        /// The record as it was right after the change.
        let recordText: String

        var id: String { EventLog.id(seq) }

        /// `{"id":"evt_…","object":"event","type":…,"created":<unix s>,"data":{"object":{record}}}`.
        var jsonText: String {
            #"{"id":"\#(id)","object":"event","type":"\#(type)","created":\#(createdAt.floorDivided(by: 1_000_000)),"data":{"object":\#(recordText)}}"#
        }
    }

    /// Why a `starting_after` cannot be served.
    enum CursorProblem: Error, Equatable {
        /// Events after the cursor were already pruned: the client has lost events and must resync.
        case expired
        /// Not an event id, or one never issued.
        case unknown
    }

    /// Retained events are `storage[head...]`; pruned ones before `head` are compacted away in bulk,
    /// so that pruning one event per change does not move the whole array each time.
    private var storage: [Event] = []
    private var head = 0
    /// The sequence number of the oldest retained event (or of the next event, when none is retained).
    private(set) var firstSeq: Int64 = 1
    let retentionMicros: Int64
    let maxRetained: Int

    init(retentionSeconds: Int64, maxRetained: Int) {
        retentionMicros = retentionSeconds * 1_000_000
        self.maxRetained = maxRetained
    }

    var retainedCount: Int { storage.count - head }
    var nextSeq: Int64 { firstSeq + Int64(retainedCount) }

    static func id(_ seq: Int64) -> String {
        let digits = String(seq)
        return "evt_" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }

    static func seq(_ id: String) -> Int64? {
        guard id.hasPrefix("evt_"), let value = Int64(id.dropFirst(4)), value >= 0 else { return nil }
        return value
    }

    /// Appends an event and returns its id.
    mutating func append(type: String, createdAt: Int64, recordText: String) -> String {
        let event = Event(seq: nextSeq, type: type, createdAt: createdAt, recordText: recordText)
        storage.append(event)
        if retainedCount > maxRetained { drop(retainedCount - maxRetained) }
        return event.id
    }

    /// Forgets events older than the retention window at `now` (events are in time order).
    mutating func prune(now: Int64) {
        let cutoff = now - retentionMicros
        var stale = 0
        while head + stale < storage.count, storage[head + stale].createdAt < cutoff { stale += 1 }
        if stale > 0 { drop(stale) }
    }

    private mutating func drop(_ count: Int) {
        head += count
        firstSeq += Int64(count)
        if head >= 1024, head * 2 >= storage.count {
            storage.removeFirst(head)
            head = 0
        }
    }

    /// Up to `limit` events after `startingAfter` (from the oldest retained when `nil`), and whether more follow.
    func page(startingAfter: String?, limit: Int) -> Result<(events: ArraySlice<Event>, hasMore: Bool), CursorProblem> {
        var start = head
        if let startingAfter {
            guard let seq = Self.seq(startingAfter), seq < nextSeq else { return .failure(.unknown) }
            guard seq >= firstSeq - 1 else { return .failure(.expired) }
            start = head + Int(seq - firstSeq + 1)
        }
        let end = min(storage.count, start + limit)
        return .success((storage[start..<end], end < storage.count))
    }
}

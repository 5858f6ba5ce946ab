import TributaryCore

/// The provider's data and its change machinery, as a plain value.
///
/// Every method takes the time it acts at, so the whole state machine runs — and is
/// tested — without a clock or I/O; ``ProviderSimulator`` wraps one in a mutex and feeds
/// it its clock. Changes are stamped with `max(now, last change time)`: records' order
/// of change never contradicts their `updated_at`, even if an injected clock steps back.
struct SimulatorState: Sendable {
    struct Totals: Sendable, Equatable {
        var created = 0
        var updated = 0
        var deleted = 0
    }

    let granularity: SimulatorConfiguration.Granularity
    let types: [String]
    let weights: SimulatorConfiguration.MutationWeights
    private(set) var tables: [String: RecordTable]
    /// The global change counter: every create, update and delete takes the next number.
    private(set) var changeSeq: Int64 = 0
    private(set) var events: EventLog
    private(set) var totals = Totals()
    private var random: SplitMix64
    private var lastChangeAt = Int64.min
    /// Whether changes are queued for webhook delivery.
    private(set) var queuesWebhooks: Bool
    private(set) var outbox: [WebhookMessage] = []
    /// Deliveries discarded because nobody drained the outbox in time.
    private(set) var outboxOverflow = 0
    static let outboxCapacity = 100_000

    /// Creates `initialRecordsPerType` records of each type, spaced 250 ms apart and ending at `now`,
    /// so that several share each whole second. They have events but no webhooks: they predate the subscription.
    init(configuration: SimulatorConfiguration, random: SplitMix64, now: Int64) {
        granularity = configuration.granularity
        types = configuration.types
        weights = configuration.mutationWeights
        tables = Dictionary(uniqueKeysWithValues: configuration.types.map {
            ($0, RecordTable(type: $0, listsTombstones: !configuration.hardDeletes))
        })
        events = EventLog(retentionSeconds: configuration.eventRetentionSeconds, maxRetained: configuration.maxRetainedEvents)
        self.random = random
        queuesWebhooks = false
        let count = configuration.initialRecordsPerType
        for index in 0..<count {
            let at = now - Int64(count - 1 - index) * 250_000
            for type in types { _ = create(type: type, now: at) }
        }
        self.queuesWebhooks = configuration.webhooks != nil
        events.prune(now: now)
    }

    // MARK: Changes

    /// Applies one generated change: a type uniformly, then create/update/delete by weight
    /// (a create when the type has no live record to update or delete).
    mutating func mutateRandomly(now: Int64) -> SimulatorChange {
        let type = types[random.next(below: types.count)]
        let total = weights.create + weights.update + weights.delete
        let roll = random.next(below: total)
        // Only the count is kept across `create`: holding the array itself would make every append copy it.
        let liveCount = tables[type]!.live.count
        if roll < weights.create || liveCount == 0 {
            return create(type: type, now: now)
        }
        let id = tables[type]!.live[random.next(below: liveCount)]
        let record = tables[type]!.records[id]!
        return roll < weights.create + weights.update ? applyUpdate(record, now: now) : applyDelete(record, now: now)
    }

    mutating func create(type: String, now: Int64) -> SimulatorChange {
        let id = tables[type]!.takeNextID()
        let customer = tables["customer"].flatMap { $0.live.isEmpty ? nil : $0.live[random.next(below: $0.live.count)] }
        let number = Int(id.drop { $0 != "_" }.dropFirst()) ?? 0
        let data = RecordFactory.newData(type: type, number: number, customerID: customer, random: &random)
        return commit(.created, type: type, id: id, version: 1, deleted: false, data: data, now: now)
    }

    mutating func update(type: String, id: String, now: Int64) throws(SimulatorError) -> SimulatorChange {
        applyUpdate(try liveRecord(type: type, id: id), now: now)
    }

    mutating func delete(type: String, id: String, now: Int64) throws(SimulatorError) -> SimulatorChange {
        applyDelete(try liveRecord(type: type, id: id), now: now)
    }

    private mutating func applyUpdate(_ old: SimulatorRecord, now: Int64) -> SimulatorChange {
        let data = RecordFactory.updatedData(type: old.type, data: old.data, random: &random)
        return commit(.updated, type: old.type, id: old.id, version: old.version + 1, deleted: false, data: data, now: now)
    }

    private mutating func applyDelete(_ old: SimulatorRecord, now: Int64) -> SimulatorChange {
        commit(.deleted, type: old.type, id: old.id, version: old.version + 1, deleted: true, data: old.data, now: now)
    }

    private func liveRecord(type: String, id: String) throws(SimulatorError) -> SimulatorRecord {
        guard let table = tables[type] else { throw SimulatorError(.unknownType, "no record type \"\(type)\"") }
        guard let record = table.records[id], !record.deleted else {
            throw SimulatorError(.unknownRecord, "no live \(type) \"\(id)\"")
        }
        return record
    }

    private mutating func commit(
        _ kind: SimulatorChange.Kind, type: String, id: String, version: Int, deleted: Bool, data: JSONValue, now: Int64
    ) -> SimulatorChange {
        let at = max(now, lastChangeAt)
        lastChangeAt = at
        changeSeq += 1
        let record = SimulatorRecord(
            id: id, type: type, version: version, updatedAt: granularity.truncate(at), deleted: deleted, data: data,
            changeSeq: changeSeq, granularity: granularity
        )
        tables[type]!.put(record)
        let eventType = type + "." + kind.rawValue
        events.prune(now: at)
        let eventID = events.append(type: eventType, createdAt: at, recordText: record.jsonText)
        switch kind {
        case .created: totals.created += 1
        case .updated: totals.updated += 1
        case .deleted: totals.deleted += 1
        }
        if queuesWebhooks {
            if outbox.count >= Self.outboxCapacity {
                outbox.removeFirst()
                outboxOverflow += 1
            }
            outbox.append(WebhookMessage(
                id: eventID, type: eventType, timestamp: SimulatorTime.rfc3339(record.updatedAt, granularity: granularity),
                recordText: record.jsonText
            ))
        }
        return SimulatorChange(kind: kind, record: record, eventID: eventID)
    }

    /// Hands the queued webhook messages over, oldest first.
    mutating func takeOutbox() -> [WebhookMessage] {
        defer { outbox.removeAll(keepingCapacity: true) }
        return outbox
    }

    mutating func pruneEvents(now: Int64) {
        events.prune(now: max(now, lastChangeAt))
    }
}

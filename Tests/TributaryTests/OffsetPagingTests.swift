import Foundation
import Testing
import TributaryCore

/// Offset paging in the cursor machine, against a provider modelled as Redmine serves `/issues.json`:
/// items with `updated_on >= since` (compared at the since parameter's precision), ascending by time
/// then id, skipping `offset`, with the filter's `total_count`.
@Suite("Offset paging")
struct OffsetPagingTests {
    static let second: Int64 = 1_000_000
    static let t: Int64 = 1_795_000_000 * second

    /// One page of `records` for `request`, the way an offset API answers.
    static func offsetPage(_ records: [(Int64, String)], _ request: PageRequest, limit: Int, granule: Int64, first: Int = 0, total: Bool = true) -> PageOutcome {
        let sorted = records.sorted { ($0.0, $0.1) < ($1.0, $1.1) }
        let bound = request.since.map { $0.floorDiv(granule) * granule }
        let matching = sorted.filter { bound == nil || $0.0 >= bound! }
        let skip = (request.offset ?? first) - first
        let page = Array(matching.dropFirst(skip).prefix(limit))
        return PageOutcome(
            items: page.map { PageItem(id: $0.1, updatedAt: $0.0) }, hasMore: page.count >= limit,
            elementCount: page.count, total: total ? matching.count : nil
        )
    }

    /// Runs one poll to its end; returns the cursor, every id read and the anomalies.
    static func run(
        _ machine: CursorMachine, _ start: PollCursor, records: @autoclosure () -> [(Int64, String)], now: Int64, total: Bool = true,
        between: (Int) -> Void = { _ in }
    ) -> (cursor: PollCursor, seen: [String], anomalies: [CursorAnomaly], pages: Int) {
        var cursor = machine.begin(start, now: now)
        var seen: [String] = []
        var anomalies: [CursorAnomaly] = []
        for pages in 1...1000 {
            let page = offsetPage(records(), machine.request(cursor), limit: machine.pageSize, granule: machine.granule, first: machine.offset?.first ?? 0, total: total)
            seen += page.items.map(\.id)
            let step = machine.advance(cursor, page: page)
            cursor = step.cursor
            anomalies += step.anomalies
            if step.done { return (cursor, seen, anomalies, pages) }
            between(pages)
        }
        Issue.record("the run did not end in 1000 pages")
        return (cursor, seen, anomalies, 1000)
    }

    static func timestampMachine(pageSize: Int = 10, granule: Int64 = second, lookback: Int64 = 0) -> CursorMachine {
        CursorMachine(kind: .timestamp, lookback: lookback, pageSize: pageSize, offset: .init(), granule: granule)
    }

    @Test("a clustered second three pages long pages through: every record once, no loop, the watermark at the cluster", arguments: [true, false])
    func clusteredSecond(total: Bool) {
        // 27 records share one second (Redmine's updated_on), then 3 later ones; pages of 10.
        let records = (0..<27).map { (Self.t, String(format: "i%03d", $0)) } + (1...3).map { (Self.t + Int64($0) * Self.second, "later\($0)") }
        let machine = Self.timestampMachine()
        let run = Self.run(machine, PollCursor(), records: records, now: Self.t + 60 * Self.second, total: total)
        #expect(run.seen.count == records.count && Set(run.seen).count == records.count, "each record once: \(run.seen)")
        #expect(run.anomalies.isEmpty, "\(run.anomalies)")
        #expect(run.cursor.watermark == Self.t + 3 * Self.second)
        #expect(run.cursor.run == nil)
        // With a total the third page ends the run; without one, the empty page after it does.
        #expect(run.pages == (total ? 3 : 4), "pages: \(run.pages)")
        // The next run, from the watermark, reads only the last second again and ends.
        let next = Self.run(machine, run.cursor, records: records, now: Self.t + 61 * Self.second, total: total)
        #expect(next.seen == ["later3"])
        #expect(next.cursor.watermark == run.cursor.watermark)
    }

    @Test("a whole second larger than the page size, with nothing after it, ends without a loop")
    func onlyOneClusteredSecond() {
        let records = (0..<35).map { (Self.t, String(format: "c%03d", $0)) }
        let run = Self.run(Self.timestampMachine(), PollCursor(), records: records, now: Self.t + 60 * Self.second)
        #expect(Set(run.seen).count == 35 && run.seen.count == 35)
        #expect(!run.anomalies.contains(.noProgress) && !run.anomalies.contains(.pageOfOneTimestamp))
        #expect(run.cursor.watermark == Self.t)
    }

    @Test("each query starts at the latest time read: a record that moves out of an earlier second skips nothing")
    func movesBeforeThePositionSkipNothing() {
        // Seconds t..t+4, 5 records each; pages of 4. After page 2 the first record is updated to t+9.
        var records = (0..<25).map { (Self.t + Int64($0 / 5) * Self.second, String(format: "r%02d", $0)) }
        let box = RecordsBox(records)
        let run = Self.run(Self.timestampMachine(pageSize: 4), PollCursor(), records: box.records, now: Self.t + 60 * Self.second) { pages in
            if pages == 2 { box.records[0].0 = Self.t + 9 * Self.second }
        }
        records = box.records
        #expect(Set(run.seen) == Set(records.map(\.1)), "missing: \(Set(records.map(\.1)).subtracting(run.seen).sorted())")
    }

    @Test("an item behind the query's position is reported, not counted")
    func outOfOrderItems() {
        let machine = Self.timestampMachine(pageSize: 3)
        var cursor = machine.begin(PollCursor(), now: Self.t + 60 * Self.second)
        let page = PageOutcome(items: [
            PageItem(id: "a", updatedAt: Self.t + 5 * Self.second), PageItem(id: "b", updatedAt: Self.t + 2 * Self.second),
            PageItem(id: "c", updatedAt: Self.t + 5 * Self.second),
        ], hasMore: true, elementCount: 3)
        let step = machine.advance(cursor, page: page)
        cursor = step.cursor
        #expect(step.anomalies == [.itemsBehindCursor(count: 1)])
        #expect(cursor.run?.position == Self.t + 5 * Self.second && cursor.run?.offset == 2)
        #expect(machine.request(cursor) == PageRequest(since: Self.t + 5 * Self.second, offset: 2))
    }

    @Test("the since parameter's precision is the cluster: milliseconds written in Unix seconds group by the second")
    func granuleFromTheFormat() {
        // Three records within one second but different milliseconds; the provider compares whole seconds.
        let records = [(Self.t + 100_000, "x"), (Self.t + 200_000, "y"), (Self.t + 300_000, "z"), (Self.t + 2 * Self.second, "w")]
        let run = Self.run(Self.timestampMachine(pageSize: 2), PollCursor(), records: records, now: Self.t + 60 * Self.second)
        #expect(run.seen.sorted() == ["w", "x", "y", "z"] && run.seen.count == 4, "\(run.seen)")
    }

    @Test("elements without an id hold their places: the offset counts them")
    func elementsWithoutIds() {
        let machine = Self.timestampMachine(pageSize: 3)
        let cursor = machine.begin(PollCursor(), now: Self.t + 60 * Self.second)
        let page = PageOutcome(items: [PageItem(id: "a", updatedAt: Self.t), PageItem(id: "b", updatedAt: Self.t)], hasMore: true, elementCount: 3)
        let step = machine.advance(cursor, page: page)
        #expect(step.cursor.run?.offset == 3)
    }

    @Test("the horizon ends an offset run like a keyset one: later items are logged, the watermark stays behind")
    func horizon() {
        let now = Self.t + 10 * Self.second
        let machine = CursorMachine(kind: .timestamp, lag: 5 * Self.second, pageSize: 2, offset: .init(), granule: Self.second)
        let records = (0..<8).map { (Self.t + Int64($0) * 2 * Self.second, "r\($0)") }
        let run = Self.run(machine, PollCursor(), records: records, now: now)
        #expect(run.cursor.watermark == Self.t + 4 * Self.second)
        #expect(run.seen.count < records.count, "the run stopped at the horizon: \(run.seen)")
    }

    @Test("a corrupted cursor row with offsets at the ends of Int neither traps nor loops", arguments: [Int.max, Int.min, -1])
    func corruptedOffsets(offset: Int) {
        for machine in [Self.timestampMachine(), CursorMachine(kind: .pageToken, pageSize: 10, offset: .init(pages: true, first: 1))] {
            var cursor = machine.begin(PollCursor(), now: Self.t)
            cursor.run?.offset = offset
            cursor.run?.position = .min
            _ = machine.request(cursor)
            let page = PageOutcome(items: [PageItem(id: "a", updatedAt: Self.t)], hasMore: true, elementCount: Int.max, total: Int.max)
            let step = machine.advance(cursor, page: page)
            _ = machine.request(step.cursor)
        }
    }

    @Test("page-token listings by offset or page number: total, short page and empty page each end the run", arguments: [
        // (pages?, first, records, limit, total reported)
        (false, 0, 25, 10, true), (false, 0, 25, 10, false), (false, 0, 20, 10, false), (false, 0, 20, 10, true),
        (true, 1, 25, 10, true), (true, 1, 30, 10, false), (true, 0, 7, 10, false), (false, 1, 0, 10, true),
    ])
    func enumeration(pages: Bool, first: Int, count: Int, limit: Int, total: Bool) {
        let machine = CursorMachine(kind: .pageToken, pageSize: limit, offset: .init(pages: pages, first: first))
        let records = (0..<count).map { (Self.t, String(format: "e%03d", $0)) }
        var cursor = machine.begin(PollCursor(), now: Self.t)
        var seen: [String] = []
        var requests: [Int] = []
        for _ in 0..<100 {
            let request = machine.request(cursor)
            requests.append(request.offset ?? -1)
            let skip = pages ? ((request.offset ?? first) - first) * limit : (request.offset ?? first) - first
            let slice = Array(records.dropFirst(skip).prefix(limit))
            let page = PageOutcome(items: slice.map { PageItem(id: $0.1, updatedAt: nil) }, hasMore: slice.count >= limit, elementCount: slice.count, total: total ? count : nil)
            seen += page.items.map(\.id)
            let step = machine.advance(cursor, page: page)
            cursor = step.cursor
            if step.done { break }
        }
        #expect(seen == records.map(\.1), "requests \(requests)")
        #expect(cursor.run == nil)
        let expected = pages ? Array(first..<(first + requests.count)) : requests.indices.map { first + $0 * limit }
        #expect(requests == expected)
        // A full last page ends by the total when there is one, else by the empty page after it.
        let full = count % limit == 0
        #expect(requests.count == (count + limit - 1) / limit + (full && !total ? 1 : 0) + (count == 0 ? 1 : 0))
    }
}

/// The provider's records, changed by the test between two pages.
final class RecordsBox {
    var records: [(Int64, String)]
    init(_ records: [(Int64, String)]) { self.records = records }
}

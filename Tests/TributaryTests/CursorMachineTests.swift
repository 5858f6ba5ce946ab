import Testing
import TributaryCore

/// The cursor state machine as a pure value: pages in, cursor out, clock passed in.
@Suite("Cursor machine")
struct CursorMachineTests {
    static let second: Int64 = 1_000_000

    /// A provider's `(updated_at, id)` keyset list over `records`, as the simulator serves it.
    static func keysetPage(_ records: [(Int64, String)], since: Int64?, afterId: String?, limit: Int) -> PageOutcome {
        let sorted = records.sorted { ($0.0, $0.1) < ($1.0, $1.1) }
        let after = sorted.filter { record in
            guard let since else { return true }
            if let afterId { return (record.0, record.1) > (since, afterId) }
            return record.0 >= since
        }
        let page = Array(after.prefix(limit))
        return PageOutcome(items: page.map { PageItem(id: $0.1, updatedAt: $0.0) }, hasMore: after.count > limit)
    }

    /// Runs one poll to the end against `records`; returns the cursor and every id seen.
    static func run(_ machine: CursorMachine, _ cursor: PollCursor, records: [(Int64, String)], now: Int64, limit: Int) -> (PollCursor, [String], [CursorAnomaly]) {
        var cursor = machine.begin(cursor, now: now)
        var seen: [String] = []
        var anomalies: [CursorAnomaly] = []
        for _ in 0..<1000 {
            let request = machine.request(cursor)
            let page = keysetPage(records, since: request.since, afterId: request.afterId, limit: limit)
            seen += page.items.map(\.id)
            let step = machine.advance(cursor, page: page)
            cursor = step.cursor
            anomalies += step.anomalies
            if step.done { return (cursor, seen, anomalies) }
        }
        Issue.record("run did not finish in 1000 pages")
        return (cursor, seen, anomalies)
    }

    @Test("three and more pages sharing one updated_at: keyset paging loses nothing and ends")
    func equalTimestampsAcrossPages() {
        let t = 1_795_000_000 * Self.second
        let records = (0..<7).map { (t, "r\($0)") } + [(t + Self.second, "later")]
        let machine = CursorMachine(kind: .timestamp, keyset: true)
        let (cursor, seen, anomalies) = Self.run(machine, PollCursor(), records: records, now: t + 10 * Self.second, limit: 2)
        #expect(Set(seen) == Set(records.map(\.1)))
        #expect(seen.count == records.count, "each record read once: \(seen)")
        #expect(anomalies.isEmpty)
        #expect(cursor.watermark == t + Self.second && cursor.afterId == "later")
        #expect(cursor.run == nil)
        // The next run reads nothing new and still ends.
        let (_, again, _) = Self.run(machine, cursor, records: records, now: t + 20 * Self.second, limit: 2)
        #expect(again.isEmpty)
    }

    @Test("without a tie-breaker a page all of one timestamp that claims more stops the run instead of looping")
    func pageOfOneTimestampWithoutKeyset() {
        let t = 1_795_000_000 * Self.second
        let machine = CursorMachine(kind: .timestamp, keyset: false)
        var cursor = machine.begin(PollCursor(watermark: t), now: t + 60 * Self.second)
        let page = PageOutcome(items: [PageItem(id: "a", updatedAt: t), PageItem(id: "b", updatedAt: t)], hasMore: true)
        let step = machine.advance(cursor, page: page)
        #expect(step.done)
        #expect(step.anomalies.contains(.pageOfOneTimestamp))
        #expect(step.anomalies.contains(.noProgress))
        cursor = step.cursor
        #expect(cursor.watermark == t, "the watermark stays: the tied records are read again next time")
    }

    @Test("clock skew: records newer than the run's horizon are read but the watermark stops at the horizon")
    func horizonBoundsWatermark() {
        let now = 1_795_000_000 * Self.second
        let lag = 30 * Self.second
        let records: [(Int64, String)] = [(now - 60 * Self.second, "old"), (now - 10 * Self.second, "recent"), (now + 120 * Self.second, "future")]
        let machine = CursorMachine(kind: .timestamp, lookback: 0, lag: lag, keyset: true)
        let (cursor, seen, _) = Self.run(machine, PollCursor(), records: records, now: now, limit: 10)
        #expect(seen.contains("old"))
        #expect(cursor.watermark == now - 60 * Self.second, "only records at or below start - lag move the watermark")
        // Next run (clock moved on): the skipped ones are read again, nothing is lost.
        let (_, next, _) = Self.run(machine, cursor, records: records, now: now + 300 * Self.second, limit: 10)
        #expect(Set(next) == ["recent", "future"])
    }

    @Test("lookback re-reads the overlap at the start of each run")
    func lookback() {
        let t = 1_795_000_000 * Self.second
        let machine = CursorMachine(kind: .timestamp, lookback: 5 * Self.second, keyset: true)
        let cursor = machine.begin(PollCursor(watermark: t, afterId: "x"), now: t + 100 * Self.second)
        #expect(machine.request(cursor) == PageRequest(since: t - 5 * Self.second, afterId: nil))
    }

    @Test("an empty page that says there is more ends the run and is reported")
    func emptyPageClaimingMore() {
        let machine = CursorMachine(kind: .timestamp, keyset: true)
        let cursor = machine.begin(PollCursor(watermark: 5, afterId: "a"), now: 100)
        let step = machine.advance(cursor, page: PageOutcome(items: [], hasMore: true))
        #expect(step.done)
        #expect(step.anomalies == [.emptyPageClaimedMore])
        #expect(step.cursor.watermark == 5 && step.cursor.afterId == "a", "nothing moved")
    }

    @Test("a cursor that goes backwards: older items are reported and never move the cursor back")
    func cursorGoesBackwards() {
        let machine = CursorMachine(kind: .timestamp, keyset: true)
        var cursor = machine.begin(PollCursor(), now: 1000)
        cursor = machine.advance(cursor, page: PageOutcome(items: [PageItem(id: "b", updatedAt: 50), PageItem(id: "c", updatedAt: 60)], hasMore: true)).cursor
        let step = machine.advance(cursor, page: PageOutcome(items: [PageItem(id: "a", updatedAt: 40), PageItem(id: "c", updatedAt: 60), PageItem(id: "d", updatedAt: 70)], hasMore: false))
        #expect(step.anomalies == [.itemsBehindCursor(count: 2)])
        #expect(step.cursor.watermark == 70 && step.cursor.afterId == "d")
    }

    @Test("a crash between pages resumes from the last committed page, not from the start")
    func resumeAfterCrash() {
        let machine = CursorMachine(kind: .pageToken)
        var cursor = machine.begin(PollCursor(), now: 0)
        cursor = machine.advance(cursor, page: PageOutcome(items: [PageItem(id: "1", updatedAt: nil)], hasMore: true, nextPageToken: "p2")).cursor
        // Restart: begin keeps the committed run.
        let resumed = machine.begin(cursor, now: 999)
        #expect(machine.request(resumed) == PageRequest(pageToken: "p2"))
        #expect(resumed.run?.startedAt == 0)
        let end = machine.advance(resumed, page: PageOutcome(items: [PageItem(id: "2", updatedAt: nil)], hasMore: false, nextPageToken: nil))
        #expect(end.done && end.cursor.run == nil)
    }

    @Test("sync token: pages, then a token; expiry forgets it so the next run re-enumerates")
    func syncTokenExpiry() {
        let machine = CursorMachine(kind: .syncToken)
        var cursor = machine.begin(PollCursor(), now: 0)
        #expect(machine.request(cursor) == PageRequest())
        cursor = machine.advance(cursor, page: PageOutcome(items: [PageItem(id: "1", updatedAt: nil)], hasMore: true, nextPageToken: "n1")).cursor
        #expect(machine.request(cursor) == PageRequest(pageToken: "n1"))
        let last = machine.advance(cursor, page: PageOutcome(items: [], hasMore: false, syncToken: "s1"))
        #expect(last.done)
        #expect(last.cursor.syncToken == "s1")
        let incremental = machine.begin(last.cursor, now: 10)
        #expect(machine.request(incremental) == PageRequest(syncToken: "s1"))
        let (expired, anomaly) = machine.expire(incremental)
        #expect(anomaly == .syncTokenExpired)
        #expect(expired.syncToken == nil && expired.isEmpty)
        #expect(machine.request(machine.begin(expired, now: 20)) == PageRequest())
    }

    @Test("event id: the last event read is the next starting point")
    func eventID() {
        let machine = CursorMachine(kind: .eventId)
        var cursor = machine.begin(PollCursor(lastEventId: "evt_1"), now: 0)
        #expect(machine.request(cursor) == PageRequest(afterEventId: "evt_1"))
        cursor = machine.advance(cursor, page: PageOutcome(items: [PageItem(id: "evt_2", updatedAt: nil), PageItem(id: "evt_3", updatedAt: nil)], hasMore: true)).cursor
        #expect(machine.request(cursor) == PageRequest(afterEventId: "evt_3"))
        let end = machine.advance(cursor, page: PageOutcome(items: [], hasMore: false))
        #expect(end.done && end.cursor.lastEventId == "evt_3")
    }
}

/// The rate-limit budget and the provider signals, with an injected clock.
@Suite("Rate limit")
struct RateLimitTests {
    static let now: Int64 = 1_795_000_000_000_000

    @Test("Retry-After as delta seconds and as an HTTP-date")
    func retryAfterForms() {
        #expect(RateLimitSignals.retryAfter("120", now: Self.now) == Self.now + 120_000_000)
        let date = HTTPDate.format(microseconds: Self.now + 90_000_000)
        #expect(RateLimitSignals.retryAfter(date, now: Self.now) == Self.now + 90_000_000)
        #expect(HTTPDate.microseconds("Sun, 06 Nov 1994 08:49:37 GMT") == 784_111_777_000_000)
        #expect(RateLimitSignals.retryAfter("soon", now: Self.now) == nil)
    }

    @Test("reset as epoch seconds, epoch milliseconds, or delta seconds")
    func resetForms() {
        #expect(RateLimitSignals.resetInstant(1_795_000_060, now: Self.now) == 1_795_000_060_000_000)
        #expect(RateLimitSignals.resetInstant(1_795_000_060_000, now: Self.now) == 1_795_000_060_000_000)
        #expect(RateLimitSignals.resetInstant(60, now: Self.now) == Self.now + 60_000_000)
    }

    @Test("headers: X-RateLimit, IETF RateLimit and RateLimit-Policy, Shopify call limit")
    func parseHeaders() {
        let github = ["x-ratelimit-remaining": "0", "x-ratelimit-reset": "1795000100"]
        let parsed = RateLimitSignals.parse(status: 403, header: { github[$0.lowercased()] }, now: Self.now)
        #expect(parsed.remaining == 0)
        #expect(parsed.waitUntil == 1_795_000_100_000_000, "exhausted quota waits for the reset")

        let ietf = ["ratelimit": "\"default\";r=5;t=30", "ratelimit-policy": "\"default\";q=100;w=60"]
        let i = RateLimitSignals.parse(status: 200, header: { ietf[$0.lowercased()] }, now: Self.now)
        #expect(i.remaining == 5 && i.resetAt == Self.now + 30_000_000 && i.quota == 100 && i.windowSeconds == 60)
        #expect(i.waitUntil == nil)

        let both = ["retry-after": "7", "ratelimit": "\"default\";r=0;t=30"]
        #expect(RateLimitSignals.parse(status: 429, header: { both[$0.lowercased()] }, now: Self.now).waitUntil == Self.now + 7_000_000, "Retry-After takes precedence")

        let shopify = ["x-shopify-shop-api-call-limit": "39/40"]
        let s = RateLimitSignals.parse(status: 200, header: { shopify[$0.lowercased()] }, names: .init(remaining: nil, reset: nil, callLimit: "X-Shopify-Shop-Api-Call-Limit"), now: Self.now)
        #expect(s.remaining == 1 && s.quota == 40)
    }

    @Test("the bucket refills on the clock and never lets a request through before Retry-After")
    func budget() {
        var budget = RateLimitBudget(capacity: 2, refillPerSecond: 1, now: Self.now, safetyMargin: 0)
        #expect(budget.take(now: Self.now) == nil)
        #expect(budget.take(now: Self.now) == nil)
        #expect(budget.take(now: Self.now) == Self.now + 1_000_000)
        #expect(budget.take(now: Self.now + 1_000_000) == nil)

        budget.observe(status: 429, signals: RateLimitSignals(waitUntil: Self.now + 30_000_000), now: Self.now + 1_000_000, random: 0.5)
        #expect(budget.take(now: Self.now + 29_000_000) == Self.now + 30_000_000)
        #expect(budget.take(now: Self.now + 31_000_000) == nil)
    }

    @Test("remaining only lowers the local count; a timing-less 429 backs off exponentially with jitter")
    func corrections() {
        var budget = RateLimitBudget(capacity: 10, refillPerSecond: 1, now: Self.now, backoff: Backoff(base: .seconds(1), cap: .seconds(8)), safetyMargin: 0)
        budget.observe(status: 200, signals: RateLimitSignals(remaining: 100), now: Self.now, random: 0)
        #expect(budget.tokens == 10)
        budget.observe(status: 200, signals: RateLimitSignals(remaining: 1), now: Self.now, random: 0)
        #expect(budget.tokens == 1)
        for attempt in 0..<6 {
            budget.observe(status: 429, signals: RateLimitSignals(), now: Self.now, random: 0.999_999)
            let ceiling = Int64(min(8, 1 << attempt)) * 1_000_000
            #expect(budget.blockedUntil <= Self.now + ceiling && budget.blockedUntil >= Self.now + ceiling - 10)
        }
        budget.observe(status: 200, signals: RateLimitSignals(), now: Self.now + 9_000_000, random: 0)
        #expect(budget.consecutiveThrottles == 0)
    }

    @Test("full jitter stays inside its window and the cap")
    func backoff() {
        let backoff = Backoff(base: .milliseconds(100), cap: .seconds(2))
        #expect(backoff.ceiling(attempt: 0) == .milliseconds(100))
        #expect(backoff.ceiling(attempt: 3) == .milliseconds(800))
        #expect(backoff.ceiling(attempt: 10) == .seconds(2))
        #expect(backoff.ceiling(attempt: 1000) == .seconds(2))
        #expect(backoff.delay(attempt: 3, random: 0) == .zero)
        #expect(backoff.delay(attempt: 3, random: 0.5) == .milliseconds(400))
    }
}

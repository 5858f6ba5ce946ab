import Synchronization
public import TributaryCore

/// Pages read but not yet committed, between a reader's fetching side and its committing side.
///
/// The fetching side runs ahead by at most `limit` pages (a crash loses only those, and they
/// are read again from the committed cursor); the committing side takes everything queued at
/// once, so one transaction — one fsync — holds as many pages as arrived while the last commit ran.
public final class PageQueue: Sendable {
    /// One page, parsed, with the cursor that follows it.
    public struct Page: Sendable {
        public var drafts: [EventDraft]
        public var cursor: PollCursor
        public var anomalies: [CursorAnomaly]
        public var receivedAt: Int64
    }

    private struct State {
        var pages: [Page] = []
        var finished = false
        var abandoned = false
        var inFlight = 0
        var taker: CheckedContinuation<Void, Never>?
        var producer: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())
    let limit: Int

    init(limit: Int) {
        self.limit = max(1, limit)
    }

    /// Adds a page, then waits while `limit` pages are uncommitted.
    func push(_ page: Page) async {
        let taker = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.pages.append(page)
            state.inFlight += 1
            defer { state.taker = nil }
            return state.taker
        }
        taker?.resume()
        await withCheckedContinuation { continuation in
            let room = state.withLock { state -> Bool in
                if state.inFlight < limit || state.abandoned { return true }
                state.producer = continuation
                return false
            }
            if room { continuation.resume() }
        }
    }

    /// The committing side failed: wake the fetching side and let it stop.
    func abandon() {
        let producer = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.abandoned = true
            defer { state.producer = nil }
            return state.producer
        }
        producer?.resume()
    }

    var isAbandoned: Bool { state.withLock { $0.abandoned } }

    /// No more pages will come.
    func finish() {
        let taker = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.finished = true
            defer { state.taker = nil }
            return state.taker
        }
        taker?.resume()
    }

    /// Every queued page (waiting for at least one); empty once finished and drained.
    func takeAll() async -> [Page] {
        while true {
            let taken = state.withLock { state -> [Page]? in
                if !state.pages.isEmpty {
                    defer { state.pages.removeAll() }
                    return state.pages
                }
                return state.finished ? [] : nil
            }
            if let taken { return taken }
            await withCheckedContinuation { continuation in
                let ready = state.withLock { state -> Bool in
                    if !state.pages.isEmpty || state.finished { return true }
                    state.taker = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        }
    }

    /// `count` taken pages are committed: room for the fetching side again.
    func committed(_ count: Int) {
        let producer = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.inFlight -= count
            guard state.inFlight < limit else { return nil }
            defer { state.producer = nil }
            return state.producer
        }
        producer?.resume()
    }
}

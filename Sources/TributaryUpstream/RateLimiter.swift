public import TributaryCore

/// One connection's rate limiter, shared by all its pollers and the reconciler's fetches.
///
/// Callers `acquire` a slot before each request and `complete` it with the response. The
/// budget itself is the pure ``RateLimitBudget``; this actor only orders the waiters
/// (higher ``RequestPriority`` first, then arrival) and sleeps until the budget says so.
/// Only the head of the queue ever sleeps on the clock; the others wait to become head.
///
/// - Important: At most `maxInFlight` requests of a connection are outstanding (default 1).
///   With one, no request is ever sent after the provider has said "wait" but before we read
///   it: a request in flight while another one draws a 429 would reach the provider after
///   the 429 — which the provider counts as ignoring it.
public actor RateLimiter {
    private var budget: RateLimitBudget
    private var waiters: [Waiter] = []
    private var nextID = 0
    private var random = SplitMix64(seed: 0x5EED)
    private let clock: EngineClock
    public let maxInFlight: Int
    private var inFlight = 0

    private struct Waiter {
        var id: Int
        var priority: RequestPriority
        var continuation: CheckedContinuation<Void, Never>?
    }

    public init(budget: RateLimitBudget, maxInFlight: Int = 1, clock: EngineClock) {
        self.budget = budget
        self.maxInFlight = max(1, maxInFlight)
        self.clock = clock
    }

    /// The current budget (for `status`).
    public var snapshot: RateLimitBudget { budget }

    /// Callers waiting for a slot or a token (for `status` and tests).
    public var waiting: Int { waiters.count }

    /// Waits until a request of `priority` may be sent.
    public func acquire(_ priority: RequestPriority) async throws {
        let id = nextID
        nextID += 1
        let position = waiters.firstIndex { $0.priority < priority } ?? waiters.endIndex
        waiters.insert(Waiter(id: id, priority: priority), at: position)
        while true {
            if waiters.first?.id == id {
                if inFlight >= maxInFlight {
                    // Park in this waiter's own slot: `complete` wakes whoever is head then.
                    await park(id)
                    continue
                }
                let current = clock.now()
                if let until = budget.take(now: current) {
                    do {
                        try await clock.sleep(.microseconds(max(1, until - current)))
                    } catch {
                        remove(id)
                        throw error
                    }
                    continue
                }
                waiters.removeFirst()
                inFlight += 1
                wakeHead()
                return
            }
            await park(id)
            if Task.isCancelled {
                remove(id)
                throw CancellationError()
            }
        }
    }

    /// Ends a request begun with `acquire`: feeds what the response said back into the budget
    /// (`nil` when no response came) and frees its slot.
    public func complete(status: Int?, signals: RateLimitSignals) {
        if let status { budget.observe(status: status, signals: signals, now: clock.now(), random: random.nextUnit()) }
        inFlight -= 1
        wakeHead()
    }

    /// Suspends waiter `id` until `wakeHead` resumes it (when it is, or becomes, head and may proceed).
    private func park(_ id: Int) async {
        await withCheckedContinuation { continuation in
            if let index = waiters.firstIndex(where: { $0.id == id }) {
                waiters[index].continuation = continuation
            } else {
                continuation.resume()
            }
        }
    }

    private func remove(_ id: Int) {
        let wasHead = waiters.first?.id == id
        waiters.removeAll { $0.id == id }
        if wasHead { wakeHead() }
    }

    private func wakeHead() {
        guard let continuation = waiters.first?.continuation else { return }
        waiters[0].continuation = nil
        continuation.resume()
    }
}

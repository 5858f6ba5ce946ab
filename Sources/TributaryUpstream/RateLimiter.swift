public import TributaryCore

/// One connection's rate limiter, shared by all its pollers and the reconciler's fetches.
///
/// Callers `acquire` a slot before each request and `observe` each response. The
/// budget itself is the pure ``RateLimitBudget``; this actor only orders the waiters
/// (higher ``RequestPriority`` first, then arrival) and sleeps until the budget says so.
/// Only the head of the queue ever sleeps on the clock; the others wait to become head.
public actor RateLimiter {
    private var budget: RateLimitBudget
    private var waiters: [Waiter] = []
    private var nextID = 0
    private var random = SplitMix64(seed: 0x5EED)
    private let now: @Sendable () -> Int64

    private struct Waiter {
        var id: Int
        var priority: RequestPriority
        var continuation: CheckedContinuation<Void, Never>?
    }

    public init(budget: RateLimitBudget, now: @escaping @Sendable () -> Int64) {
        self.budget = budget
        self.now = now
    }

    /// The current budget (for `status`).
    public var snapshot: RateLimitBudget { budget }

    /// Waits until a request of `priority` may be sent.
    public func acquire(_ priority: RequestPriority) async throws {
        let id = nextID
        nextID += 1
        let position = waiters.firstIndex { $0.priority < priority } ?? waiters.endIndex
        waiters.insert(Waiter(id: id, priority: priority), at: position)
        while true {
            if waiters.first?.id == id {
                let current = now()
                if let until = budget.take(now: current) {
                    do {
                        try await Task.sleep(for: .microseconds(max(1, until - current)))
                    } catch {
                        remove(id)
                        throw error
                    }
                    continue
                }
                waiters.removeFirst()
                wakeHead()
                return
            }
            await withCheckedContinuation { continuation in
                if let index = waiters.firstIndex(where: { $0.id == id }) {
                    waiters[index].continuation = continuation
                } else {
                    continuation.resume()
                }
            }
            if Task.isCancelled {
                remove(id)
                throw CancellationError()
            }
        }
    }

    /// Feeds what a response said back into the budget.
    public func observe(status: Int, signals: RateLimitSignals) {
        budget.observe(status: status, signals: signals, now: now(), random: random.nextUnit())
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

/// A small, fast, seedable generator (SplitMix64): jitter that tests can reproduce.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A value in `0..<1`.
    public mutating func nextUnit() -> Double {
        Double(next() >> 11) / Double(1 << 53)
    }
}

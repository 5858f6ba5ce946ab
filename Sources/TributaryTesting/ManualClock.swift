import Synchronization
public import TributaryCore

/// A clock that moves only when the test moves it: what ``EngineClock`` the engine gets in tests
/// that must not wait on real time (a scheduler's tick, a rate limiter's wait, a retry's backoff).
///
/// `sleep` parks its caller until the time reaches its deadline; ``advance(by:)`` moves the time
/// and wakes every sleeper now due; ``advanceToNextWakeUp()`` waits until someone sleeps, then
/// moves the time to the earliest deadline, like a discrete-event simulation: a test drives
/// hours of ticks in the time its work takes, and never sleeps itself. A cancelled sleeper
/// throws `CancellationError` at once.
public final class ManualClock: Sendable {
    private struct Sleeper {
        var id: Int
        var deadline: Int64
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now: Int64
        var sleepers: [Sleeper] = []
        var nextID = 0
        var cancelled: Set<Int> = []
        /// Tests waiting for at least `count` sleepers.
        var watchers: [(count: Int, continuation: CheckedContinuation<Void, Never>)] = []

        /// Takes out the watchers whose count of sleepers is reached (every one with `all`).
        mutating func readyWatchers(all: Bool = false) -> [CheckedContinuation<Void, Never>] {
            let ready = watchers.filter { all || $0.count <= sleepers.count }
            watchers.removeAll { all || $0.count <= sleepers.count }
            return ready.map(\.continuation)
        }
    }

    private let state: Mutex<State>

    /// - Parameter now: the starting time, in microseconds since the epoch (default 2027-01-15).
    public init(now: Int64 = 1_800_000_000_000_000) {
        state = Mutex(State(now: now))
    }

    /// This clock as the engine takes it.
    public var clock: EngineClock {
        EngineClock(now: { self.now() }, sleep: { try await self.sleep($0) })
    }

    /// The time now, in microseconds since the epoch.
    public func now() -> Int64 { state.withLock { $0.now } }

    /// How many callers are parked in `sleep`.
    public var sleeping: Int { state.withLock { $0.sleepers.count } }

    /// Parks the caller until the time reaches now + `duration` (returns at once for zero or less).
    public func sleep(_ duration: Duration) async throws {
        let length = duration.microseconds
        guard length > 0 else { return try Task.checkCancellation() }
        let id = state.withLock { state -> Int in
            defer { state.nextID += 1 }
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let (cancelled, watchers) = state.withLock { state -> (Bool, [CheckedContinuation<Void, Never>]) in
                    if state.cancelled.remove(id) != nil { return (true, []) }
                    let (deadline, overflow) = state.now.addingReportingOverflow(length)
                    state.sleepers.append(Sleeper(id: id, deadline: overflow ? .max : deadline, continuation: continuation))
                    return (false, state.readyWatchers())
                }
                if cancelled { continuation.resume(throwing: CancellationError()) }
                for watcher in watchers { watcher.resume() }
            }
        } onCancel: {
            let parked = state.withLock { state -> Sleeper? in
                guard let index = state.sleepers.firstIndex(where: { $0.id == id }) else {
                    state.cancelled.insert(id)
                    return nil
                }
                return state.sleepers.remove(at: index)
            }
            parked?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Moves the time forward by `duration` and wakes every sleeper now due.
    public func advance(by duration: Duration) {
        wake { $0.now += max(0, duration.microseconds) }
    }

    /// Waits until at least `count` callers sleep (or the waiting task is cancelled).
    public func waitForSleepers(_ count: Int) async {
        while state.withLock({ $0.sleepers.count < count }), !Task.isCancelled {
            await withTaskCancellationHandler {
                await withCheckedContinuation { continuation in
                    let ready = state.withLock { state -> Bool in
                        if state.sleepers.count >= count || Task.isCancelled { return true }
                        state.watchers.append((count, continuation))
                        return false
                    }
                    if ready { continuation.resume() }
                }
            } onCancel: {
                for watcher in state.withLock({ $0.readyWatchers(all: true) }) { watcher.resume() }
            }
        }
    }

    /// Waits until at least one caller sleeps, then moves the time to the earliest deadline and wakes
    /// every sleeper due by then.
    /// - Returns: how far the time moved (zero when the waiting task was cancelled first).
    @discardableResult
    public func advanceToNextWakeUp() async -> Duration {
        await waitForSleepers(1)
        var moved: Int64 = 0
        wake { state in
            guard let earliest = state.sleepers.map(\.deadline).min(), earliest > state.now else { return }
            moved = earliest - state.now
            state.now = earliest
        }
        return .microseconds(moved)
    }

    private func wake(_ move: (inout State) -> Void) {
        let due = state.withLock { state -> [Sleeper] in
            move(&state)
            let now = state.now
            let due = state.sleepers.filter { $0.deadline <= now }
            state.sleepers.removeAll { $0.deadline <= now }
            return due
        }
        for sleeper in due { sleeper.continuation.resume() }
    }
}

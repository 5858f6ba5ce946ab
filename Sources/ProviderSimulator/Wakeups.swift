import Synchronization

/// Tells waiting loops that something changed, without carrying what.
///
/// Each subscriber gets its own stream that holds at most one pending wake-up, so a burst of
/// signals costs one iteration and a loop that subscribes late still sees one wake-up (the
/// stream starts with one) and re-reads the state. Ending the stream (cancellation, graceful
/// shutdown) removes the subscription.
final class Wakeups: Sendable {
    private struct Subscribers {
        var nextID = 0
        var continuations: [Int: AsyncStream<Void>.Continuation] = [:]
    }

    private let subscribers = Mutex(Subscribers())

    init() {}

    /// A new stream of wake-ups, already holding one.
    func subscribe() -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let id = subscribers.withLock { state in
            let id = state.nextID
            state.nextID += 1
            state.continuations[id] = continuation
            return id
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.subscribers.withLock { $0.continuations.removeValue(forKey: id) }
        }
        continuation.yield()
        return stream
    }

    /// Wakes every subscriber.
    func signal() {
        subscribers.withLock { state in
            for continuation in state.continuations.values { continuation.yield() }
        }
    }
}

import Synchronization
import TributaryCore

/// Runs `body` in a task of its own and answers its result, or `.unavailable` once `limit` has
/// passed; the task is then cancelled and left to end by itself.
///
/// PostgresNIO's pool keeps a request waiting for as long as no connection can be made, and a query
/// on a connection whose server vanished without a reset waits for TCP to give up. A webhook must be
/// answered 503 within the busy timeout instead, as on SQLite, so the provider retries it (the dedupe
/// makes that safe even when a commit that timed out here did land).
func withDeadline<T: Sendable>(_ limit: Duration, doing what: String, _ body: @escaping @Sendable () async throws -> T) async throws(StoreError) -> T {
    let race = DeadlineRace<T>()
    let result = await withTaskCancellationHandler {
        await withCheckedContinuation { (continuation: CheckedContinuation<Result<T, StoreError>, Never>) in
            race.start(continuation, limit: limit, what: what, body: body)
        }
    } onCancel: {
        race.finish(.failure(StoreError(.unavailable, "\(what): cancelled")))
    }
    return try result.get()
}

/// The two tasks of ``withDeadline(_:doing:_:)``: whichever ends first answers, once, and cancels the other.
private final class DeadlineRace<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<Result<T, StoreError>, Never>?
        var answered = false
        var tasks: [Task<Void, Never>] = []
    }

    private let state = Mutex(State())

    func start(_ continuation: CheckedContinuation<Result<T, StoreError>, Never>, limit: Duration, what: String, body: @escaping @Sendable () async throws -> T) {
        let early = state.withLock { state -> Result<T, StoreError>? in
            guard !state.answered else { return .failure(StoreError(.unavailable, "\(what): cancelled")) }
            state.continuation = continuation
            return nil
        }
        if let early {
            continuation.resume(returning: early)
            return
        }
        let work = Task {
            do {
                self.finish(.success(try await body()))
            } catch {
                self.finish(.failure(PostgresFailure.storeError(error, doing: what)))
            }
        }
        let timer = Task {
            do { try await Task.sleep(for: limit) } catch { return }
            self.finish(.failure(StoreError(.unavailable, "\(what): no answer from PostgreSQL within \(limit)")))
        }
        let over = state.withLock { state -> Bool in
            state.tasks = [work, timer]
            return state.answered
        }
        if over {
            work.cancel()
            timer.cancel()
        }
    }

    func finish(_ result: Result<T, StoreError>) {
        let (continuation, tasks) = state.withLock { state -> (CheckedContinuation<Result<T, StoreError>, Never>?, [Task<Void, Never>]) in
            guard !state.answered else { return (nil, []) }
            state.answered = true
            defer { state.continuation = nil }
            return (state.continuation, state.tasks)
        }
        for task in tasks { task.cancel() }
        continuation?.resume(returning: result)
    }
}

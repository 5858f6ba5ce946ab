import Foundation
import GRDB
import Synchronization
import TributaryCore

/// Appends events so that concurrent requests share one transaction and one fsync.
///
/// Leader/follower hand-off, no timer: the first caller to find no commit in
/// flight becomes the leader, takes every draft queued so far (its own
/// included), commits them in one transaction, resumes their callers, and then
/// hands leadership to the first caller that queued while it was committing.
/// So a request waits for at most the commit in flight plus its own, and under
/// load the batch grows by itself. Each caller is resumed only after the
/// transaction holding its row has committed (`synchronous=FULL`).
final class GroupCommitWriter: Sendable {
    private struct Pending: Sendable {
        var draft: EventDraft
        /// `nil` for the leader's own entry: the leader reads its result directly.
        var continuation: CheckedContinuation<Outcome, Never>?
    }

    private enum Outcome: Sendable {
        case done(Result<AppendResult, StoreError>)
        case lead
    }

    private struct State {
        var queue: [Pending] = []
        var leaderActive = false
    }

    private let state = Mutex(State())
    private let pool: DatabasePool
    private let commitsMade = Atomic<Int>(0)

    private let grouping: Bool

    init(pool: DatabasePool, grouping: Bool = true) {
        self.pool = pool
        self.grouping = grouping
    }

    /// Number of transactions committed so far (benchmarks report events per commit).
    var commits: Int { commitsMade.load(ordering: .relaxed) }

    func append(_ draft: EventDraft) async throws(StoreError) -> AppendResult {
        guard grouping else { return try await commit([draft])[0].get() }
        let leading = state.withLock { state -> Bool in
            guard !state.leaderActive else { return false }
            state.leaderActive = true
            state.queue.append(Pending(draft: draft, continuation: nil))
            return true
        }
        if !leading {
            let outcome = await withCheckedContinuation { (continuation: CheckedContinuation<Outcome, Never>) in
                let leadNow = state.withLock { state -> Bool in
                    if state.leaderActive {
                        state.queue.append(Pending(draft: draft, continuation: continuation))
                        return false
                    }
                    state.leaderActive = true
                    state.queue.append(Pending(draft: draft, continuation: nil))
                    return true
                }
                if leadNow { continuation.resume(returning: .lead) }
            }
            if case .done(let result) = outcome { return try result.get() }
        }
        return try await lead().get()
    }

    /// Commits one batch (which holds this caller's own draft), then passes leadership on.
    private func lead() async -> Result<AppendResult, StoreError> {
        let batch = state.withLock { state -> [Pending] in
            defer { state.queue.removeAll(keepingCapacity: true) }
            return state.queue
        }
        let results = await commit(batch.map(\.draft))
        var own: Result<AppendResult, StoreError> = .failure(StoreError(.internal, "leader entry missing from its batch"))
        for (pending, result) in zip(batch, results) {
            if let continuation = pending.continuation {
                continuation.resume(returning: .done(result))
            } else {
                own = result
            }
        }
        let next = state.withLock { state -> CheckedContinuation<Outcome, Never>? in
            guard !state.queue.isEmpty else {
                state.leaderActive = false
                return nil
            }
            let continuation = state.queue[0].continuation
            state.queue[0].continuation = nil
            return continuation
        }
        next?.resume(returning: .lead)
        return own
    }

    /// One transaction for the whole batch; if it fails, each draft gets its own so one bad row cannot fail the rest.
    private func commit(_ drafts: [EventDraft]) async -> [Result<AppendResult, StoreError>] {
        do {
            let results = try await pool.write { db in try drafts.map { try EventLog.insert($0, db: db) } }
            commitsMade.add(1, ordering: .relaxed)
            return results.map { .success($0) }
        } catch {
            guard drafts.count > 1 else { return [.failure(StoreError.wrapping(error))] }
            var results: [Result<AppendResult, StoreError>] = []
            for draft in drafts {
                do {
                    results.append(.success(try await pool.write { db in try EventLog.insert(draft, db: db) }))
                    commitsMade.add(1, ordering: .relaxed)
                } catch {
                    results.append(.failure(StoreError.wrapping(error)))
                }
            }
            return results
        }
    }
}

extension StoreError {
    /// Maps a database error to a store error: I/O, full disk, busy and read-only mean "unavailable".
    static func wrapping(_ error: any Error) -> StoreError {
        if let error = error as? StoreError { return error }
        if let db = error as? DatabaseError {
            switch db.resultCode {
            case .SQLITE_CONSTRAINT: return StoreError(.invalid, "rejected by a database constraint: \(db.message ?? "")")
            default: return StoreError(.unavailable, "database cannot commit: \(db.resultCode) \(db.message ?? "")")
            }
        }
        return StoreError(.unavailable, "database cannot commit: \(error)")
    }
}
